"""Reporters: each turns an AnalysisResult into text in one format."""

from __future__ import annotations

from collections.abc import Callable

from mldebt.api import AnalysisResult
from mldebt.report import github, gitlab, json_report, junit, sarif, text

Renderer = Callable[[AnalysisResult, bool], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
}


def render(fmt: str, result: AnalysisResult, color: bool = False) -> str:
    return FORMATS[fmt](result, color)
