"""A third-party rule pack is found through the ``mldebt.rules`` entry point, like the built-in one.

The pack in tests/plugin_pack/ is "installed" the way pip would make it visible to
``importlib.metadata``: a ``*.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` on
``sys.path`` (and on ``PYTHONPATH`` for the command line run as a separate process).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mldebt import registry as registry_module
from mldebt.api import analyse
from mldebt.config import Config
from mldebt.registry import RegistryError, load_registry
from mldebt.rule import Rule
from mldebt.testing import check_example

PACK_DIR = Path(__file__).parent / "plugin_pack"
PACK = "mldebt_ext_example"


@dataclass
class Installed:
    site: Path  # the folder holding the .dist-info

    def env(self) -> dict[str, str]:
        """The environment for a subprocess that should see the pack."""
        env = dict(os.environ)
        parts = [str(self.site), str(PACK_DIR), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
        env.pop("MLDEBT_DEBUG", None)
        return env


def _dist_info(site: Path, dist: str, entry_point: str) -> None:
    # As pip names it: the project name with "-" escaped to "_" (importlib.metadata reads
    # the name up to the first "-" of the folder's name).
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[mldebt.rules]\n{entry_point}\n", encoding="utf-8")


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Installed]:
    """Install the example pack for one test, then restore the registry as it was."""
    site = tmp_path / "site"
    _dist_info(site, "mldebt-ext-example", f"ext-example = {PACK}")
    yield from _installed(site, [site, PACK_DIR])


def _installed(site: Path, entries: list[Path]) -> Iterator[Installed]:
    added = [str(p) for p in entries]
    sys.path[:0] = added
    registry_module.reset()
    try:
        yield Installed(site)
    finally:
        for entry in added:
            sys.path.remove(entry)
        for name in [m for m in sys.modules if m == PACK or m.startswith(PACK + ".")]:
            del sys.modules[name]
        registry_module.reset()
        importlib.invalidate_caches()


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Installed]:
    """A pack whose entry point names a module that does not exist."""
    site = tmp_path / "site"
    _dist_info(site, "mldebt-broken-pack", "broken = mldebt_no_such_pack")
    yield from _installed(site, [site])


def _mldebt(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mldebt", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def _pack_rule() -> type[Rule]:
    rule = load_registry().lookup("EXT001")
    assert rule is not None
    return rule


def test_the_pack_is_registered_under_its_entry_point_name(install: Installed) -> None:
    registry = load_registry()
    assert registry.packs["EXT001"] == "ext-example"
    assert registry.lookup("leftover-breakpoint") is registry.rules["EXT001"]
    assert registry.packs["MLD201"] == "builtin"  # the built-in pack is still there


def test_mldebt_rules_lists_the_pack(install: Installed) -> None:
    listing = _mldebt("rules", env=install.env())
    assert listing.returncode == 0, listing.stderr
    line = next(row for row in listing.stdout.splitlines() if row.startswith("EXT001"))
    assert "leftover-breakpoint" in line and "dead-experimental-code" in line

    as_json = json.loads(_mldebt("rules", "--format", "json", env=install.env()).stdout)
    row = next(r for r in as_json if r["code"] == "EXT001")
    assert row["pack"] == "ext-example"


def test_mldebt_check_reports_the_pack_rule(install: Installed, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("def fit(model):\n    breakpoint()\n", encoding="utf-8")
    run = _mldebt("check", "--no-cache", "project", env=install.env(), cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "train.py:2:5: EXT001 [leftover-breakpoint] breakpoint() left in the code" in (
        run.stdout
    )


def test_the_pack_rule_runs_in_worker_processes(install: Installed, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for i in range(30):  # enough files for the engine to start its process pool
        (project / f"step_{i:02}.py").write_text(f"x = {i}\nbreakpoint()\n", encoding="utf-8")
    run = _mldebt(
        "check", "--no-cache", "--jobs", "2", "--format", "json", str(project), env=install.env()
    )
    assert run.returncode == 1, run.stderr
    rules = [f["rule"] for f in json.loads(run.stdout)["findings"]]
    assert rules == ["EXT001"] * 30


def test_the_pack_rule_is_selected_and_configured_like_a_builtin(
    install: Installed, tmp_path: Path
) -> None:
    (tmp_path / "a.py").write_text("breakpoint()  # TODO: remove\n", encoding="utf-8")
    only_pack = analyse([tmp_path], Config(root=tmp_path, select=["EXT"]), use_cache=False)
    assert [f.rule for f in only_pack.findings] == ["EXT001"]
    raised = Config(root=tmp_path, select=["EXT001"], severity={"leftover-breakpoint": "error"})
    assert analyse([tmp_path], raised, use_cache=False).findings[0].severity.value == "error"


def test_mldebt_explain_shows_the_pack_docs(install: Installed) -> None:
    run = _mldebt("explain", "leftover-breakpoint", env=install.env())
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("# EXT001 `leftover-breakpoint`")
    assert "breakpoint()" in run.stdout and "ext-example" in run.stdout


def test_the_pack_rule_metadata_is_complete(install: Installed) -> None:
    assert _pack_rule().metadata_problems() == []


def test_the_pack_examples_behave_as_documented(install: Installed) -> None:
    rule = _pack_rule()
    assert [e.bad for e in rule.examples] == [True, True, False]
    problems = {i: check_example(rule, example) for i, example in enumerate(rule.examples)}
    assert problems == {0: [], 1: [], 2: []}


def test_a_broken_pack_is_a_clear_error(broken: Installed, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="mldebt_no_such_pack"):
        load_registry()
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    for args in (["check", str(tmp_path)], ["rules"]):
        run = _mldebt(*args, env=broken.env())
        assert run.returncode == 2
        assert "cannot load rule pack 'broken'" in run.stderr
        assert "No module named 'mldebt_no_such_pack'" in run.stderr
        assert "Traceback" not in run.stderr
        assert run.stdout == ""


def test_the_registry_is_restored_after_a_pack_test() -> None:
    assert load_registry().lookup("EXT001") is None
