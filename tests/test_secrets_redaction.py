"""No secret found in the analysed code appears in full in any output mldebt writes.

A project with planted credentials (a Hugging Face token, a database URL with a password, an
AWS key pair, a password in a notebook, each next to other findings whose source snippets
quote the lines around them) is analysed once per command, and every report format, the
baseline file, the graph exports and the cached findings are searched for each secret.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mldebt.cli import main
from mldebt.findings import Location
from mldebt.secrets import mask, redact_lines, scrub, token_shape, url_password

HF_TOKEN = "hf_" + "Qm7vXc2LpT9wRk4ZsB8nYd3HfJ6gAe5UoP"
DB_PASSWORD = "Fr4ud" + "!Models-2025"
AWS_SECRET = "q8Z2vLm/Xp4TnR7k/" + "WcY3bH9sJf6DgA1eQu0"
AWS_KEY_ID = "AKIA" + "Q4XN7B2KD9TRW5ME"
NOTEBOOK_PASSWORD = "Aut" + "umn-Ledger77"
SECRETS = (HF_TOKEN, DB_PASSWORD, AWS_SECRET, AWS_KEY_ID, NOTEBOOK_PASSWORD)

TRAIN = f'''\
import numpy as np
import pandas as pd
from sqlalchemy import create_engine
from transformers import AutoModelForSequenceClassification

HF_TOKEN = "{HF_TOKEN}"
engine = create_engine("postgresql://ml_reader:{DB_PASSWORD}@db.acme.internal/fraud")
AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"
AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"
transactions = pd.read_sql("SELECT * FROM transactions", engine)
transactions.loc[transactions["amount"] == np.nan, "amount"] = 0
model = AutoModelForSequenceClassification.from_pretrained("acme/fraud-bert", token=HF_TOKEN)
'''

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import numpy as np\n", "import pandas as pd\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": [f'db = {{"user": "etl", "password": "{NOTEBOOK_PASSWORD}"}}\n',
                    "df = pd.read_csv('scores.csv')\n",
                    "df[df.score == np.nan]\n"]},
    ],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
}  # fmt: skip


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every output of every command on the planted project, by name."""
    project = tmp_path_factory.mktemp("planted")
    (project / "train.py").write_text(TRAIN, encoding="utf-8")
    (project / "explore.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    runner = CliRunner()
    formats = ("json", "sarif", "html", "github", "gitlab", "junit")
    writes = [arg for fmt in formats for arg in ("--write", f"{fmt}={out / fmt}")]
    checked = runner.invoke(
        main, ["check", str(project), "--jobs", "1", "--format", "text", *writes]
    )
    assert checked.exit_code == 1, checked.output
    baseline = runner.invoke(main, ["baseline", str(project), "--jobs", "1", "-o", str(out / "bl")])
    assert baseline.exit_code == 0, baseline.output
    reported = runner.invoke(
        main, ["report", str(project), "--jobs", "1", "-o", str(out / "report.html")]
    )
    assert reported.exit_code == 0, reported.output
    texts = {"text": checked.output, "baseline": (out / "bl").read_text(encoding="utf-8")}
    texts.update({fmt: (out / fmt).read_text(encoding="utf-8") for fmt in formats})
    texts["report"] = (out / "report.html").read_text(encoding="utf-8")
    for fmt in ("json", "dot"):
        graph = runner.invoke(main, ["graph", str(project), "--jobs", "1", "--format", fmt])
        assert graph.exit_code == 0, graph.output
        texts[f"graph-{fmt}"] = graph.output
    cache = project / ".mldebt_cache"
    texts["cached findings"] = "\n".join(
        json.dumps(json.loads(p.read_text(encoding="utf-8")).get("reports", []))
        for p in cache.rglob("*")
        if p.is_file() and p.read_text(encoding="utf-8").lstrip().startswith("{")
    )
    return texts


def test_the_secrets_are_found(outputs: dict[str, str]) -> None:
    findings = json.loads(outputs["json"])["findings"]
    secret_findings = [f for f in findings if f["rule"] == "MLD307"]
    assert len(secret_findings) == 5
    assert all(f["redact"] for f in secret_findings)
    assert any("hf_…(37 chars)" in f["message"] for f in secret_findings)
    assert any(f["cell"] == 2 for f in secret_findings)


def test_every_output_holds_a_finding_and_no_secret(outputs: dict[str, str]) -> None:
    assert "MLD307" in outputs["text"] and "MLD307" in outputs["report"]
    assert len(outputs) == 12
    for name, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{name} shows a secret in full"


def test_the_html_snippets_still_quote_the_code_around_a_secret(outputs: dict[str, str]) -> None:
    html = outputs["html"]
    assert "HF_TOKEN = ****" in html
    assert "read_sql" in html  # the neighbouring lines are quoted as usual


def test_mask_shows_the_format_and_the_length_only() -> None:
    assert mask(HF_TOKEN, 3) == "hf_…(37 chars)"
    assert mask("hunter22") == "…(8 chars)"
    assert mask("abcd", 10) == "a…(4 chars)"  # never more than a quarter


def test_scrub_masks_known_formats_and_url_passwords_anywhere() -> None:
    text = f"token {HF_TOKEN} and mysql+pymysql://root:{DB_PASSWORD}@localhost/db"
    scrubbed = scrub(text)
    assert HF_TOKEN not in scrubbed and DB_PASSWORD not in scrubbed
    assert "hf_…(37 chars)" in scrubbed and "mysql+pymysql://root:****@localhost/db" in scrubbed
    untouched = "https://huggingface.co/bert-base-uncased and user@example.com"
    assert scrub(untouched) == untouched


def test_placeholders_are_not_secrets() -> None:
    assert token_shape("hf_" + "x" * 34) is None
    assert url_password("postgresql://user:password@localhost/db") is None
    assert url_password("postgresql://user:${DB_PASSWORD}@localhost/db") is None
    assert url_password("redis://:{password}@cache:6379/0") is None


def test_redact_lines_masks_spans_in_place() -> None:
    lines = ['key = "abc123xyz"', "x = 1"]
    span = Location("a.py", 1, 7, 1, 18)
    assert redact_lines(lines, [span]) == ["key = ***********", "x = 1"]


def test_words_in_a_token_format_are_not_tokens() -> None:
    css = "sk-toggleable__label-arrow sk-estimator-doc-link-2024"
    assert token_shape(css) is None
    assert scrub(css) == css


def test_a_project_rule_can_mark_a_secret_span_too() -> None:
    """The redaction spans are part of the rule API, for project rules as for file rules."""
    from mldebt.graph import ProjectGraph
    from mldebt.rule import ProjectRule

    class Marks(ProjectRule):
        code = "X001"

        def check(self) -> None:
            self.report("a.py", 2, "a secret", redact=[Location("a.py", 2, 5, 2, 20)])

    rule = Marks(ProjectGraph([]), {})
    rule.check()
    assert rule.reports[0].redact == [Location("a.py", 2, 5, 2, 20).to_dict()]
