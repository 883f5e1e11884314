"""MLD701: TODO / FIXME / HACK / XXX comments — debt the authors admitted to."""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.rule import BAD, GOOD, FileRule

DEFAULT_MARKERS = ("TODO", "FIXME", "HACK", "XXX", "KLUDGE", "TBD")


def _pattern(markers: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
    # Upper case anywhere as a word of its own (not TODO_LIST, not XXX-XX-XXXX); any case
    # when the comment opens with the marker followed by ':', '(' or '-' ("# todo: ...").
    return re.compile(
        rf"(?<![\w-])(?P<upper>{words})(?![\w-])|^\s*(?P<lead>(?i:{words}))\s*(?:[:(-]|$)"
    )


# "see TODO in foo()" points at a marker elsewhere rather than admitting debt here.
_REFERENCE = re.compile(r"\b(?:see|the|a|this|that|any|each|every|of)\s+$", re.IGNORECASE)


class DebtMarker(FileRule):
    code = "MLD701"
    name = "debt-marker"
    category = "self-admitted-debt"
    severity = Severity.INFO
    debt_minutes = 10.0
    tags = ("general",)
    options = {"markers": list(DEFAULT_MARKERS)}
    option_docs = {
        "markers": "Words that mark a comment as admitted debt (matched as whole words)."
    }
    summary = "A TODO, FIXME, HACK or XXX comment: debt the author knew about and left."
    what = (
        "Comments whose text carries a debt marker (`TODO`, `FIXME`, `HACK`, `XXX`, `KLUDGE`, "
        "`TBD`) as a word of its own, in `.py` files and notebook cells. Upper-case markers count "
        "anywhere in the comment; lower-case ones only when they open it (`# todo: ...`). "
        "Strings, docstrings and identifiers such as `todo_list` or a `todo_created` event are "
        "never comments and are never reported. The message carries the comment's text."
    )
    why = (
        "Self-admitted technical debt (Potdar and Shihab, ICSME 2014) is debt its authors "
        "documented; in ML code it often marks the shortcuts Sculley et al. (2015) warn about, "
        "such as hard-coded thresholds and untested data paths. Tracking it keeps it visible."
    )
    limits = (
        "Markers in non-English spellings are not recognised; add them with the `markers` option."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            # TODO(maria): handle customers with a missing tenure
            df = pd.read_csv("customers.csv")
            """,
            expect=1,
        ),
        BAD(
            """
            def train(model, X, y):
                model.fit(X, y)  # HACK: class weights tuned by hand on Q3 data
                return model  # fixme - the scaler is refit here
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import numpy as np
            # %%
            # XXX: the seed below only covers numpy
            np.random.seed(0)
            """,
            path="explore.ipynb",
            expect=1,
        ),
        GOOD(
            """
            todo_list = ["clean", "train"]
            events = {"todo_created": 3}
            log = "status: TODO"
            """
        ),
        GOOD(
            '''
            def fit():
                """TODO: this docstring is documentation, not a comment."""
                # Reports the model's fixmes table (a word containing a marker)
                return None
            '''
        ),
        GOOD(
            """
            # Format of an account number: XXX-XX-XXXX
            # The todo app's churn model, trained weekly; see TODO in ingest.py.
            ACCOUNT = "XXX-XX-XXXX"
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.pattern = _pattern(tuple(self.opts["markers"]))

    def leave_Module(self, original_node: cst.Module) -> None:
        for comment in self.context.comments:
            body = comment.text.lstrip("#")
            match = self.pattern.search(body)
            if match is None or _REFERENCE.search(body[: match.start()]):
                continue
            marker = (match.group("upper") or match.group("lead")).upper()
            text = " ".join(body.split())
            if len(text) > 160:
                text = text[:157] + "..."
            self.report(
                None,
                f"{marker} comment: {text}",
                line=comment.line,
                column=comment.column,
                end_column=comment.column + len(comment.text),
                basis=text,
            )
