"""Bad input never crashes a run: each bad file becomes one finding (MLD001 parse-error or
MLD002 unreadable-file) at a sensible position, or the run stops with one clear message and
exit 2, and every other file in the same run is still analysed.

Most cases share one project tree and one real ``mldebt check`` run; each test then reads the
finding (or the absence of one) for its own file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mldebt.api import analyse
from mldebt.config import Config
from mldebt.discovery import SourceFile

GOOD_SIBLING = "x = 1  # TODO: still found next to bad files\n"


def run_check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mldebt", "check", *args, "--format", "json", "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def notebook(cells: list[Any], language: str = "python") -> bytes:
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "k", "language": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document).encode()


def nested(opening: str, closing: str, depth: int) -> bytes:
    return f"x = {opening * depth}1{closing * depth}  # TODO: after deep nesting\n".encode()


def chain(joiner: str, depth: int) -> bytes:
    return f"x = {joiner.join(['a'] * depth)}  # TODO: after a long chain\n".encode()


BAD_FILES: dict[str, bytes] = {
    "invalid_utf8.py": b'x = 1\ny = "\xc3\xa9\xff"\n',
    "nul_byte.py": b"x = 1\ny = 2\x00\n",
    "unknown_cookie.py": b"# -*- coding: nonexistent-codec -*-\nx = 1\n",
    "cookie_lies.py": b"# coding: ascii\ns = '\xc3\xa9'\n",
    "bom_and_cookie_disagree.py": b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
    "syntax_error.py": b"def load(path:\n    return path\n",
    "parens_500.py": nested("(", ")", 500),
    "lists_500.py": nested("[", "]", 500),
    "calls_500.py": nested("f(", ")", 500),
    "not_json.ipynb": b'{"cells": [}',
    "no_cells.ipynb": b'{"metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    "json_list.ipynb": b"[1, 2, 3]",
    "deep_json.ipynb": b"[" * 100_000 + b"]" * 100_000,
    "latin1_notebook.ipynb": b'{"cells": [], "metadata": {"x": "caf\xe9"}}',
}

FINE_FILES: dict[str, bytes] = {
    "good.py": GOOD_SIBLING.encode(),
    "empty.py": b"",
    "latin1_cookie.py": "# -*- coding: latin-1 -*-\ns = 'café'  # TODO: café au lait\n".encode(
        "latin-1"
    ),
    "ascii_under_latin1_cookie.py": b"# -*- coding: latin-1 -*-\nx = 1  # TODO: plain\n",
    "bom.py": b"\xef\xbb\xbfx = 1  # TODO: after a BOM\n",
    "crlf.py": b"x = 1\r\ny = 2\r\n\r\nz = 3  # TODO: crlf\r\n",
    "lone_cr.py": b"x = 1\ry = 2\r\rz = 3  # TODO: lone cr\r",
    "parens_200.py": nested("(", ")", 200),
    "brackets_in_strings.py": b"s = '" + b"(" * 300 + b"'  # TODO: after brackets in a string\n",
    "binop_500.py": chain("+", 500),
    "attributes_500.py": b"x = a" + b".b" * 500 + b"  # TODO: after a long chain\n",
    "nots_500.py": b"x = " + b"not " * 500 + b"a  # TODO: after a long chain\n",
    "ternary_500.py": b"x = " + b"a if b else " * 500 + b"c  # TODO: after a long chain\n",
    "markdown_only.ipynb": notebook([{"cell_type": "markdown", "source": "# TODO: prose"}]),
    "raw_only.ipynb": notebook([{"cell_type": "raw", "source": "x = (  # TODO: raw"}]),
    "empty_cells.ipynb": notebook([]),
    "garbage_cells.ipynb": notebook(
        [
            "a string",
            None,
            3,
            [],
            {"no": "type"},
            {"cell_type": "code", "source": 7},
            {"cell_type": "code", "source": "y = 2  # TODO: after garbage\n"},
        ]
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_inputs")
    for name, data in {**BAD_FILES, **FINE_FILES}.items():
        (root / name).write_bytes(data)
    (root / "x.py").mkdir()  # a folder with a source file's name is a folder
    (root / "x.py" / "inside.py").write_text("y = 2  # TODO: inside x.py/\n")
    (root / "loop").mkdir()
    (root / "loop" / "up").symlink_to("..", target_is_directory=True)
    (root / "broken_link.py").symlink_to("nowhere.py")
    (root / "link_a.py").symlink_to("link_b.py")
    (root / "link_b.py").symlink_to("link_a.py")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "fifo.py")  # reading it would block forever
    return root


@pytest.fixture(scope="module")
def report(project: Path) -> dict[str, Any]:
    started = time.monotonic()
    result = run_check(project, ".")
    assert time.monotonic() - started < 120
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def findings_for(report: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["path"] == path]


def only_finding(report: dict[str, Any], path: str) -> dict[str, Any]:
    found = findings_for(report, path)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("path", "rule", "line", "column", "words"),
    [
        ("invalid_utf8.py", "MLD002", 2, 7, "byte 0xff"),  # column counts characters (é is 1)
        ("nul_byte.py", "MLD002", 2, 6, "NUL byte"),
        ("unknown_cookie.py", "MLD002", 1, 1, "nonexistent-codec"),
        ("cookie_lies.py", "MLD002", 2, 6, "cannot decode as ascii"),
        ("bom_and_cookie_disagree.py", "MLD002", 1, 1, "encoding problem"),
        ("syntax_error.py", "MLD001", 1, 9, "syntax error"),
        ("parens_500.py", "MLD001", 1, 205, "too many nested parentheses"),
        ("lists_500.py", "MLD001", 1, 205, "too many nested parentheses"),
        ("calls_500.py", "MLD001", 1, 406, "too many nested parentheses"),
        ("not_json.ipynb", "MLD002", 1, 12, "not valid JSON"),
        ("no_cells.ipynb", "MLD002", 1, 1, "no list of cells"),
        ("json_list.ipynb", "MLD002", 1, 1, "no list of cells"),
        ("deep_json.ipynb", "MLD002", 1, 1, "nested too deeply"),
        ("latin1_notebook.ipynb", "MLD002", 1, 37, "not UTF-8"),
        ("broken_link.py", "MLD002", 1, 1, "broken symbolic link to nowhere.py"),
        ("link_a.py", "MLD002", 1, 1, "symbolic links"),
        ("link_b.py", "MLD002", 1, 1, "symbolic links"),
    ],
)
def test_bad_file_is_one_finding_at_the_problem(
    report: dict[str, Any], path: str, rule: str, line: int, column: int, words: str
) -> None:
    finding = only_finding(report, path)
    assert (finding["rule"], finding["line"], finding["column"]) == (rule, line, column)
    assert words in finding["message"]
    assert finding["cell"] is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_special_file_is_reported_without_being_read(report: dict[str, Any]) -> None:
    assert only_finding(report, "fifo.py")["message"] == "cannot read: not a regular file"


def test_every_good_file_next_to_the_bad_ones_is_still_analysed(report: dict[str, Any]) -> None:
    messages = {f["path"]: f["message"] for f in report["findings"] if f["rule"] == "MLD701"}
    assert messages == {
        "good.py": "TODO comment: TODO: still found next to bad files",
        "latin1_cookie.py": "TODO comment: TODO: café au lait",
        "ascii_under_latin1_cookie.py": "TODO comment: TODO: plain",
        "bom.py": "TODO comment: TODO: after a BOM",
        "crlf.py": "TODO comment: TODO: crlf",
        "lone_cr.py": "TODO comment: TODO: lone cr",
        "parens_200.py": "TODO comment: TODO: after deep nesting",
        "brackets_in_strings.py": "TODO comment: TODO: after brackets in a string",
        "binop_500.py": "TODO comment: TODO: after a long chain",
        "attributes_500.py": "TODO comment: TODO: after a long chain",
        "nots_500.py": "TODO comment: TODO: after a long chain",
        "ternary_500.py": "TODO comment: TODO: after a long chain",
        "garbage_cells.ipynb": "TODO comment: TODO: after garbage",
        "x.py/inside.py": "TODO comment: TODO: inside x.py/",
    }


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        ("bom.py", 1, 8),  # the BOM is not a column
        ("latin1_cookie.py", 2, 13),  # 'café' is four characters, not five bytes
        ("crlf.py", 4, 8),
        ("lone_cr.py", 4, 8),
        ("binop_500.py", 1, 4 + 500 + 499 + 3),
    ],
)
def test_positions_survive_boms_encodings_and_newline_styles(
    report: dict[str, Any], path: str, line: int, column: int
) -> None:
    finding = only_finding(report, path)
    assert (finding["line"], finding["column"]) == (line, column)


def test_files_with_nothing_to_say_give_no_finding(report: dict[str, Any]) -> None:
    for path in ("empty.py", "markdown_only.ipynb", "raw_only.ipynb", "empty_cells.ipynb"):
        assert findings_for(report, path) == []


def test_notebook_garbage_cells_still_count_in_cell_numbers(report: dict[str, Any]) -> None:
    assert only_finding(report, "garbage_cells.ipynb")["cell"] == 7


def test_every_file_is_counted(report: dict[str, Any], project: Path) -> None:
    walked = len(BAD_FILES) + len(FINE_FILES) + 1 + 3 + hasattr(os, "mkfifo")
    assert report["summary"]["files"] == walked


def test_a_five_megabyte_file_finishes(tmp_path: Path) -> None:
    block = "def f_{0}(x, y=2):\n    z = x * {0} + y  # note {0}\n    return [z, 's{0}']\n\n\n"
    parts, size, i = [], 0, 0
    while size < 5_000_000:
        part = block.format(i)
        parts.append(part)
        size += len(part)
        i += 1
    (tmp_path / "generated.py").write_text("".join(parts))
    (tmp_path / "good.py").write_text(GOOD_SIBLING)
    started = time.monotonic()
    result = run_check(tmp_path, ".", "--fail-on", "info")
    assert time.monotonic() - started < 240
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [("good.py", "MLD701")]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads mode-000 files")
def test_unreadable_file_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD_SIBLING)
    locked = tmp_path / "locked.py"
    locked.write_text("x = 1\n")
    locked.chmod(0)
    try:
        result = run_check(tmp_path, ".")
    finally:
        locked.chmod(0o644)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [
        ("good.py", "MLD701"),
        ("locked.py", "MLD002"),
    ]
    assert "Permission denied" in findings[1]["message"]


def test_unreadable_file_is_a_finding_even_for_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated: root can read a mode-000 file, so make the read itself fail."""
    (tmp_path / "good.py").write_text(GOOD_SIBLING)
    (tmp_path / "locked.py").write_text("x = 1\n")
    real_read = SourceFile.read

    def read(self: SourceFile) -> bytes:
        if self.path.name == "locked.py":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(SourceFile, "read", read)
    result = analyse([tmp_path], jobs=1, use_cache=False)
    found = [(f.path, f.rule, f.line, f.message) for f in result.findings]
    assert found == [
        ("good.py", "MLD701", 1, "TODO comment: TODO: still found next to bad files"),
        ("locked.py", "MLD002", 1, "cannot read: Permission denied"),
    ]


