"""The documentation tells the truth: generated rule pages are current, `mldebt explain`
prints them, and the README and docs only name commands and options that exist."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from mldebt import ruledocs
from mldebt.cli import main
from mldebt.config import parse_config, resolve_rules
from mldebt.registry import Registry, load_registry

ROOT = Path(__file__).resolve().parents[1]
RULE_DOCS = ROOT / "docs" / "rules"


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
    return [
        (doc.name, block)
        for doc in DOCS
        for block in _code_blocks(doc.read_text(encoding="utf-8"), {"toml"})
    ]


@pytest.mark.parametrize(
    ("doc", "block"),
    [pytest.param(doc, block, id=f"{doc}-{i}") for i, (doc, block) in enumerate(_toml_examples())],
)
def test_documented_configuration_is_valid(doc: str, block: str, tmp_path: Path) -> None:
    data = tomllib.loads(block)
    settings = data.get("tool", {}).get("mldebt", data)
    if "project" in data and not settings:
        return  # a packaging snippet, not mldebt settings
    config = parse_config(settings, tmp_path, None)
    assert resolve_rules(config, load_registry()), f"{doc}: example enables no rule"
