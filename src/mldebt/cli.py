"""The command line: click commands over the Python API. The only place that knows about
terminals and exit codes (0 clean, 1 findings that fail the gate, 2 usage or internal error)."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from mldebt import __version__
from mldebt.api import AnalysisResult, analyse
from mldebt.baseline import Baseline, BaselineError
from mldebt.cache import CACHE_DIR, clean
from mldebt.cli_options import config_file_option, jobs_option, no_cache_option
from mldebt.config import (
    DEFAULT_FAIL_ON,
    FAIL_ON,
    Config,
    ConfigError,
    apply_overrides,
    load_config,
    resolve_rules,
)
from mldebt.discovery import DiscoveryError
from mldebt.export.command import graph as graph_command
from mldebt.gating import (
    against_baseline,
    baseline_path,
    changed_lines,
    gate,
    named_files,
    new_since,
    whole_project,
)
from mldebt.gitdiff import GitError, resolve_commit, work_tree
from mldebt.registry import RegistryError, load_registry
from mldebt.report import FORMATS, ReportError, render, write_atomically, write_reports
from mldebt.report.command import report as report_command
from mldebt.report.text import duration, statistics
from mldebt.report.text import line as finding_line
from mldebt.ruledocs import render as render_docs

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    click.echo(f"mldebt: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@contextmanager
def _handled() -> Iterator[None]:
    """Bad input becomes one clear message and exit 2, never a traceback."""
    try:
        yield
    except (
        ConfigError,
        RegistryError,
        DiscoveryError,
        BaselineError,
        GitError,
        ReportError,
    ) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")
    except Exception as exc:  # an mldebt bug: say so, briefly, unless debugging
        if os.environ.get("MLDEBT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set MLDEBT_DEBUG=1 for a traceback)")


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class _Progress:
    """A progress bar on stderr, only when stderr is a terminal and the run is long."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 50:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Analysing", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)
        if done == total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _write(output: Path | None, text: str) -> None:
    """Print the report, or write it to ``output`` atomically (a reader never sees half)."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomically(output, text)
    except ReportError as exc:
        fail(str(exc))


def _selection_options(func: F) -> F:
    options = [
        config_file_option,
        click.option(
            "--select",
            multiple=True,
            help="Rule codes, code prefixes, names or categories to enable, replacing the "
            "configured selection (comma separated).",
        ),
        click.option(
            "--extend-select",
            multiple=True,
            help="Enable these on top of the configured selection.",
        ),
        click.option("--ignore", multiple=True, help="Rule codes, names or categories to disable."),
        click.option(
            "--exclude", multiple=True, help="Replace the exclude patterns (gitignore syntax)."
        ),
        click.option("--extend-exclude", multiple=True, help="Exclude these patterns too."),
        click.option("--preview/--no-preview", default=None, help="Enable rules still in preview."),
        click.option(
            "--respect-gitignore/--no-respect-gitignore",
            default=None,
            help="Skip files that .gitignore files ignore (default: on).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(paths: Sequence[Path], config_file: Path | None, **overrides: Any) -> Config:
    """The file's configuration with the command line's flags applied on top."""
    config = load_config(paths[0] if paths else Path("."), config_file)
    return apply_overrides(
        config,
        load_registry(),
        select=_split(overrides.get("select") or ()),
        extend_select=_split(overrides.get("extend_select") or ()),
        ignore=_split(overrides.get("ignore") or ()),
        exclude=_split(overrides.get("exclude") or ()),
        extend_exclude=_split(overrides.get("extend_exclude") or ()),
        preview=overrides.get("preview"),
        fail_on=overrides.get("fail_on"),
        respect_gitignore=overrides.get("respect_gitignore"),
    )


def run() -> NoReturn:
    """The ``mldebt`` command: :func:`main`, then a hard exit once the output is flushed.

    Tearing down the interpreter frees the millions of objects a run holds (facts, the graph)
    one by one and runs a last full collection: seconds on a large project, after the work
    is done. Everything mldebt writes is closed by then, so nothing is lost by skipping it.
    """
    gc.disable()  # for the whole process (main() would re-enable it when it is done)
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            click.echo(str(code), err=True)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    os._exit(0)  # pragma: no cover - click's standalone mode always raises SystemExit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mldebt")
def main() -> None:
    """mldebt finds the hidden technical debt of ML code in Python and Jupyter projects.

    \b
    Exit codes of `mldebt check`:
      0  no finding at or above the failing severity (--fail-on, default warning)
      1  findings that fail the gate
      2  usage, configuration or internal error
    """
    # A command builds millions of small objects (facts, findings, the graph) that live
    # until it ends and hold few cycles: the cyclic collector would only rescan them.
    if gc.isenabled():
        gc.disable()
        click.get_current_context().call_on_close(gc.enable)


def _gating_options(func: F) -> F:
    options = [
        click.option(
            "--baseline",
            "baseline_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Report only findings not in this baseline file, and what was fixed since "
            "(default: the configuration's baseline key; see `mldebt baseline`).",
        ),
        click.option(
            "--no-baseline",
            is_flag=True,
            help="Ignore the baseline the configuration names: report every finding.",
        ),
        click.option(
            "--update-baseline",
            is_flag=True,
            help="Remove the findings fixed since the baseline from it. It only ever shrinks: "
            "new findings are never added.",
        ),
        click.option(
            "--diff",
            "diff_ref",
            metavar="REF",
            help="Report only findings on lines changed since git REF (untracked files "
            "count as changed), plus cross-file findings that touch a changed file.",
        ),
        click.option(
            "--new-since",
            "new_since_ref",
            metavar="REF",
            help="Report only findings that are not among the findings at git REF "
            "(its tree is analysed from git objects, through the cache).",
        ),
        click.option(
            "--max-new-debt",
            type=click.FloatRange(min=0),
            metavar="MINUTES",
            help="Fail only when the failing findings' estimated debt exceeds MINUTES.",
        ),
        click.option(
            "--whole-project",
            "whole",
            is_flag=True,
            help="Analyse the whole project around PATHS (its configuration's root, else its "
            "git work tree) so cross-file rules see every module, and report only the "
            "findings in PATHS. The pre-commit hook uses it.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to FILE.",
)
@click.option(
    "--write",
    "also_write",
    multiple=True,
    metavar="FORMAT=FILE",
    callback=lambda ctx, param, values: _parse_writes(values),
    help="Also write the report in FORMAT to FILE, from the same analysis "
    "(e.g. --write sarif=mldebt.sarif); repeatable.",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Text format: start with the number of findings and the debt per rule.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default=None,
    help=f"Lowest severity that fails the run (default: {DEFAULT_FAIL_ON}, or the "
    "configuration's fail-on; never: findings never fail it).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings fail the gate.")
@jobs_option
@no_cache_option
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bar, and the text format prints the findings without the summary.",
)
@_gating_options
@_selection_options
def check(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    also_write: dict[str, Path],
    statistics: bool,
    fail_on: str | None,
    exit_zero: bool,
    jobs: int,
    no_cache: bool,
    quiet: bool,
    config_file: Path | None,
    baseline_file: Path | None,
    no_baseline: bool,
    update_baseline: bool,
    diff_ref: str | None,
    new_since_ref: str | None,
    max_new_debt: float | None,
    whole: bool,
    **overrides: Any,
) -> None:
    """Analyse PATHS (default: the current folder) and report the debt found.

    With a baseline (--baseline, or the configuration's baseline key), --new-since or
    --diff, only new debt is reported and gates the exit code.
    """
    with _handled():
        named = list(paths) or [Path(".")]
        config = _load(named, config_file, fail_on=fail_on, **overrides)
        analysed, named_rel = named, None
        if whole:
            config, analysed, named_rel = whole_project(named, config)
        baseline, where = _baseline(config, baseline_file, no_baseline, update_baseline)
        for option, ref in (("--diff", diff_ref), ("--new-since", new_since_ref)):
            if ref is not None:  # fail fast, before the analysis
                resolve_commit(work_tree(config.root, option), ref, option)
        progress = _Progress(enabled=not quiet)
        try:
            result = analyse(analysed, config, jobs=jobs, use_cache=not no_cache, progress=progress)
        finally:
            progress.close()
        if named_rel is not None:
            result = named_files(result, named_rel)
        notes: list[str] = []
        everything = result.findings  # comparisons see them all, whatever comes first
        if baseline is not None and where is not None:
            result = against_baseline(result, baseline, _display(where), named, everything)
            if update_baseline:
                _ratchet(baseline, result, where)
        if new_since_ref is not None:
            result = new_since(
                result,
                new_since_ref,
                analysed,
                named,
                jobs=jobs,
                use_cache=not no_cache,
                everything=everything,
            )
        if diff_ref is not None:
            result = changed_lines(result, diff_ref)
        fails, debt = gate(result, max_new_debt)
        if max_new_debt is not None and result.failing():
            verdict = "exceeds" if fails else "is within"
            notes.append(
                f"The failing findings' debt, {duration(debt)}, {verdict} --max-new-debt "
                f"{duration(max_new_debt)}."
            )
        color = (
            output is None
            and fmt == "text"
            and sys.stdout.isatty()
            and not os.environ.get("NO_COLOR")
        )
        if fmt == "text" and quiet:
            text = "".join(finding_line(f, color) + "\n" for f in result.findings)
        else:
            text = render(fmt, result, color)
        if statistics and fmt == "text":
            text = statistics_block(result) + text
        if fmt == "text" and not quiet:
            text += "".join(line + "\n" for line in [*gating_lines(result), *notes])
        if also_write:
            write_reports(result, also_write)
        _write(output, text)
    sys.exit(EXIT_CLEAN if exit_zero or not fails else EXIT_FINDINGS)


def _parse_writes(values: Sequence[str]) -> dict[str, Path]:
    """``--write FORMAT=FILE`` values as ``{format: path}``."""
    writes: dict[str, Path] = {}
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or not path:
            raise click.BadParameter(f"{value!r} is not FORMAT=FILE", param_hint="'--write'")
        if fmt not in FORMATS:
            choices = ", ".join(sorted(FORMATS))
            raise click.BadParameter(
                f"unknown format {fmt!r} (choose from {choices})", param_hint="'--write'"
            )
        if fmt in writes:
            raise click.BadParameter(f"{fmt} is given twice", param_hint="'--write'")
        writes[fmt] = Path(path)
    return writes


def _baseline(
    config: Config, option: Path | None, disabled: bool, update: bool
) -> tuple[Baseline | None, Path | None]:
    """The baseline this run compares with, if any (read before analysing: a broken file
    fails fast and is never overwritten)."""
    if disabled:
        if update or option is not None:
            fail("--no-baseline cannot be combined with --baseline or --update-baseline")
        return None, None
    if option is None and not config.baseline:
        if update:
            fail(
                "--update-baseline needs a baseline: pass --baseline FILE or set `baseline` "
                "in the configuration (create one with `mldebt baseline`)"
            )
        return None, None
    where = baseline_path(config, option)
    return Baseline.load(where), where


def _ratchet(baseline: Baseline, result: AnalysisResult, where: Path) -> None:
    """--update-baseline: drop what was fixed, never add."""
    assert result.comparison is not None
    shrunk = baseline.without_fixed(result.comparison)
    removed = baseline.total - shrunk.total
    if removed:
        shrunk.save(where)
        click.echo(
            f"mldebt: removed {removed} fixed finding{'s' if removed != 1 else ''} from "
            f"{where} ({shrunk.total} left)",
            err=True,
        )
    else:
        click.echo(f"mldebt: nothing fixed; {where} unchanged", err=True)


def gating_lines(result: AnalysisResult) -> list[str]:
    """The text report's account of a comparison or a diff filter."""
    lines: list[str] = []
    extra = result.summary.extra
    for key in ("baseline", "new_since"):
        data = extra.get(key)
        if not data:
            continue
        if key == "baseline":
            what, since = f"the baseline {data['reference']}", "the baseline"
        else:
            what, since = f"{data['reference']} ({data['commit'][:12]})", data["reference"]
        colon = ":" if data["fixed_findings"] else "."
        lines.append(
            f"Compared with {what}: {data['new']} new, {data['unchanged']} unchanged "
            f"(not reported), {data['fixed']} fixed since {since}{colon}"
        )
        for entry in data["fixed_findings"]:
            count = f" (x{entry['count']})" if entry["count"] > 1 else ""
            lines.append(f"  fixed: {entry['path']}: {entry['rule']} {entry['message']}{count}")
    diff = extra.get("diff")
    if diff:
        files = len(diff["changed_files"])
        lines.append(
            f"Only findings on lines changed since {diff['reference']} "
            f"({files} changed source file{'s' if files != 1 else ''})."
        )
    return lines


def statistics_block(result: AnalysisResult) -> str:
    table = statistics(result)
    return table + "\n\n" if table else ""


@main.command("baseline")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the baseline to FILE (default: the configuration's baseline key, else "
    ".mldebt-baseline.json beside the configuration).",
)
@jobs_option
@no_cache_option
@_selection_options
def baseline_command(
    path: Path | None,
    output: Path | None,
    jobs: int,
    no_cache: bool,
    config_file: Path | None,
    **overrides: Any,
) -> None:
    """Record every current finding in PATH (default: the current folder) as accepted debt.

    `mldebt check` then reports only findings that are not in the baseline (set `baseline`
    in the configuration, or pass --baseline). Findings are matched by fingerprint, which
    survives line shifts and unrelated edits.
    """
    with _handled():
        target = path or Path(".")
        config = _load([target], config_file, **overrides)
        where = baseline_path(config, output)
        if where.exists():
            try:
                Baseline.load(where)
            except BaselineError as exc:
                fail(f"{exc}; refusing to overwrite it (delete it to start afresh)")
        progress = _Progress(enabled=True)
        try:
            result = analyse([target], config, jobs=jobs, use_cache=not no_cache, progress=progress)
        finally:
            progress.close()
        recorded = Baseline.of(result.findings)
        recorded.save(where)
        n, shown = recorded.total, _display(where)
        click.echo(
            f"mldebt: recorded {n} finding{'s' if n != 1 else ''} in "
            f"{len(result.files)} files as the baseline: {shown}"
        )
        if output is None and not config.baseline:
            click.echo(
                f"Use it with `mldebt check --baseline {shown}`, or set "
                f'baseline = "{where.name}" under [tool.mldebt] in the configuration.'
            )


def _display(path: Path) -> str:
    """``path`` relative to the working folder when it is under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


@main.command("rules")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def rules_command(fmt: str) -> None:
    """List every installed rule: code, name, category, severity, status and tags."""
    with _handled():
        registry = load_registry()
        rows = [
            {
                "code": r.code,
                "name": r.name,
                "category": r.category,
                "severity": r.severity.value,
                "status": r.status,
                "tags": list(r.tags),
                "pack": registry.packs[r.code],
                "summary": r.summary,
            }
            for r in registry.sorted()
        ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        tags = ",".join(row["tags"])
        columns = (row["code"], 8), (row["name"], 28), (row["category"], 24), (row["severity"], 8)
        head = " ".join(f"{value:<{width}}" for value, width in columns)
        click.echo(f"{head} {row['status']:<8} {tags}")


@main.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Show a rule's documentation and examples (RULE is a code or a name)."""
    with _handled():
        registry = load_registry()
        found = (
            registry.lookup(rule) or registry.lookup(rule.upper()) or registry.lookup(rule.lower())
        )
        if found is None:
            fail(f"no rule {rule!r}; `mldebt rules` lists them")
        click.echo(render_docs(found, registry.packs[found.code]), nl=False)


@main.command("config")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@_selection_options
def config_command(path: Path | None, config_file: Path | None, **overrides: Any) -> None:
    """Print the effective configuration for PATH (default: the current folder)."""
    with _handled():
        config = _load([path or Path(".")], config_file, **overrides)
        enabled = resolve_rules(config, load_registry())
        data = config.to_dict()
        data["enabled-rules"] = [
            {
                "code": e.rule.code,
                "name": e.rule.name,
                "severity": e.severity.value,
                "options": dict(e.options),
            }
            for e in enabled
        ]
        click.echo(json.dumps(data, indent=2))


@main.command("clean")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def clean_command(path: Path | None) -> None:
    """Delete the cache (.mldebt_cache/ beside the configuration)."""
    with _handled():
        config = load_config(path or Path("."))
        folder = config.root / CACHE_DIR
        if clean(folder):
            click.echo(f"removed {folder}")
        else:
            click.echo(f"no mldebt cache at {folder}")


main.add_command(report_command)
main.add_command(graph_command)