def test_folder_that_cannot_be_listed_is_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.py").write_text(GOOD_SIBLING)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "hidden.py").write_text("x = 1\n")
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path).name == "secret":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = analyse([tmp_path], jobs=1, use_cache=False)
    found = [(f.path, f.rule, f.message) for f in result.findings]
    assert found == [
        ("good.py", "MLD701", "TODO comment: TODO: still found next to bad files"),
        ("secret", "MLD002", "cannot read: cannot list this folder: Permission denied"),
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file or directory"),
        (lambda p: p.symlink_to("nowhere.py"), "broken symbolic link to nowhere.py"),
        (lambda p: p.symlink_to(p.name), "symbolic link loop"),
    ],
    ids=["missing", "broken-link", "link-loop"],
)
def test_bad_path_on_the_command_line_is_one_message_and_exit_2(
    tmp_path: Path, make: Any, message: str
) -> None:
    make(tmp_path / "named.py")
    (tmp_path / "good.py").write_text(GOOD_SIBLING)
    result = run_check(tmp_path, "good.py", "named.py")
    assert result.returncode == 2
    assert result.stderr.strip() == f"mldebt: error: named.py: {message}"
    assert result.stdout == ""


def test_folder_named_like_a_source_file_is_walked_when_named(tmp_path: Path) -> None:
    (tmp_path / "x.py").mkdir()
    (tmp_path / "x.py" / "inside.py").write_text(GOOD_SIBLING)
    result = run_check(tmp_path, "x.py", "--fail-on", "info")
    assert result.returncode == 1, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["inside.py"]


