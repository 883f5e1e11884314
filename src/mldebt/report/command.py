"""``mldebt report``: analyse, then write the self-contained HTML debt report.

Defined here rather than in cli.py so the report can grow on its own; cli.py registers it
with ``main.add_command(report)``. ``python -m mldebt.report.command`` runs it alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from mldebt.api import AnalysisResult, analyse
from mldebt.baseline import Baseline, BaselineError
from mldebt.cli_options import config_file_option, jobs_option, no_cache_option
from mldebt.config import Config, ConfigError, apply_overrides, load_config
from mldebt.debt import DEFAULT_CHURN_DAYS
from mldebt.discovery import DiscoveryError
from mldebt.gating import against_baseline, baseline_path, new_since
from mldebt.gitdiff import GitError, resolve_commit, work_tree
from mldebt.registry import RegistryError, load_registry
from mldebt.report import ReportError, write_atomically
from mldebt.report.html import page
from mldebt.secrets import scrub

EXIT_ERROR = 2
DEFAULT_OUTPUT = "mldebt-report.html"


def _fail(message: str) -> NoReturn:
    click.echo(f"mldebt: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _config(targets: Sequence[Path], config_file: Path | None, overrides: dict[str, Any]) -> Config:
    config = load_config(targets[0], config_file)
    return apply_overrides(
        config,
        load_registry(),
        select=_split(overrides.get("select") or ()),
        extend_select=_split(overrides.get("extend_select") or ()),
        ignore=_split(overrides.get("ignore") or ()),
        exclude=_split(overrides.get("exclude") or ()),
        extend_exclude=_split(overrides.get("extend_exclude") or ()),
        preview=overrides.get("preview"),
        fail_on=None,
        respect_gitignore=overrides.get("respect_gitignore"),
    )


def _baseline(
    config: Config, option: Path | None, disabled: bool
) -> tuple[Baseline | None, Path | None]:
    """The baseline to compare with, as `mldebt check` picks it (read before analysing)."""
    if disabled:
        if option is not None:
            _fail("--no-baseline cannot be combined with --baseline")
        return None, None
    if option is None and not config.baseline:
        return None, None
    where = baseline_path(config, option)
    return Baseline.load(where), where


def _analysis(
    targets: list[Path],
    config: Config,
    *,
    baseline_file: Path | None,
    no_baseline: bool,
    new_since_ref: str | None,
    jobs: int,
    use_cache: bool,
) -> AnalysisResult:
    baseline, where = _baseline(config, baseline_file, no_baseline)
    if baseline is not None and new_since_ref is not None:
        _fail("--new-since cannot be combined with a baseline (pass --no-baseline)")
    if new_since_ref is not None:  # fail fast, before the analysis
        resolve_commit(work_tree(config.root, "--new-since"), new_since_ref, "--new-since")
    result = analyse(targets, config, jobs=jobs, use_cache=use_cache)
    if baseline is not None and where is not None:
        return against_baseline(result, baseline, str(where), targets)
    if new_since_ref is not None:
        return new_since(result, new_since_ref, targets, targets, jobs=jobs, use_cache=use_cache)
    return result


@click.command("report")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="Write the HTML report to FILE.",
)
@click.option("--title", help="The page's title (default: 'Debt report: <project folder>').")
@click.option(
    "--churn-days",
    type=click.IntRange(min=0),
    default=DEFAULT_CHURN_DAYS,
    show_default=True,
    help="Window for churn (commits per file, read from git) behind hotspots; 0 skips git.",
)
@jobs_option
@no_cache_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Mark findings new or unchanged against this baseline file and list what was fixed "
    "(default: the configuration's baseline key; see `mldebt baseline`).",
)
@click.option("--no-baseline", is_flag=True, help="Ignore the baseline the configuration names.")
@click.option(
    "--new-since",
    "new_since_ref",
    metavar="REF",
    help="Mark findings new or unchanged against the findings at git REF.",
)
@config_file_option
@click.option(
    "--select",
    multiple=True,
    help="Rule codes, code prefixes, names or categories to enable, replacing the "
    "configured selection (comma separated).",
)
@click.option("--extend-select", multiple=True, help="Enable these on top of the selection.")
@click.option("--ignore", multiple=True, help="Rule codes, names or categories to disable.")
@click.option("--exclude", multiple=True, help="Replace the exclude patterns (gitignore syntax).")
@click.option("--extend-exclude", multiple=True, help="Exclude these patterns too.")
@click.option("--preview/--no-preview", default=None, help="Enable rules still in preview.")
@click.option(
    "--respect-gitignore/--no-respect-gitignore",
    default=None,
    help="Skip files that .gitignore files ignore (default: on).",
)
def report(
    paths: tuple[Path, ...],
    output: Path,
    title: str | None,
    churn_days: int,
    jobs: int,
    no_cache: bool,
    quiet: bool,
    baseline_file: Path | None,
    no_baseline: bool,
    new_since_ref: str | None,
    config_file: Path | None,
    **overrides: Any,
) -> None:
    """Analyse PATHS (default: the current folder) and write an HTML debt report.

    The report is one file that works offline: overview, charts, the project graph, files and
    folders by debt, hotspots (debt x git churn) and every finding with its code and its rule's
    documentation; with a baseline or --new-since, each finding is marked new or unchanged.
    Exits 0 once it is written (2 on errors): `mldebt check` is the gate.
    """
    targets = list(paths) or [Path(".")]
    try:
        config = _config(targets, config_file, overrides)
        result = _analysis(
            targets,
            config,
            baseline_file=baseline_file,
            no_baseline=no_baseline,
            new_since_ref=new_since_ref,
            jobs=jobs,
            use_cache=not no_cache,
        )
        html = scrub(page(result, title=title, churn_days=churn_days or None))
        write_atomically(output, html)
    except (
        ConfigError,
        RegistryError,
        DiscoveryError,
        BaselineError,
        GitError,
        ReportError,
    ) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # an mldebt bug: say so, briefly, unless debugging
        if os.environ.get("MLDEBT_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set MLDEBT_DEBUG=1 for a traceback)")
    if not quiet:
        shown = result.comparison
        counted = (
            f"{len(shown.new)} new and {len(shown.unchanged)} unchanged findings"
            if shown is not None
            else f"{result.summary.findings} findings"
        )
        click.echo(
            f"Wrote {output} ({len(html.encode('utf-8')) / 1_000_000:.1f} MB): "
            f"{counted} in {result.summary.files} files."
        )


if __name__ == "__main__":
    report(prog_name="mldebt report")
