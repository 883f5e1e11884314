"""``# mldebt: ignore[...]`` comments, through the public API as a user's editor would see them.

A comment alone on its line covers that line and the next; after code, only its own line.
``ignore-file[...]`` covers the file. A bare ``# mldebt: ignore`` covers every rule. Unused
suppressions are reported as MLD003, unknown codes as MLD004.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from mldebt.api import AnalysisResult, analyse
from mldebt.config import Config
from mldebt.testing import notebook_json

#: The rules these tests suppress and report with, so that rules added later do not add findings.
SELECT = ["analysis", "MLD201", "MLD701"]


def run(tmp_path: Path, source: str, name: str = "train.py", **settings: object) -> AnalysisResult:
    text = textwrap.dedent(source).lstrip("\n")
    if name.endswith(".ipynb"):
        text = notebook_json(text)
    (tmp_path / name).write_text(text, encoding="utf-8")
    config = Config(root=tmp_path, **{"select": SELECT, **settings})  # type: ignore[arg-type]
    return analyse([tmp_path], config, jobs=1, use_cache=False)


def found(tmp_path: Path, source: str, name: str = "train.py", **settings: object) -> list[str]:
    """Findings as ``line:CODE`` (``cell:line:CODE`` in a notebook)."""
    result = run(tmp_path, source, name, **settings)
    return [f"{'' if f.cell is None else f'{f.cell}:'}{f.line}:{f.rule}" for f in result.findings]


# what a suppression covers -------------------------------------------------------------------


def test_a_trailing_suppression_covers_its_own_line(tmp_path: Path) -> None:
    source = """
        model.fit(X, y)  # TODO: class weights  # mldebt: ignore[MLD701]
        model.save(path)  # TODO: versioned path
    """
    assert found(tmp_path, source) == ["2:MLD701"]


def test_the_directive_is_case_insensitive(tmp_path: Path) -> None:
    source = """
        model.fit(X, y)  # TODO: class weights  # MLDEBT: IGNORE[MLD701]
    """
    assert found(tmp_path, source) == []


def test_a_suppression_alone_on_its_line_covers_the_next_line(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore[debt-marker]
        model.fit(X, y)  # TODO: class weights
        model.save(path)  # TODO: versioned path
    """
    assert found(tmp_path, source) == ["3:MLD701"]


