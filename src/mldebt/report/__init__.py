"""Reporters: each turns an AnalysisResult into text in one format."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from mldebt.api import AnalysisResult
from mldebt.report import github, gitlab, html, json_report, junit, sarif, text
from mldebt.secrets import scrub

Renderer = Callable[[AnalysisResult, bool], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
    "html": html.render,
}


class ReportError(Exception):
    """A report that cannot be written (unknown format, unwritable path): exit 2."""


def render(fmt: str, result: AnalysisResult, color: bool = False) -> str:
    """The report in ``fmt``; well-known token shapes and URL passwords never get through,
    whichever part of the report (a message, a quoted line, a graph label) carries them."""
    return scrub(FORMATS[fmt](result, color))


def _mode(path: Path) -> int:
    """An existing file's mode, else what the umask gives a new file (a temporary file starts
    private, which a report a CI job uploads or a colleague opens must not be)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file: a reader never sees half.

    A path that exists but is not a regular file (``/dev/null``, ``/dev/stdout``, a pipe) is
    written in place: renaming over it would replace a device with a file.
    """
    if path.exists() and not path.is_file():
        try:
            with path.open("w", encoding="utf-8") as handle:
                handle.write(content)
        except OSError as exc:
            raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return
    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(temp, _mode(path))
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_reports(result: AnalysisResult, outputs: Mapping[str, str | Path]) -> None:
    """Write one analysis in several formats, ``{format: path}``, without analysing again.

    Every report is rendered before any is written, so an unknown format writes nothing.
    Raises ``ReportError`` for an unknown format, two formats sent to one file, or a path
    that cannot be written.
    """
    unknown = sorted(fmt for fmt in outputs if fmt not in FORMATS)
    if unknown:
        raise ReportError(
            f"unknown report format {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(sorted(FORMATS))}"
        )
    targets: dict[Path, str] = {}
    for fmt, path in outputs.items():
        other = targets.setdefault(Path(path).resolve(), fmt)
        if other != fmt:
            raise ReportError(f"formats {other} and {fmt} would both be written to {path}")
    rendered = {Path(path): render(fmt, result) for fmt, path in outputs.items()}
    for path, content in rendered.items():
        write_atomically(path, content)