def test_nesting_too_deep_even_for_the_deep_stack_is_one_parse_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code generation recursing past every limit costs the file, reported at its statement."""
    import mldebt.fileprocess

    monkeypatch.setattr(mldebt.fileprocess, "_DEEP_RECURSION_LIMIT", 100)
    (tmp_path / "good.py").write_text(GOOD_SIBLING)
    deep = b"import os\n\n# TODO: lost with the file\n" + chain("+", 500)
    (tmp_path / "deep.py").write_bytes(deep)
    result = analyse([tmp_path], jobs=1, use_cache=False)
    found = [(f.path, f.rule, f.line, f.column, f.message) for f in result.findings]
    assert found == [
        ("deep.py", "MLD001", 4, 1, "too deeply nested to analyse"),
        ("good.py", "MLD701", 1, 8, "TODO comment: TODO: still found next to bad files"),
    ]


PY2_STRINGS = r'''
import argparse, os
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

parser = argparse.ArgumentParser()
parser.add_argument("C:\Users", default="C:\Users\bob\data.csv", action="C:\Users")
df = pd.read_csv("C:\Users\bob\x.csv")
handle = open("C:\Users\y.txt", "C:\Users")
df["C:\Users"] = 1
FEATURES = ["C:\Users", "a"]
df = df.rename(columns={"C:\Users": "b"})
np.random.seed("C:\Users")
score = f1_score(df.y, df.p, average="C:\Users")
lookup = {"C:\Users": 1}["C:\Users"]
__all__ = ["C:\Users"]

def fit(x: "C:\Users"):
    return x
'''


def test_string_literals_python_refuses_cost_nothing_but_themselves(tmp_path: Path) -> None:
    """An old Python 2 script's "C:\\Users" is a truncated \\U escape to Python 3: libcst
    parses it, but its value cannot be read. No rule and no fact extractor may give up on the
    file because of it."""
    (tmp_path / "legacy.py").write_text(PY2_STRINGS)
    config = Config(root=tmp_path, select=["ALL"], preview=True)
    result = analyse([tmp_path], config, use_cache=False, jobs=1)
    assert [f.rule for f in result.findings if f.category == "analysis"] == []
