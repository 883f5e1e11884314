"""Rule documentation rendered from rule metadata, for ``mldebt explain`` and docs/rules/.

``python -m mldebt.ruledocs docs/rules`` regenerates the pages; a test fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mldebt.registry import Registry, load_registry
from mldebt.rule import Example, Rule

SECTIONS = ("What it finds", "Why it is debt", "Example", "Use instead", "Known limits", "Options")


def _example_block(example: Example) -> str:
    blocks = []
    for path, code in example.files.items():
        label = f"`{path}`:\n\n" if len(example.files) > 1 or path != "example.py" else ""
        lang = "json" if path.endswith(".ipynb") else "python"
        blocks.append(f"{label}```{lang}\n{code.rstrip()}\n```")
    return "\n\n".join(blocks)


def render(rule: type[Rule], pack: str = "") -> str:
    bad = [e for e in rule.examples if e.bad]
    good = [e for e in rule.examples if not e.bad]
    tags = ", ".join(rule.tags) or "none"
    lines = [
        f"# {rule.code} `{rule.name}`",
        "",
        rule.summary.strip(),
        "",
        f"- Category: `{rule.category}`",
        f"- Default severity: `{rule.severity.value}`",
        f"- Status: `{rule.status}`",
        f"- Remediation: {rule.debt_minutes:g} min"
        + (f" + {rule.debt_per_unit:g} min per extra unit" if rule.debt_per_unit else ""),
        f"- Tags: {tags}",
    ]
    if pack:
        lines.append(f"- Pack: `{pack}`")
    lines += [
        "",
        "## What it finds",
        "",
        rule.what.strip(),
        "",
        "## Why it is debt",
        "",
        rule.why.strip(),
    ]
    lines += ["", "## Example", ""]
    lines.append(_example_block(bad[0]) if bad else f"No example: {rule.no_bad_example}.")
    lines += ["", "## Use instead", "", _example_block(good[0]) if good else "Nothing to show."]
    lines += ["", "## Known limits", "", rule.limits.strip(), "", "## Options", ""]
    if rule.options:
        for option, default in rule.options.items():
            lines.append(f"- `{option}` (default `{default!r}`): {rule.option_docs[option]}")
        lines += [
            "",
            "Set them under `[tool.mldebt.options.<rule-name>]` in pyproject.toml.",
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
        "| Code | Name | Category | Severity | Status |",
        "|---|---|---|---|---|",
    ]
    for rule in registry.sorted():
        rows.append(
            f"| [{rule.code}]({page_name(rule)}) | `{rule.name}` | {rule.category} | "
            f"{rule.severity.value} | {rule.status} |"
        )
    return "\n".join(rows) + "\n"


def pages(registry: Registry) -> dict[str, str]:
    built = {page_name(r): render(r, registry.packs[r.code]) for r in registry.sorted()}
    built["README.md"] = index(registry)
    return built


def write(folder: Path, registry: Registry) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    wanted = pages(registry)
    for stale in folder.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules"), load_registry())
