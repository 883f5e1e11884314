"""Rule documentation rendered from rule metadata, for ``mldebt explain`` and docs/rules/.

``python -m mldebt.ruledocs docs/rules`` regenerates the pages of mldebt's own rules;
``--check`` only reports stale pages (exit 1); ``--pack NAME`` documents another installed
pack instead (its entry-point name). tests/test_docs.py fails when the committed pages are stale.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mldebt.registry import Registry, load_registry
from mldebt.rule import Example, Rule

#: The fixed headings every rule page has, in this order.
SECTIONS = ("What it finds", "Why it is debt", "Example", "Use instead", "Known limits", "Options")
WIDTH = 88
#: The packs whose pages live in mldebt's docs/rules/: the tool's own rules and the built-in pack.
OWN_PACKS = ("mldebt", "builtin")


def _wrap(text: str, indent: str = "") -> str:
    """Wrap prose paragraphs for a terminal; markdown renders the result the same."""
    paragraphs = [p for p in textwrap.dedent(text).strip().split("\n\n") if p.strip()]
    return "\n\n".join(
        textwrap.fill(
            " ".join(p.split()),
            WIDTH,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for p in paragraphs
    )


def _caption(example: Example, path: str) -> str:
    if path.endswith(".ipynb"):
        return f"In a notebook, `{path}` (cells separated by `# %%`):"
    if len(example.files) > 1 or path != "example.py":
        return f"`{path}`:"
    return ""


_LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


def _language(path: str) -> str:
    """The fence language of an example file: Python, or a settings file's format."""
    return _LANGUAGES.get(path[path.rfind(".") :].lower(), "python") if "." in path else "python"


def _example_blocks(examples: Sequence[Example]) -> str:
    blocks = []
    for example in examples:
        for path, code in example.files.items():
            caption = _caption(example, path)
            block = f"```{_language(path)}\n{code.rstrip()}\n```"
            blocks.append(f"{caption}\n\n{block}" if caption else block)
    return "\n\n".join(blocks)


def _toml(value: Any) -> str:
    """An option default as it is written in pyproject.toml."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)


def render(rule: type[Rule], pack: str = "") -> str:
    """A rule's page: metadata, the fixed sections, every BAD and GOOD example."""
    bad = [e for e in rule.examples if e.bad]
    good = [e for e in rule.examples if not e.bad]
    remediation = f"{rule.debt_minutes:g} min"
    if rule.debt_per_unit:
        remediation += f" + {rule.debt_per_unit:g} min per extra line or step"
    lines = [
        f"# {rule.code} `{rule.name}`",
        "",
        _wrap(rule.summary),
        "",
        f"- Category: `{rule.category}`",
        f"- Default severity: `{rule.severity.value}`",
        f"- Status: `{rule.status}`",
        f"- Remediation estimate: {remediation}",
        f"- Tags: {', '.join(rule.tags) or 'none'}",
    ]
    if pack:
        lines.append(f"- Pack: `{pack}`")
    lines += [
        f"- Suppress with: `# mldebt: ignore[{rule.code}]` or `# mldebt: ignore[{rule.name}]`",
        "",
        "## What it finds",
        "",
        _wrap(rule.what),
        "",
        "## Why it is debt",
        "",
        _wrap(rule.why),
        "",
        "## Example",
        "",
        _example_blocks(bad) if bad else _wrap(f"No example: {rule.no_bad_example}."),
        "",
        "## Use instead",
        "",
    ]
    if good:
        lines += ["Code like this is not reported:", "", _example_blocks(good)]
    else:
        lines.append("Nothing to show.")
    lines += ["", "## Known limits", "", _wrap(rule.limits), "", "## Options", ""]
    if rule.options:
        for option, default in rule.options.items():
            doc = rule.option_docs[option]
            lines.append(_wrap(f"- `{option}` (default `{_toml(default)}`): {doc}", "  "))
        lines += [
            "",
            f"Set them in pyproject.toml (in mldebt.toml the table is `[options.{rule.name}]`):",
            "",
            "```toml",
            f"[tool.mldebt.options.{rule.name}]",
            *(f"{option} = {_toml(default)}" for option, default in rule.options.items()),
            "```",
        ]
    else:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"


def page_name(rule: type[Rule]) -> str:
    return f"{rule.code}-{rule.name}.md"


def index(registry: Registry) -> str:
    rows = [
        "# Rules",
        "",
        "Generated from rule metadata by `python -m mldebt.ruledocs docs/rules`; do not edit.",
        "`mldebt rules` lists the rules installed in your environment and",
        "`mldebt explain CODE` prints one of these pages.",
        "How the ML API misuse and reproducibility rules map to the 22 smells of Zhang et al.,",
        "and how precise they are on real code: [ml-smells.md](../ml-smells.md); the graph",
        "rules and dead experimental code: [graph.md](../graph.md).",
        "",
        "| Code | Name | Category | Severity | Status | Summary |",
        "|---|---|---|---|---|---|",
    ]
    for rule in registry.sorted():
        summary = " ".join(rule.summary.split()).replace("|", "\\|")
        rows.append(
            f"| [{rule.code}]({page_name(rule)}) | `{rule.name}` | {rule.category} | "
            f"{rule.severity.value} | {rule.status} | {summary} |"
        )
    return "\n".join(rows) + "\n"


def only(registry: Registry, packs: Sequence[str]) -> Registry:
    """The part of ``registry`` that comes from ``packs`` (other installed packs left out)."""
    part = Registry(signature=registry.signature)
    for code, rule in registry.rules.items():
        if registry.packs[code] in packs:
            part.rules[code] = rule
            part.packs[code] = registry.packs[code]
    return part


def pages(registry: Registry) -> dict[str, str]:
    """Every page for ``registry`` by file name, the index (README.md) included."""
    built = {page_name(r): render(r, registry.packs[r.code]) for r in registry.sorted()}
    built["README.md"] = index(registry)
    return built


def stale(folder: Path, registry: Registry) -> list[str]:
    """Names of pages in ``folder`` that are missing, out of date or no longer wanted."""
    wanted = pages(registry)
    found = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.md")}
    names = set(wanted) | set(found)
    return sorted(n for n in names if wanted.get(n) != found.get(n))


def write(folder: Path, registry: Registry) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    wanted = pages(registry)
    for old in folder.glob("*.md"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        (folder / name).write_text(text, encoding="utf-8")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mldebt.ruledocs", description="Write rule pages from rule metadata."
    )
    parser.add_argument("folder", nargs="?", default="docs/rules", type=Path)
    parser.add_argument("--check", action="store_true", help="only list stale pages (exit 1)")
    parser.add_argument(
        "--pack",
        action="append",
        help="document this installed pack (entry-point name) instead of mldebt's own",
    )
    args = parser.parse_args(argv)
    folder: Path = args.folder
    registry = only(load_registry(), args.pack or OWN_PACKS)
    if not registry.rules:
        print(f"no installed rule pack named {', '.join(args.pack)}", file=sys.stderr)
        return 2
    if args.check:
        outdated = stale(folder, registry)
        for name in outdated:
            print(f"stale: {folder / name}")
        if outdated:
            packs = "".join(f" --pack {pack}" for pack in args.pack or ())
            print(f"regenerate with: python -m mldebt.ruledocs{packs} {folder}")
        return 1 if outdated else 0
    write(folder, registry)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
