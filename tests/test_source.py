"""Bytes to text as Python reads them (PEP 263, BOM, newlines), and notebooks to one module."""

from __future__ import annotations

import json

import pytest

from mldebt.source import CellMap, SourceError, decode_notebook, decode_python


def test_utf8_is_the_default() -> None:
    assert decode_python("s = 'naïve'\n".encode()) == "s = 'naïve'\n"


def test_a_bom_is_dropped() -> None:
    assert decode_python(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"


def test_a_pep_263_cookie_chooses_the_encoding() -> None:
    data = "# -*- coding: latin-1 -*-\ns = 'café'\n".encode("latin-1")
    assert decode_python(data).splitlines()[1] == "s = 'café'"


def test_the_cookie_may_follow_a_shebang() -> None:
    data = "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\ns = '€'\n".encode("cp1252")
    assert decode_python(data).endswith("s = '€'\n")


def test_a_cookie_on_the_third_line_is_only_a_comment() -> None:
    data = "\n\n# coding: latin-1\ns = 'café'\n".encode("latin-1")
    with pytest.raises(SourceError, match="cannot decode as utf-8") as error:
        decode_python(data)
    assert (error.value.line, error.value.column) == (4, 9)


def test_an_unknown_codec_is_reported_on_the_cookie_line() -> None:
    with pytest.raises(SourceError, match="unknown encoding: nonexistent-codec") as error:
        decode_python(b"#!/usr/bin/env python\n# coding: nonexistent-codec\nx = 1\n")
    assert error.value.line == 2


def test_an_invalid_byte_is_placed_by_line_and_character() -> None:
    with pytest.raises(SourceError, match="byte 0xff is invalid") as error:
        decode_python("x = 1\r\ns = 'éé".encode() + b"\xff'\n")
    assert (error.value.line, error.value.column) == (2, 8)


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_every_newline_style_becomes_a_line_feed(newline: str) -> None:
    text = newline.join(["a = 1", "", "b = 2", ""])
    assert decode_python(text.encode()) == "a = 1\n\nb = 2\n"


def test_a_nul_byte_is_refused_where_it_is() -> None:
    with pytest.raises(SourceError, match="NUL byte") as error:
        decode_python(b"x = 1\r\nyy = 2\x00\n")
    assert (error.value.line, error.value.column) == (2, 7)


def test_an_empty_file_is_empty_text() -> None:
    assert decode_python(b"") == ""


def nb(*cells: object, metadata: object = None) -> bytes:
    return json.dumps({"cells": list(cells), "metadata": metadata or {}}).encode()


def test_code_cells_join_with_a_map_back_to_their_cells() -> None:
    source = decode_notebook(
        nb(
            {"cell_type": "markdown", "source": "# Title"},
            {"cell_type": "code", "source": "a = 1\nb = 2"},
            {"cell_type": "code", "source": ["c = 3\n", "d = 4\n"]},
        )
    )
    lines = source.text.split("\n")
    assert lines[:2] == ["a = 1", "b = 2"]
    assert source.cells.cells == [2, 3]
    d_line = lines.index("d = 4") + 1
    assert source.cells.locate(d_line) == (3, 2)
    assert source.cells.module_line(3, 2) == d_line


def test_neutralised_lines_keep_their_place_and_indentation() -> None:
    cell = "\n".join(
        [
            "%matplotlib inline",
            "x = %timeit -o f()",
            "files = !ls",
            "!pip install torch",
            "df.head?",
            "if x:",
            "    %time f()",
            "    y = 1",
        ]
    )
    source = decode_notebook(nb({"cell_type": "code", "source": cell}))
    assert source.text.split("\n")[:8] == [
        "pass",
        "x = None",
        "files = None",
        "pass",
        "pass",
        "if x:",
        "    pass",
        "    y = 1",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "a % b",
        "x = y % 3",
        "s = '%d' % n",
        "x != y",
        "ls = 1",
        "time.sleep(1)",
        "cd - 1",
        "config = {",  # opens a dict over several lines: does not parse alone
        "history = model.fit(",
        "env += [",
        "run (",
    ],
)
def test_python_that_looks_like_ipython_is_left_alone(line: str) -> None:
    source = decode_notebook(nb({"cell_type": "code", "source": line}))
    assert source.text.split("\n")[0] == line


def test_statements_over_several_lines_named_like_magics_stay_python() -> None:
    cell = "config = {\n    'lr': 0.1,\n}\nhistory = model.fit(\n    x, y,\n)\n!pip install torch"
    source = decode_notebook(nb({"cell_type": "code", "source": cell}))
    assert source.text.split("\n")[:7] == [*cell.split("\n")[:6], "pass"]


def test_a_cell_indented_as_a_whole_is_dedented_as_ipython_does() -> None:
    cell = "  model.summary()\n  if ok:\n      fit()\n"
    source = decode_notebook(nb({"cell_type": "code", "source": cell}))
    assert source.text.split("\n")[:3] == ["model.summary()", "if ok:", "    fit()"]


def test_foreign_cell_magics_are_blanked_and_remembered() -> None:
    source = decode_notebook(
        nb(
            {"cell_type": "code", "source": "%%bash\necho hi\n"},
            {"cell_type": "code", "source": "%%timeit\nf()\n"},
        )
    )
    assert source.foreign_cells == {1: "bash"}
    assert source.text.split("\n")[:6] == ["", "", "", "", "", "f()"]


def test_a_notebook_of_another_language_is_empty() -> None:
    metadata = {"kernelspec": {"language": "julia"}}
    source = decode_notebook(nb({"cell_type": "code", "source": "x = 1"}, metadata=metadata))
    assert (source.text, source.cells.starts) == ("", [])


def test_cell_map_round_trips_through_plain_lists() -> None:
    cells = CellMap([1, 4, 9], [2, 3, 5])
    assert CellMap.from_list(cells.to_list()) == cells
    assert cells.locate(5) == (3, 2)
    assert CellMap().locate(7) == (None, 7)
