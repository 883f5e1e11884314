"""``--format json``: the report contract (shared/schemas/mldebt-report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from mldebt import __version__
from mldebt.api import AnalysisResult


def document(result: AnalysisResult) -> dict[str, Any]:
    return {
        "tool": {"name": "mldebt", "version": __version__},
        "summary": result.summary.to_dict(),
        "findings": [finding.to_dict() for finding in result.findings],
    }


def render(result: AnalysisResult, color: bool = False) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
