"""Data-dependency and multiple-language support: notebook magics kept for rules, the
project's language mix in the summary, SQL tables in the graph, command-line languages."""

from __future__ import annotations

import json
from pathlib import Path

from mldebt_rules._languages import command_languages, program_language, shell_languages

from mldebt.api import analyse
from mldebt.config import Config
from mldebt.discovery import discover, language_of
from mldebt.report.text import render
from mldebt.source import decode_notebook
from mldebt.testing import write_tree


def _notebook(*cells: tuple[str, str]) -> bytes:
    document = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text, "outputs": []}
            for kind, text in cells
        ],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document).encode()


def test_notebook_magics_are_kept_by_module_line() -> None:
    source = decode_notebook(
        _notebook(
            ("markdown", "# Title"),
            ("code", "import os\n!Rscript fit.R\nx = 1"),
            ("code", "%%bash\nls data\necho done"),
        )
    )
    # Code cell 2 starts on module line 1, cell 3 on line 5 (each cell ends with a blank).
    assert source.magics[2] == "!Rscript fit.R"
    assert source.magics[5] == "%%bash\nls data\necho done"
    assert "Rscript" not in source.text and "ls data" not in source.text


def test_foreign_cells_are_reported_with_their_cell_number(tmp_path: Path) -> None:
    (tmp_path / "eda.ipynb").write_bytes(
        _notebook(
            ("markdown", "# EDA"),
            ("code", "import pandas as pd"),
            ("markdown", "Below: the warehouse."),
            ("code", "%%sql\nSELECT store, SUM(units) FROM sales GROUP BY store"),
            ("code", "df = pd.DataFrame()\n!julia --project=. solve.jl"),
        )
    )
    config = Config(root=tmp_path, select=["MLD903"])
    result = analyse([tmp_path], config, jobs=1, use_cache=False)
    assert [(f.cell, f.line) for f in result.findings] == [(4, 1), (5, 2)]
    assert "SQL" in result.findings[0].message and "Julia" in result.findings[1].message


def test_language_mix_counts_files_by_extension_respecting_excludes(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "train.py": "import os\n",
            "prep.py": "import sys\n",
            "models/arima.R": "x <- 1\n",
            "queries/daily.sql": "SELECT 1;\n",
            "scripts/run.sh": "echo hi\n",
            "vendor/lib.R": "y <- 2\n",
            "README.md": "# not code\n",
        },
    )
    config = Config(root=tmp_path, exclude=["vendor/"])
    result = analyse([tmp_path], config, jobs=1, use_cache=False)
    assert result.summary.languages == {"Python": 2, "R": 1, "SQL": 1, "shell": 1}
    assert result.summary.to_dict()["languages"]["R"] == 1
    assert "Languages: Python 2 files, R 1 file, SQL 1 file, shell 1 file." in render(result)


def test_one_language_is_no_mix_in_the_text_report(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "import os\n"})
    result = analyse([tmp_path], Config(root=tmp_path), jobs=1, use_cache=False)
    assert result.summary.languages == {"Python": 1}
    assert "Languages" not in render(result)


def test_discovery_counts_languages_only_when_asked(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "", "b.jl": ""})
    assert [f.rel for f in discover([tmp_path], tmp_path, [])] == ["a.py"]
    assert language_of("Fit.R") == "R" and language_of("notes.txt") is None
    assert language_of(".bashrc") is None


def test_sql_tables_are_artifacts_with_read_and_write_edges(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "etl.py": """
import sqlite3
con = sqlite3.connect("shop.db")
con.execute("INSERT INTO daily SELECT store, SUM(qty) FROM sales GROUP BY store")
""",
        },
    )
    result = analyse([tmp_path], Config(root=tmp_path), jobs=1, use_cache=False)
    graph = result.graph
    assert graph is not None
    edges = {
        (source, target, data["kind"])
        for source, target, data in graph.nx.edges(data=True)
        if data.get("kind") in ("reads", "writes")
    }
    assert ("artifact:table:sales", "module:etl", "reads") in edges
    assert ("module:etl", "artifact:table:daily", "writes") in edges


def test_command_languages() -> None:
    assert program_language("/usr/bin/Rscript") == "R"
    assert program_language("./prepare.sh") == "shell"
    assert program_language("git") is None
    assert command_languages(["env", "OMP_NUM_THREADS=1", "julia", "solve.jl"]) == [
        ("Julia", "julia solve.jl")
    ]
    assert shell_languages("cd r && Rscript fit.R | tee log.txt") == [("R", "Rscript fit.R")]
    assert shell_languages("pip install -r requirements.txt; ls") == []
    assert shell_languages("echo 'unbalanced") == []


def test_a_read_used_only_inside_an_f_string_is_used(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "report.py": (
                "import pandas as pd\n"
                'stores = pd.read_csv("stores.csv")\n'
                'orders = pd.read_csv("orders.csv")\n'
                'print(f"{len(stores)} stores")\n'
            )
        },
    )
    config = Config(root=tmp_path, select=["MLD403"])
    result = analyse([tmp_path], config, jobs=1, use_cache=False)
    assert [(f.line, f.message.split("`")[1]) for f in result.findings] == [(3, "orders")]
