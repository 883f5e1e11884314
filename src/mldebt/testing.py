"""Helpers for testing rules, used by mldebt's own tests and by third-party packs.

``check_example(rule, example)`` runs one BAD/GOOD example through the real engine and
returns a list of problems (empty when the example behaves as documented).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mldebt.api import analyse
from mldebt.config import Config
from mldebt.findings import Finding
from mldebt.rule import Example, Rule


def notebook_json(source: str) -> str:
    """A notebook whose code cells are the ``# %%``-separated parts of ``source``."""
    cells: list[dict[str, Any]] = []
    current: list[str] = []
    for line in source.splitlines(keepends=True):
        if line.strip() == "# %%":
            if current:
                cells.append(_code_cell(current))
            current = []
        else:
            current.append(line)
    if current:
        cells.append(_code_cell(current))
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1)


def _code_cell(lines: list[str]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": lines,
    }


def write_tree(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".ipynb") and text.lstrip().startswith("# %%"):
            text = notebook_json(text)
        path.write_text(text, encoding="utf-8")


def run_rule(
    rule: type[Rule], files: Mapping[str, str], options: Mapping[str, Any] | None = None
) -> list[Finding]:
    """Findings of ``rule`` on a tree of ``files``, with every stable rule enabled beside it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_tree(root, files)
        config = Config(root=root, extend_select=[rule.code])
        if options:
            config.options = {rule.code: dict(options)}
        result = analyse([root], config, jobs=1, use_cache=False)
    return [f for f in result.findings if f.rule == rule.code]


def check_example(rule: type[Rule], example: Example) -> list[str]:
    findings = run_rule(rule, example.files, example.options)
    shown = "\n".join(f"  {f.path}:{f.line}: {f.message}" for f in findings)
    if not example.bad and findings:
        return [f"GOOD example yields {len(findings)} finding(s):\n{shown}"]
    if example.bad and example.expect is None and not findings:
        return ["BAD example yields no finding"]
    if example.bad and example.expect is not None and len(findings) != example.expect:
        return [
            f"BAD example yields {len(findings)} finding(s), expected {example.expect}:\n{shown}"
        ]
    return []
