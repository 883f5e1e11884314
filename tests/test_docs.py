"""The documentation tells the truth: generated rule pages are current, `mldebt explain`
prints them, and the README and docs only name commands and options that exist."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from mldebt import analyse, ruledocs
from mldebt import registry as registry_module
from mldebt.cli import main
from mldebt.config import Config, parse_config, resolve_rules
from mldebt.registry import Registry, load_registry
from mldebt.testing import check_example

ROOT = Path(__file__).resolve().parents[1]
RULE_DOCS = ROOT / "docs" / "rules"
DEMO = ROOT / "fixtures" / "demo"


def own_rules() -> Registry:
    return ruledocs.only(load_registry(), ruledocs.OWN_PACKS)


# docs/rules ---------------------------------------------------------------------------------


def test_rule_pages_are_generated_from_current_metadata() -> None:
    stale = ruledocs.stale(RULE_DOCS, own_rules())
    assert stale == [], (
        f"docs/rules is out of date ({', '.join(stale)}); "
        "regenerate with: python -m mldebt.ruledocs docs/rules"
    )


def test_every_own_rule_has_a_page_listed_in_the_index() -> None:
    index = (RULE_DOCS / "README.md").read_text(encoding="utf-8")
    for rule in own_rules().sorted():
        page = ruledocs.page_name(rule)
        assert (RULE_DOCS / page).is_file()
        assert f"]({page})" in index


@pytest.mark.parametrize("rule", own_rules().sorted(), ids=lambda r: r.code)
def test_rule_page_has_the_fixed_headings_in_order(rule: type) -> None:
    page = ruledocs.render(rule)
    headings = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    assert tuple(headings) == ruledocs.SECTIONS


def test_rule_page_shows_every_example_and_the_option_table() -> None:
    rule = load_registry().lookup("debt-marker")
    assert rule is not None
    page = ruledocs.render(rule)
    for example in rule.examples:
        for code in example.files.values():
            assert code.rstrip() in page
    assert "[tool.mldebt.options.debt-marker]" in page
    assert 'markers = ["TODO", "FIXME", "HACK", "XXX", "KLUDGE", "TBD"]' in page


def test_notebook_examples_are_labelled_as_notebooks() -> None:
    rule = load_registry().lookup("MLD201")
    assert rule is not None
    assert "In a notebook, `eda.ipynb` (cells separated by `# %%`):" in ruledocs.render(rule)


def test_check_mode_names_stale_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ruledocs.write(tmp_path, own_rules())
    assert ruledocs.main([str(tmp_path), "--check"]) == 0
    (tmp_path / "MLD201-commented-out-code.md").write_text("# hand edited\n", encoding="utf-8")
    (tmp_path / "MLD999-gone.md").write_text("# a rule that no longer exists\n", encoding="utf-8")
    assert ruledocs.main([str(tmp_path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "MLD201-commented-out-code.md" in out
    assert "MLD999-gone.md" in out


def test_writing_pages_removes_pages_of_rules_that_are_gone(tmp_path: Path) -> None:
    (tmp_path / "MLD999-gone.md").write_text("# old\n", encoding="utf-8")
    ruledocs.write(tmp_path, own_rules())
    assert not (tmp_path / "MLD999-gone.md").exists()
    assert ruledocs.stale(tmp_path, own_rules()) == []


# mldebt explain -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["MLD701", "mld701", "debt-marker"])
def test_explain_prints_the_rule_page(spelling: str) -> None:
    result = CliRunner().invoke(main, ["explain", spelling])
    assert result.exit_code == 0
    assert result.output == (RULE_DOCS / "MLD701-debt-marker.md").read_text(encoding="utf-8")


def test_explain_of_an_unknown_rule_exits_2_and_points_to_the_list() -> None:
    result = CliRunner().invoke(main, ["explain", "MLD999"])
    assert result.exit_code == 2
    assert "no rule 'MLD999'" in result.output
    assert "mldebt rules" in result.output


# README and docs name only real commands, options and configuration keys ------------------

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELL_COMMAND = re.compile(r"(?:^|&&|;|\|)\s*(?:\$ )?mldebt ([a-z]+)([^&;|#\n]*)", re.MULTILINE)
INLINE_COMMAND = re.compile(r"`mldebt ([a-z]+)([^`]*)`")


def _code_blocks(text: str, languages: set[str]) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) in languages]


def _documented_invocations() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in _code_blocks(text, {"bash", "sh", "console", "shell"}):
            found += [(doc.name, m.group(1), m.group(2)) for m in SHELL_COMMAND.finditer(block)]
        prose = FENCE.sub("", text)
        found += [(doc.name, m.group(1), m.group(2)) for m in INLINE_COMMAND.finditer(prose)]
    return found


def test_docs_show_mldebt_commands() -> None:
    commands = {command for _, command, _ in _documented_invocations()}
    assert {"check", "rules", "explain", "config", "clean"} <= commands


@pytest.mark.parametrize(
    ("doc", "command", "rest"),
    [
        pytest.param(*found, id=f"{found[0]}: mldebt {found[1]} {' '.join(found[2].split())}")
        for found in _documented_invocations()
    ],
)
def test_documented_command_and_its_options_exist(doc: str, command: str, rest: str) -> None:
    assert isinstance(main, click.Group)
    assert command in main.commands, f"{doc} shows `mldebt {command}`, which does not exist"
    params = main.commands[command].params
    known = {opt for param in params for opt in [*param.opts, *param.secondary_opts]}
    known |= {"--help", "-h"}
    for option in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", rest):
        assert option in known, f"{doc} shows `mldebt {command} {option}`, which does not exist"


def _toml_examples() -> list[tuple[str, str]]:
    """mldebt settings shown in the docs (not packaging snippets, not the example pack's)."""
    return [
        (doc.name, block)
        for doc in DOCS
        if doc.name != "writing-rules.md"
        for block in _code_blocks(doc.read_text(encoding="utf-8"), {"toml"})
        if "[project" not in block
    ]


@pytest.mark.parametrize(
    ("doc", "block"),
    [pytest.param(doc, block, id=f"{doc}-{i}") for i, (doc, block) in enumerate(_toml_examples())],
)
def test_documented_configuration_is_valid(doc: str, block: str, tmp_path: Path) -> None:
    data = tomllib.loads(block)
    config = parse_config(data.get("tool", {}).get("mldebt", data), tmp_path, None)
    assert resolve_rules(config, load_registry()), f"{doc}: example enables no rule"


# docs/writing-rules.md: the example pack is installed from the page and its examples run -----

WRITING_RULES = ROOT / "docs" / "writing-rules.md"
LABELLED_FILE = re.compile(r"^`([\w./-]+)`:\n\n```\w*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _pack_files() -> dict[str, str]:
    text = WRITING_RULES.read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in LABELLED_FILE.finditer(text)}


@pytest.fixture
def doc_pack(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The page's pack written to disk and made visible to importlib.metadata, as pip would."""
    files = _pack_files()
    for rel, code in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(code, encoding="utf-8")
    project = tomllib.loads(files["pyproject.toml"])["project"]
    ((name, target),) = project["entry-points"]["mldebt.rules"].items()
    info = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    (info / "entry_points.txt").write_text(f"[mldebt.rules]\n{name} = {target}\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    registry_module.reset()
    try:
        yield tmp_path, target
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == target or m.startswith(target + ".")]:
            del sys.modules[module]
        registry_module.reset()
        importlib.invalidate_caches()


def test_writing_rules_page_holds_a_whole_pack() -> None:
    assert set(_pack_files()) == {
        "acme_mldebt_rules/read_from_url.py",
        "acme_mldebt_rules/copied_module.py",
        "acme_mldebt_rules/__init__.py",
        "tests/test_rules.py",
        "pyproject.toml",
    }


def test_documented_pack_registers_through_its_entry_point(doc_pack: tuple[Path, str]) -> None:
    registry = load_registry()
    assert registry.packs.get("ACME101") == "acme"
    assert registry.packs.get("ACME201") == "acme"
    assert registry.lookup("read-from-url") is registry.rules["ACME101"]


def test_documented_rules_behave_as_their_examples_say(doc_pack: tuple[Path, str]) -> None:
    registry = load_registry()
    for code in ("ACME101", "ACME201"):
        rule = registry.rules[code]
        assert rule.metadata_problems() == []
        for example in rule.examples:
            assert check_example(rule, example) == [], f"{code}: {example}"


def test_documented_rules_find_debt_in_the_demo_project(doc_pack: tuple[Path, str]) -> None:
    config = Config(root=DEMO, select=["ACME201"], per_file_ignores={})
    result = analyse([DEMO], config, jobs=1, use_cache=False)
    assert [(f.path, f.related[0].path) for f in result.findings] == [
        ("train_v2_old.py", "train.py")
    ]


def test_documented_pack_configuration_is_valid(doc_pack: tuple[Path, str]) -> None:
    text = WRITING_RULES.read_text(encoding="utf-8")
    (block,) = [b for b in _code_blocks(text, {"toml"}) if "[tool.mldebt" in b]
    settings = tomllib.loads(block)["tool"]["mldebt"]
    enabled = resolve_rules(parse_config(settings, doc_pack[0], None), load_registry())
    options = {e.rule.code: e.options for e in enabled}
    assert options["ACME101"]["allowed-hosts"] == ["data.acme.internal", "mirror.acme.example"]


def test_documented_rule_page_renders(doc_pack: tuple[Path, str]) -> None:
    result = CliRunner().invoke(main, ["explain", "read-from-url"])
    assert result.exit_code == 0
    assert "# ACME101 `read-from-url`" in result.output
    assert "- Pack: `acme`" in result.output


def test_documented_pack_tests_pass(doc_pack: tuple[Path, str]) -> None:
    site, _ = doc_pack
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_rules.py"],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout  # 6 examples and the pack's own check


# links ----------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize(
    "doc", [*DOCS, *sorted(RULE_DOCS.glob("*.md"))], ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_relative_links_point_to_files_that_exist(doc: Path) -> None:
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{doc.name} links to {target}, which does not exist"
