"""The Python API for tools that embed mldebt; the CLI is a thin layer over it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldebt.baseline import Comparison
from mldebt.config import Config, EnabledRule, load_config, resolve_rules
from mldebt.engine import Progress, RunOptions, run
from mldebt.findings import CATEGORIES, Finding, Severity
from mldebt.graph import ProjectGraph
from mldebt.registry import Registry, load_registry


@dataclass(frozen=True)
class Summary:
    files: int
    findings: int
    debt_minutes: float
    lines_of_code: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    by_rule: dict[str, int]
    suppressed: int = 0
    #: The project's language mix: files by language of their extension (Python, Jupyter
    #: notebook, R, SQL, shell, ...), most files first.
    languages: dict[str, int] = field(default_factory=dict)
    #: Added by gating (``baseline``, ``new_since``, ``diff``, ...): extra summary fields.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "findings": self.findings,
            "debt_minutes": self.debt_minutes,
            "lines_of_code": self.lines_of_code,
            "by_category": self.by_category,
            "by_severity": self.by_severity,
            "by_rule": self.by_rule,
            "suppressed": self.suppressed,
            **({"languages": self.languages} if self.languages else {}),
            **self.extra,
        }


@dataclass
class AnalysisResult:
    findings: list[Finding]
    summary: Summary
    config: Config
    rules: list[EnabledRule]
    files: list[str] = field(default_factory=list)
    #: The project graph, or how to build it (built on first use of :attr:`graph`).
    graph_source: ProjectGraph | Callable[[], ProjectGraph] | None = field(default=None, repr=False)
    #: Set when findings were compared with a baseline or a git ref (new/unchanged/fixed).
    comparison: Comparison | None = None

    @property
    def graph(self) -> ProjectGraph | None:
        """The project graph; a run whose project findings came from the cache builds it
        only when something (a report's graph view, an export) asks."""
        source = self.graph_source
        if source is None or isinstance(source, ProjectGraph):
            return source
        self.graph_source = built = source()
        return built

    def failing(self, fail_on: str | None = None) -> list[Finding]:
        """Findings at or above the failing severity (``never``: none)."""
        level = fail_on or self.config.fail_on
        if level == "never":
            return []
        threshold = Severity(level).rank
        return [f for f in self.findings if f.severity.rank >= threshold]


def summarise(
    findings: Sequence[Finding],
    files: int,
    loc: int,
    suppressed: int = 0,
    languages: dict[str, int] | None = None,
) -> Summary:
    categories = Counter(f.category for f in findings)
    severities = Counter(f.severity.value for f in findings)
    rules = Counter(f.rule for f in findings)
    return Summary(
        files=files,
        findings=len(findings),
        debt_minutes=round(sum(f.debt_minutes for f in findings), 2),
        lines_of_code=loc,
        by_category={c: categories[c] for c in CATEGORIES if categories[c]},
        by_severity={
            s.value: severities[s.value] for s in reversed(Severity) if severities[s.value]
        },
        by_rule=dict(sorted(rules.items())),
        suppressed=suppressed,
        languages=dict(languages or {}),
    )


def analyse(
    paths: Sequence[str | Path] = (".",),
    config: Config | None = None,
    *,
    jobs: int = 0,
    use_cache: bool = True,
    progress: Progress | None = None,
    registry: Registry | None = None,
    cache_dir: Path | None = None,
) -> AnalysisResult:
    """Analyse ``paths`` and return findings and summary.

    Without ``config``, the configuration is found by walking up from the first path, as the
    command line does. Raises ``ConfigError``, ``RegistryError`` or ``DiscoveryError`` on bad
    input.
    """
    resolved = [Path(p) for p in paths] or [Path(".")]
    registry = registry or load_registry()
    config = config or load_config(resolved[0])
    enabled = resolve_rules(config, registry)
    options = RunOptions(jobs, use_cache, progress, cache_dir)
    result = run(resolved, config, enabled, options, registry)
    summary = summarise(
        result.findings,
        len(result.files),
        result.lines_of_code,
        result.suppressed,
        result.languages,
    )
    return AnalysisResult(
        result.findings, summary, config, enabled, result.files, result.graph_source
    )
