"""Notebooks: code cells join into one module, IPython syntax is neutralised, and every finding
maps back to its cell (1-based among all cells, markdown included) and the line inside it.

One project of small notebooks, one real ``mldebt check`` run; each test reads its notebook.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mldebt.source import decode_notebook


def code(source: str | list[str]) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def notebook(*cells: dict[str, Any], language: str = "python") -> str:
    metadata = {
        "kernelspec": {"name": language, "display_name": language, "language": language},
        "language_info": {"name": language},
    }
    document = {"cells": list(cells), "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1)


NOTEBOOKS = {
    "mapping.ipynb": notebook(
        markdown("# Churn exploration\n\nTODO in markdown is prose, not debt."),
        code("import pandas as pd\ndf = pd.read_csv('data.csv')\n"),
        code("df = df.dropna()\n# TODO: keep the rows with missing tenure\n"),
        markdown("## Features"),
        code("x = 1\n\n\nfeatures = df[['tenure']]  # FIXME: add usage columns"),
    ),
    "source_as_lines.ipynb": notebook(
        markdown("intro"),
        code(["import numpy as np\n", "# TODO: seed the generator\n", "rng = np.random"]),
    ),
    "line_magics.ipynb": notebook(
        code(
            "%matplotlib inline\n"
            "%load_ext autoreload\n"
            "!pip install -q lightgbm\n"
            "pip install lightgbm\n"
            "files = !ls data/\n"
            "timing = %timeit -o sum(range(10))\n"
            "df.head?\n"
            "??df.describe\n"
            "for i in range(3):\n"
            "    %time print(i)\n"
            "    !echo {i}\n"
            "result = 1  # TODO: after the magics"
        ),
    ),
    "python_cell_magic.ipynb": notebook(
        code("%%time\nmodel = train(df)\n# TODO: time the whole pipeline\n"),
        code("\n%%capture captured\nprint('quiet')  # HACK: hide the noisy log\n"),
    ),
    "foreign_cell_magics.ipynb": notebook(
        code("%%bash\nls data/ | head -3  # TODO: bash is not Python\nif [ -f x ]; then echo; fi"),
        code("%%sql\nSELECT * FROM users WHERE (id = 1  -- TODO: not Python\n"),
        code("%%writefile helper.py\ndef helper(:\n    # TODO: a file being written\n"),
        code("y = 2  # TODO: the Python cell after them"),
    ),
    "syntax_error_in_a_cell.ipynb": notebook(
        code("a = 1  # TODO: before the broken cell"),
        markdown("the next cell is broken"),
        code("def load(path):\n    return pd.read_csv(path, sep=';'\n"),
        code("b = 2  # TODO: after the broken cell"),
    ),
    "two_broken_cells.ipynb": notebook(
        code("x = (\n"),
        code("for\n"),
        code("c = 3  # TODO: after two broken cells"),
    ),
    "deep_cell.ipynb": notebook(
        code("ok = 1  # TODO: before the deep cell"),
        code("deep = " + "(" * 300 + "1" + ")" * 300),
        code("ok = 2  # TODO: after the deep cell"),
    ),
    "r_kernel.ipynb": notebook(
        code("library(dplyr)\n# TODO: not a Python comment\ndf <- read.csv('x.csv')"),
        language="R",
    ),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("notebooks")
    for name, text in NOTEBOOKS.items():
        (root / name).write_text(text)
    # The comment rules and the analysis rules are what these tests read positions from.
    select = ["--select", "analysis,MLD201,MLD701"]
    result = subprocess.run(
        [sys.executable, "-m", "mldebt", "check", ".", "--format", "json", "--no-cache", *select],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def found(report: dict[str, Any], path: str) -> list[tuple[str, int | None, int, int, str]]:
    """(rule, cell, line, column, message) of each finding in ``path``, in report order."""
    return [
        (f["rule"], f["cell"], f["line"], f["column"], f["message"])
        for f in report["findings"]
        if f["path"] == path
    ]


def test_findings_map_to_the_cell_among_all_cells_and_the_line_inside_it(
    report: dict[str, Any],
) -> None:
    assert found(report, "mapping.ipynb") == [
        ("MLD701", 3, 2, 1, "TODO comment: TODO: keep the rows with missing tenure"),
        ("MLD701", 5, 4, 28, "FIXME comment: FIXME: add usage columns"),
    ]


def test_the_mapped_position_is_where_the_text_is_in_the_cell(report: dict[str, Any]) -> None:
    cells = json.loads(NOTEBOOKS["mapping.ipynb"])["cells"]
    for _, cell, line, column, message in found(report, "mapping.ipynb"):
        assert cell is not None
        text = cells[cell - 1]["source"].split("\n")[line - 1]
        marker = message.split(": ", 1)[1]
        assert text[column - 1 :].startswith("# " + marker)


def test_cell_source_may_be_a_list_of_lines(report: dict[str, Any]) -> None:
    assert found(report, "source_as_lines.ipynb") == [
        ("MLD701", 2, 2, 1, "TODO comment: TODO: seed the generator"),
    ]


def test_line_magics_shell_escapes_and_help_are_neutralised(report: dict[str, Any]) -> None:
    assert found(report, "line_magics.ipynb") == [
        ("MLD701", 1, 12, 13, "TODO comment: TODO: after the magics"),
    ]


def test_python_cell_magics_keep_their_body_analysed(report: dict[str, Any]) -> None:
    assert found(report, "python_cell_magic.ipynb") == [
        ("MLD701", 1, 3, 1, "TODO comment: TODO: time the whole pipeline"),
        ("MLD701", 2, 3, 17, "HACK comment: HACK: hide the noisy log"),
    ]


def test_other_cell_magics_hold_no_python(report: dict[str, Any]) -> None:
    assert found(report, "foreign_cell_magics.ipynb") == [
        ("MLD701", 4, 1, 8, "TODO comment: TODO: the Python cell after them"),
    ]


def test_a_syntax_error_is_reported_in_its_cell_and_other_cells_still_analysed(
    report: dict[str, Any],
) -> None:
    assert found(report, "syntax_error_in_a_cell.ipynb") == [
        ("MLD701", 1, 1, 8, "TODO comment: TODO: before the broken cell"),
        ("MLD001", 3, 2, 23, "syntax error: '(' was never closed"),
        ("MLD701", 4, 1, 8, "TODO comment: TODO: after the broken cell"),
    ]


def test_each_broken_cell_is_reported_once(report: dict[str, Any]) -> None:
    assert found(report, "two_broken_cells.ipynb") == [
        ("MLD001", 1, 1, 5, "syntax error: '(' was never closed"),
        ("MLD001", 2, 1, 4, "syntax error: invalid syntax"),
        ("MLD701", 3, 1, 8, "TODO comment: TODO: after two broken cells"),
    ]


def test_too_deep_nesting_costs_only_its_cell(report: dict[str, Any]) -> None:
    assert found(report, "deep_cell.ipynb") == [
        ("MLD701", 1, 1, 9, "TODO comment: TODO: before the deep cell"),
        ("MLD001", 2, 1, 208, "too many nested parentheses"),
        ("MLD701", 3, 1, 9, "TODO comment: TODO: after the deep cell"),
    ]


def test_notebooks_of_other_languages_give_no_python_findings(report: dict[str, Any]) -> None:
    assert found(report, "r_kernel.ipynb") == []


@pytest.mark.parametrize("language", ["python", "Python", "python3", "ipython3"])
def test_python_kernels_are_recognised_by_any_usual_spelling(language: str) -> None:
    text = notebook(code("x = 1"), language=language)
    assert decode_notebook(text.encode()).text.startswith("x = 1")


def test_nbformat_3_worksheets_are_read(tmp_path: Path) -> None:
    document = {
        "nbformat": 3,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "source": "Title", "level": 1},
                    {"cell_type": "code", "language": "python", "input": "import os\nx = 1"},
                ]
            }
        ],
    }
    source = decode_notebook(json.dumps(document).encode())
    assert source.text.split("\n")[:2] == ["import os", "x = 1"]
    assert source.cells.locate(2) == (2, 2)