def test_suppressions_stacked_above_a_line_all_cover_it(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore[debt-marker]
        # mldebt: ignore[commented-out-code]
        # model.fit(X, y)  # TODO: weights
        # model.save(path)
    """
    result = run(tmp_path, source)
    assert (result.findings, result.summary.suppressed) == ([], 2)


def test_a_trailing_suppression_does_not_cover_the_next_line(tmp_path: Path) -> None:
    source = """
        model = make_model()  # mldebt: ignore[MLD701]
        model.fit(X, y)  # TODO: class weights
    """
    assert found(tmp_path, source) == ["1:MLD003", "2:MLD701"]


def test_a_suppression_before_a_block_covers_a_finding_spanning_lines(tmp_path: Path) -> None:
    source = """
        def train(model, X, y):
            # mldebt: ignore[commented-out-code]
            # model = XGBClassifier(n_estimators=300)
            # model.fit(X, y)
            # model.save("xgb.json")
            return model.fit(X, y)
    """
    result = run(tmp_path, source)
    assert result.findings == []
    assert result.summary.suppressed == 1


def test_codes_and_names_can_be_mixed_in_one_suppression(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore[MLD201, debt-marker]
        # grid.fit(X, y)  # TODO: bring back the grid search
        # print(grid.best_params_)
    """
    assert found(tmp_path, source) == []


def test_a_suppression_silences_only_the_rules_it_names(tmp_path: Path) -> None:
    source = """
        x = 1  # TODO: rename  # mldebt: ignore[commented-out-code]
    """
    assert found(tmp_path, source) == ["1:MLD701", "1:MLD003"]


def test_spaces_inside_the_comment_are_allowed(tmp_path: Path) -> None:
    source = """
        a = 1  # TODO: one  #mldebt:ignore[MLD701]
        b = 2  # TODO: two  #  mldebt : ignore [ MLD701 ]
    """
    assert found(tmp_path, source) == []


def test_ignore_file_covers_the_whole_file(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore-file[debt-marker]
        import pandas as pd

        # TODO: one
        df = pd.read_csv("a.csv")  # FIXME: two
        # print(df.head())
    """
    assert found(tmp_path, source) == ["6:MLD201"]


# bare suppressions ---------------------------------------------------------------------------


def test_a_bare_suppression_silences_every_rule_on_its_line(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore
        # TODO: revisit   print(model)
        y = 1  # HACK: yes  # mldebt: ignore
    """
    result = run(tmp_path, source)
    assert result.findings == []
    assert result.summary.suppressed == 2


def test_an_unused_bare_suppression_is_reported(tmp_path: Path) -> None:
    source = """
        import numpy as np
        np.random.seed(0)  # mldebt: ignore
    """
    result = run(tmp_path, source)
    assert [(f.rule, f.line, f.column, f.message) for f in result.findings] == [
        ("MLD003", 2, 20, "unused blanket suppression")
    ]


def test_a_bare_ignore_file_silences_the_whole_file(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore-file
        # TODO: one
        x = 1  # FIXME: two
    """
    assert found(tmp_path, source) == []


def test_a_word_after_ignore_is_not_a_bare_suppression(tmp_path: Path) -> None:
    source = """
        x = 1  # TODO: one  # mldebt: ignore-next-line
    """
    assert found(tmp_path, source) == ["1:MLD701"]


# what gets reported --------------------------------------------------------------------------


def test_an_unused_suppression_names_the_codes_that_matched_nothing(tmp_path: Path) -> None:
    source = """
        x = 1  # TODO: one  # mldebt: ignore[MLD701, MLD201]
    """
    result = run(tmp_path, source)
    assert [(f.rule, f.message) for f in result.findings] == [
        ("MLD003", "unused suppression: nothing reported here for MLD201")
    ]


def test_an_unknown_code_is_reported(tmp_path: Path) -> None:
    source = """
        x = 1  # TODO: one  # mldebt: ignore[MLD701, MLD9999, todo-marker]
    """
    result = run(tmp_path, source)
    assert [(f.rule, f.name, f.message) for f in result.findings] == [
        (
            "MLD004",
            "unknown-suppression-code",
            "unknown rule code or name in suppression: MLD9999, todo-marker",
        )
    ]


def test_empty_brackets_are_reported_as_a_suppression_that_does_nothing(tmp_path: Path) -> None:
    source = """
        x = 1  # TODO: one  # mldebt: ignore[]
    """
    assert found(tmp_path, source) == ["1:MLD701", "1:MLD003"]


def test_suppressions_of_rules_not_enabled_in_this_run_are_not_judged(tmp_path: Path) -> None:
    source = """
        x = 1  # mldebt: ignore[MLD701]
    """
    assert found(tmp_path, source) == ["1:MLD003"]
    assert found(tmp_path, source, ignore=["MLD701"]) == []


def test_unused_suppression_reports_follow_the_selection(tmp_path: Path) -> None:
    source = """
        x = 1  # mldebt: ignore[MLD701]
        y = 2  # mldebt: ignore[MLD0000]
    """
    assert found(tmp_path, source, ignore=["MLD003"]) == ["2:MLD004"]
    assert found(tmp_path, source, ignore=["analysis"]) == []
    assert found(tmp_path, source, per_file_ignores={"train.py": ["MLD003", "MLD004"]}) == []


def test_ignore_file_can_silence_the_suppression_reports_themselves(tmp_path: Path) -> None:
    source = """
        # mldebt: ignore-file[unused-suppression]
        x = 1  # mldebt: ignore[MLD701]
    """
    assert found(tmp_path, source) == []


def test_the_suppressed_count_is_in_the_summary(tmp_path: Path) -> None:
    source = """
        a = 1  # TODO: one  # mldebt: ignore[MLD701]
        b = 2  # TODO: two  # mldebt: ignore[MLD701]
        c = 3  # TODO: three
    """
    result = run(tmp_path, source)
    assert (result.summary.findings, result.summary.suppressed) == (1, 2)


# only real comments --------------------------------------------------------------------------


def test_the_text_inside_strings_and_docstrings_is_no_suppression(tmp_path: Path) -> None:
    source = '''
        """Train the model.

        # mldebt: ignore-file
        """
        HELP = "append  # mldebt: ignore[MLD701]  to silence a marker"
        x = 1  # TODO: one
        y = f"{x}  # mldebt: ignore"  # FIXME: two
    '''
    assert found(tmp_path, source) == ["6:MLD701", "7:MLD701"]


# notebooks: per cell line --------------------------------------------------------------------


def test_in_a_notebook_a_suppression_works_on_cell_lines(tmp_path: Path) -> None:
    source = """
        # %%
        import numpy as np
        # %%
        # mldebt: ignore[debt-marker]
        # TODO: seed every library
        np.random.seed(0)  # FIXME: numpy only  # mldebt: ignore[MLD701]
        # XXX: not suppressed
    """
    assert found(tmp_path, source, "explore.ipynb") == ["2:4:MLD701"]


def test_a_suppression_on_the_last_line_of_a_cell_does_not_reach_the_next(tmp_path: Path) -> None:
    source = """
        # %%
        import pandas as pd
        # mldebt: ignore[debt-marker]
        # %%
        # TODO: the first line of the next cell
        df = pd.read_csv("a.csv")
    """
    assert found(tmp_path, source, "explore.ipynb") == ["1:2:MLD003", "2:1:MLD701"]


def test_an_unused_notebook_suppression_is_reported_in_its_cell(tmp_path: Path) -> None:
    source = """
        # %%
        import pandas as pd
        # %%
        df = pd.read_csv("a.csv")  # mldebt: ignore[MLD201]
    """
    result = run(tmp_path, source, "explore.ipynb")
    assert [(f.rule, f.cell, f.line, f.column) for f in result.findings] == [("MLD003", 2, 1, 28)]


def test_ignore_file_in_a_notebook_covers_every_cell(tmp_path: Path) -> None:
    source = """
        # %%
        # mldebt: ignore-file[MLD701]
        # %%
        # TODO: one
        # %%
        # FIXME: two
    """
    assert found(tmp_path, source, "explore.ipynb") == []
