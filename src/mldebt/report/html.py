"""The HTML debt report: one self-contained page that works offline from disk.

Jinja2 renders the page with autoescaping on; the stylesheet and the script are inlined from
``templates/``; charts and the project graph are SVG drawn here. The findings travel as JSON
in a ``<script type="application/json">`` element, with ``<``, ``>``, ``&`` and U+2028/2029
escaped, so nothing in analysed code (``</script>`` in a string, HTML in a file name) can end
the element; the page's script builds the findings list from it with text nodes only. A
Content-Security-Policy admits only that script (by its hash), so even markup that slipped
through could not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from mldebt import __version__
from mldebt.api import AnalysisResult
from mldebt.baseline import Comparison
from mldebt.debt import DEFAULT_CHURN_DAYS, RATING_GRID, build, git_churn, lines_of_code
from mldebt.findings import CATEGORIES, Finding, Location, Severity
from mldebt.report import graphview
from mldebt.report.highlight import Line, highlight
from mldebt.report.text import duration
from mldebt.rule import Example, Rule
from mldebt.secrets import redact_lines, scrub
from mldebt.source import SourceError, decode_python

CONTEXT_LINES = 2  # lines shown around a finding
MAX_SNIPPET_LINES = 14
MAX_SOURCE_BYTES = 20 * 1024 * 1024  # larger files get no snippet
MAX_LINE_CHARS = 400  # longer snippet lines are cut
TOP_RULES = 10
TOP_HOTSPOTS = 15
SEVERITIES = [s.value for s in reversed(Severity)]


def render(result: AnalysisResult, color: bool = False) -> str:
    """The report for ``result`` (the reporters' signature; ``color`` means nothing here)."""
    return page(result)


def page(
    result: AnalysisResult,
    *,
    title: str | None = None,
    churn_days: int | None = DEFAULT_CHURN_DAYS,
    now: datetime | None = None,
    max_graph_nodes: int = graphview.MAX_NODES,
) -> str:
    """The report as one HTML document. ``churn_days=None`` skips reading git history."""
    comparison = result.comparison
    findings, status = _findings_with_status(result.findings, comparison)
    root = result.config.root
    churn = git_churn(root, churn_days, now) if churn_days is not None else None
    model = build(findings, lines_of_code(result), result.files, churn, churn_days)
    rules = _rule_classes(result, findings)
    sources = Sources(root, result.files, [*result.findings, *findings])
    data = _data(findings, status, rules, sources, comparison)
    graph = graphview.build(
        result.graph.nx if result.graph is not None else None,
        {f.path: f for f in model.files},
        max_graph_nodes,
    )
    generated = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    script = _asset("report.js")
    context = {
        "title": title or f"Debt report: {root.name or root}",
        "project": root.name or str(root),
        "version": __version__,
        "generated": generated,
        "model": model,
        "summary": result.summary,
        "duration": duration,
        "percent": _percent,
        "count": _count,
        "rating_grid": RATING_GRID,
        "category_chart": _bars(
            [
                (t.key, t.debt_minutes, f"{t.findings} · {duration(t.debt_minutes)}")
                for t in model.by_category
            ],
            "category",
        ),
        "rule_chart": _bars(
            [
                (
                    f"{t.key} {rules[t.key].name if t.key in rules else ''}".strip(),
                    t.debt_minutes,
                    f"{t.findings} · {duration(t.debt_minutes)}",
                )
                for t in model.by_rule[:TOP_RULES]
            ],
            "rule",
        ),
        "severity_chart": _donut([(t.key, t.findings) for t in model.by_severity]),
        "graph": graph,
        "files": model.files,
        "folders": model.folders,
        "hotspots": model.hotspots[:TOP_HOTSPOTS],
        "max_file_debt": max((f.debt_minutes for f in model.files), default=0.0),
        "max_folder_debt": max((f.debt_minutes for f in model.folders), default=0.0),
        "max_hotspot": max((f.hotspot or 0.0 for f in model.hotspots), default=0.0),
        "comparison": comparison,
        "status_counts": _status_counts(status),
        "fixed_total": sum(e.count for e in comparison.fixed) if comparison else 0,
        "filters": _filter_options(findings, status, rules),
        "rules": [_rule_doc(rules[code]) for code in sorted(rules)],
        "data": _json_for_script(data),
        "css": Markup(_asset("report.css")),
        "script": Markup(script),
        "script_hash": _csp_hash(script),
    }
    return _environment().get_template("report.html.j2").render(context)


# findings and their baseline status ---------------------------------------------------------


def _findings_with_status(
    findings: Sequence[Finding], comparison: Comparison | None
) -> tuple[list[Finding], dict[int, str]]:
    """All findings to show (a comparison's unchanged ones too, which the result's findings
    leave out) and each one's status by position; no statuses without a comparison."""
    if comparison is None:
        return sorted(findings, key=lambda f: f.sort_key), {}
    label: dict[int, str] = {}
    every: dict[int, Finding] = {}
    for status, group in (("unchanged", comparison.unchanged), ("new", comparison.new)):
        for finding in group:
            label[id(finding)] = status
            every[id(finding)] = finding
    for finding in findings:
        every.setdefault(id(finding), finding)
    shown = sorted(every.values(), key=lambda f: f.sort_key)
    return shown, {i: label[id(f)] for i, f in enumerate(shown) if id(f) in label}


def _status_counts(status: Mapping[int, str]) -> dict[str, int]:
    counts = {"new": 0, "unchanged": 0}
    for value in status.values():
        counts[value] = counts.get(value, 0) + 1
    return counts


def _rule_classes(result: AnalysisResult, findings: Iterable[Finding]) -> dict[str, type[Rule]]:
    rules = {enabled.rule.code: enabled.rule for enabled in result.rules}
    missing = {f.rule for f in findings} - set(rules)
    if missing:
        from mldebt.registry import load_registry

        registry = load_registry()
        for code in missing:
            found = registry.lookup(code)
            if found is not None:
                rules[code] = found
    return {code: rules[code] for code in {f.rule for f in findings} if code in rules}


# source snippets ----------------------------------------------------------------------------


class Sources:
    """Highlighted lines of the analysed files, read once each, only files the run analysed."""

    def __init__(self, root: Path, files: Iterable[str], findings: Iterable[Finding] = ()) -> None:
        self.root = root
        self.files = set(files)
        self._loaded: dict[str, dict[int | None, list[Line]] | None] = {}
        #: Spans no snippet may quote, by (path, cell): the secrets rules found.
        self.redact: dict[tuple[str, int | None], list[Location]] = {}
        for finding in findings:
            for span in finding.redact:
                self.redact.setdefault((span.path, span.cell), []).append(span)

    def _text(self, path: str, cell: int | None, text: str) -> str:
        """``text`` with its secrets masked: the spans rules marked, and known token shapes."""
        spans = self.redact.get((path, cell))
        if spans:
            text = "\n".join(redact_lines(text.split("\n"), spans))
        return scrub(text)

    def lines(self, path: str, cell: int | None) -> list[Line] | None:
        """The highlighted lines of ``path`` (of notebook cell ``cell``, 1-based among all
        cells; ``None`` for the notebook file's own JSON lines)."""
        if path not in self._loaded:
            self._loaded[path] = self._load(path)
        loaded = self._loaded[path]
        return loaded.get(cell) if loaded is not None else None

    def _load(self, path: str) -> dict[int | None, list[Line]] | None:
        if path not in self.files:
            return None
        try:
            data = (self.root / path).read_bytes()
        except OSError:
            return None
        if len(data) > MAX_SOURCE_BYTES:
            return None
        if path.endswith(".ipynb"):
            raw = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
            cells: dict[int | None, list[Line]] = {None: _plain(scrub(raw))}
            for index, text in notebook_cells(data).items():
                text = self._text(path, index, text)
                cells[index] = _lines(highlight(text), text)
            return cells
        try:
            text = self._text(path, None, decode_python(data))
        except SourceError:
            raw = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
            return {None: _plain(self._text(path, None, raw))}
        return {None: _lines(highlight(text), text)}

    def snippet(
        self, path: str, cell: int | None, line: int, end_line: int | None = None
    ) -> dict[str, Any] | None:
        """``{"a": first line number, "h": [first, last] flagged, "t": lines}`` or None."""
        lines = self.lines(path, cell)
        if not lines or line < 1 or line > len(lines):
            return None
        last = max(line, min(end_line or line, len(lines)))
        start = max(1, line - CONTEXT_LINES)
        stop = min(len(lines), last + CONTEXT_LINES, start + MAX_SNIPPET_LINES - 1)
        return {"a": start, "h": [line, last], "t": [_clip(t) for t in lines[start - 1 : stop]]}


def _lines(lines: list[Line], text: str) -> list[Line]:
    """A text's lines without the empty one after its final newline."""
    return lines[:-1] if text.endswith("\n") and lines and not lines[-1] else lines


def _plain(text: str) -> list[Line]:
    return _lines([[line] for line in text.split("\n")], text)


def _clip(line: Line, limit: int = MAX_LINE_CHARS) -> Line:
    """A line cut to ``limit`` characters (minified code, embedded data), marked with "…"."""
    if sum(len(s if isinstance(s, str) else s[1]) for s in line) <= limit:
        return line
    out: Line = []
    room = limit
    for segment in line:
        text = segment if isinstance(segment, str) else segment[1]
        if room <= 0:
            break
        part = text[:room]
        out.append(part if isinstance(segment, str) else [segment[0], part])
        room -= len(part)
    out.append(" …")
    return out


def notebook_cells(data: bytes) -> dict[int, str]:
    """Each cell's source by 1-based index among all cells (nbformat 3 and 4); empty when
    the notebook cannot be read."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    cells = document.get("cells")
    if not isinstance(cells, list):
        sheets = document.get("worksheets")
        cells = [
            cell
            for sheet in (sheets if isinstance(sheets, list) else [])
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list)
            for cell in sheet["cells"]
        ]
    out: dict[int, str] = {}
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", cell.get("input", ""))
        if isinstance(source, list):
            source = "".join(part for part in source if isinstance(part, str))
        if isinstance(source, str):
            out[index] = source.replace("\r\n", "\n").replace("\r", "\n")
    return out


# the data the page's script reads -----------------------------------------------------------


def _data(
    findings: Sequence[Finding],
    status: Mapping[int, str],
    rules: Mapping[str, type[Rule]],
    sources: Sources,
    comparison: Comparison | None,
) -> dict[str, Any]:
    """Findings for the script, in compact form.

    ``rules``: code -> ``{"name", "category"}``; ``paths``: every path mentioned; each finding
    is ``{"r": rule, "s": severity, "k": category, "p": path index, "l": line, "c": column,
    "e": end line, "n": cell, "m": message, "d": debt minutes, "st": status, "x": snippet,
    "rel": [{"p", "l", "n", "m", "x"}]}`` (absent keys: no value).
    """
    paths: dict[str, int] = {}

    def index(path: str) -> int:
        return paths.setdefault(path, len(paths))

    rows = []
    for i, finding in enumerate(findings):
        row: dict[str, Any] = {
            "r": finding.rule,
            "s": finding.severity.value,
            "k": finding.category,
            "p": index(finding.path),
            "l": finding.line,
            "c": finding.column,
            "m": finding.message,
            "d": finding.debt_minutes,
        }
        if finding.end_line != finding.line:
            row["e"] = finding.end_line
        if finding.cell is not None:
            row["n"] = finding.cell
        if i in status:
            row["st"] = status[i]
        snippet = sources.snippet(finding.path, finding.cell, finding.line, finding.end_line)
        if snippet:
            row["x"] = snippet
        if finding.related:
            row["rel"] = [_related(loc, index, sources) for loc in finding.related]
        rows.append(row)
    rule_info = {
        code: {"name": rule.name, "k": rule.category} for code, rule in sorted(rules.items())
    }
    for finding in findings:
        rule_info.setdefault(finding.rule, {"name": finding.name, "k": finding.category})
    data: dict[str, Any] = {
        "rules": rule_info,
        "paths": list(paths),
        "findings": rows,
        "status": comparison is not None,
    }
    return data


def _related(loc: Location, index: Any, sources: Sources) -> dict[str, Any]:
    item: dict[str, Any] = {"p": index(loc.path), "l": loc.line}
    if loc.cell is not None:
        item["n"] = loc.cell
    if loc.message:
        item["m"] = loc.message
    lines = sources.lines(loc.path, loc.cell)
    if lines and 1 <= loc.line <= len(lines):
        item["x"] = {"a": loc.line, "h": [loc.line, loc.line], "t": [_clip(lines[loc.line - 1])]}
    return item


def _json_for_script(data: Any) -> Markup:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>``, ``&`` or line
    separators left raw, so neither ``</script>`` nor ``<!--`` can appear in it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return Markup(text)


# filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    count: int


def _filter_options(
    findings: Sequence[Finding], status: Mapping[int, str], rules: Mapping[str, type[Rule]]
) -> dict[str, list[Option]]:
    def counted(values: Iterable[str], order: Sequence[str] | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        keys = [k for k in order if k in counts] if order else sorted(counts)
        return {k: counts[k] for k in keys + sorted(set(counts) - set(keys))}

    categories = counted((f.category for f in findings), CATEGORIES)
    severities = counted((f.severity.value for f in findings), SEVERITIES)
    by_rule = counted(f.rule for f in findings)
    names = {f.rule: f.name for f in findings}
    statuses = counted(status.values(), ("new", "unchanged"))
    return {
        "category": [Option(k, k, n) for k, n in categories.items()],
        "severity": [Option(k, k, n) for k, n in severities.items()],
        "rule": [
            Option(k, f"{k} {rules[k].name if k in rules else names.get(k, '')}", n)
            for k, n in by_rule.items()
        ],
        "status": [Option(k, k, n) for k, n in statuses.items()],
    }


# charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    width: float  # 0..1 of the longest bar
    y: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    height: float
    kind: str


BAR_ROW = 40.0


def _bars(rows: Sequence[tuple[str, float, str]], kind: str) -> BarChart:
    top = max((value for _, value, _ in rows), default=0.0)
    bars = [
        Bar(label, value, text, (value / top) if top else 0.0, i * BAR_ROW)
        for i, (label, value, text) in enumerate(rows)
    ]
    return BarChart(bars, max(len(bars), 1) * BAR_ROW, kind)


@dataclass(frozen=True)
class Arc:
    key: str
    count: int
    dash: str  # stroke-dasharray
    offset: float  # stroke-dashoffset
    share: float


DONUT_RADIUS = 52.0


def _donut(rows: Sequence[tuple[str, int]]) -> list[Arc]:
    total = sum(count for _, count in rows)
    circumference = 2 * math.pi * DONUT_RADIUS
    arcs = []
    start = 0.0
    for key, count in rows:
        share = count / total if total else 0.0
        length = share * circumference
        arcs.append(Arc(key, count, f"{length:.2f} {circumference - length:.2f}", -start, share))
        start += length
    return arcs


def _count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``, ``3 info`` (as the text report counts)."""
    return f"{n:,} {noun}" if n == 1 or noun == "info" else f"{n:,} {noun}s"


def _percent(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    value = ratio * 100
    if value == 0:
        return "0%"
    if value < 0.1:
        return "<0.1%"
    return f"{value:.1f}%"


# rule docs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleDoc:
    code: str
    name: str
    category: str
    severity: str
    status: str
    remediation: str
    tags: str
    summary: Markup
    summary_text: str
    sections: list[tuple[str, Markup]]


def _prose(text: str) -> Markup:
    """Metadata prose as HTML: escaped paragraphs, ``code`` spans, ``-`` lists; nothing else."""
    import textwrap

    out = []
    for paragraph in textwrap.dedent(text).strip().split("\n\n"):
        lines = [line.strip() for line in paragraph.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return Markup("".join(out))


def _inline(text: str) -> str:
    parts = str(escape(text)).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return "`".join(parts)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _code_block(code: str) -> Markup:
    rows = []
    for line in highlight(code.rstrip("\n")):
        spans = "".join(
            str(escape(seg))
            if isinstance(seg, str)
            else f'<span class="t{seg[0]}">{escape(seg[1])}</span>'
            for seg in line
        )
        rows.append(spans)
    return Markup('<pre class="code example"><code>' + "\n".join(rows) + "</code></pre>")


def _examples(examples: Sequence[Example]) -> Markup:
    blocks = []
    for example in examples:
        for path, code in example.files.items():
            caption = Markup("")
            if path.endswith(".ipynb"):
                caption = Markup(
                    '<p class="caption">In a notebook, <code>{}</code> (cells separated by '
                    "<code># %%</code>):</p>"
                ).format(path)
            elif len(example.files) > 1 or path != "example.py":
                caption = Markup('<p class="caption"><code>{}</code>:</p>').format(path)
            blocks.append(caption + _code_block(code))
    return Markup("".join(blocks))


def _rule_doc(rule: type[Rule]) -> RuleDoc:
    bad = [e for e in rule.examples if e.bad]
    good = [e for e in rule.examples if not e.bad]
    remediation = f"{rule.debt_minutes:g} min"
    if rule.debt_per_unit:
        remediation += f" + {rule.debt_per_unit:g} min per extra line or step"
    sections = [
        ("What it finds", _prose(rule.what)),
        ("Why it is debt", _prose(rule.why)),
        (
            "Example",
            _examples(bad) if bad else _prose(f"No example: {rule.no_bad_example}."),
        ),
        ("Use instead", _examples(good) if good else Markup("<p>Nothing to show.</p>")),
        ("Known limits", _prose(rule.limits)),
    ]
    if rule.options:
        items = "".join(
            f"<li><code>{escape(option)}</code> (default <code>{escape(json.dumps(default))}"
            f"</code>): {_inline(rule.option_docs.get(option, ''))}</li>"
            for option, default in rule.options.items()
        )
        sections.append(("Options", Markup(f"<ul>{items}</ul>")))
    sections.append(
        (
            "Suppress",
            Markup(
                f"<p><code># mldebt: ignore[{escape(rule.code)}]</code> or "
                f"<code># mldebt: ignore[{escape(rule.name)}]</code> on the line or the line "
                "before.</p>"
            ),
        )
    )
    return RuleDoc(
        code=rule.code,
        name=rule.name,
        category=rule.category,
        severity=rule.severity.value,
        status=rule.status,
        remediation=remediation,
        tags=", ".join(rule.tags) or "none",
        summary=_prose(rule.summary),
        summary_text=" ".join(rule.summary.split()),
        sections=sections,
    )


# templates and assets -----------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mldebt.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> str:
    text = resources.files("mldebt.report").joinpath("templates").joinpath(name).read_text("utf-8")
    closing = "</script" if name.endswith(".js") else "</style"
    if closing in text.lower():  # would end the element early
        raise RuntimeError(f"{name} must not contain {closing}")
    return text


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")
