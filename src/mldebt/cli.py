"""The command line: click commands over the Python API. The only place that knows about
terminals and exit codes (0 clean, 1 findings that fail the gate, 2 usage or internal error)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from mldebt import __version__
from mldebt.api import AnalysisResult, analyse
from mldebt.cache import CACHE_DIR, clean
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
from mldebt.registry import RegistryError, load_registry
from mldebt.report import FORMATS, render
from mldebt.report.text import line as finding_line
from mldebt.report.text import statistics
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
    except (ConfigError, RegistryError, DiscoveryError) as exc:
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
    temp: str | None = None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, output)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        fail(f"cannot write {output}: {exc.strerror or exc}")


def _selection_options(func: F) -> F:
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Use this pyproject.toml or mldebt.toml instead of searching for one.",
        ),
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
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes (0: CPU count; 1: in-process).",
)
@click.option(
    "--no-cache", is_flag=True, help="Analyse every file afresh; do not read or write the cache."
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bar, and the text format prints the findings without the summary.",
)
@_selection_options
def check(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    statistics: bool,
    fail_on: str | None,
    exit_zero: bool,
    jobs: int,
    no_cache: bool,
    quiet: bool,
    config_file: Path | None,
    **overrides: Any,
) -> None:
    """Analyse PATHS (default: the current folder) and report the debt found."""
    with _handled():
        targets = list(paths) or [Path(".")]
        config = _load(targets, config_file, fail_on=fail_on, **overrides)
        progress = _Progress(enabled=not quiet)
        try:
            result = analyse(targets, config, jobs=jobs, use_cache=not no_cache, progress=progress)
        finally:
            progress.close()
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
        _write(output, text)
    sys.exit(_exit_code(result, exit_zero))


def statistics_block(result: AnalysisResult) -> str:
    table = statistics(result)
    return table + "\n\n" if table else ""


def _exit_code(result: AnalysisResult, exit_zero: bool) -> int:
    if exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if result.failing() else EXIT_CLEAN


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
