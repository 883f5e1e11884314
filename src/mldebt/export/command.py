"""``mldebt graph``: analyse a project and export its graph.

Defined here rather than in cli.py; cli.py registers it with ``main.add_command(graph)``.
``python -m mldebt.export.command`` runs it alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from mldebt.api import analyse
from mldebt.cli_options import config_file_option, jobs_option, no_cache_option
from mldebt.config import ConfigError, load_config
from mldebt.discovery import DiscoveryError
from mldebt.export.graph_export import FORMATS, VIEWS, export, mermaid_too_big
from mldebt.registry import RegistryError
from mldebt.report import ReportError, write_atomically
from mldebt.secrets import scrub

EXIT_ERROR = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"mldebt: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.command("graph")
@click.argument("path", required=False, type=click.Path(path_type=Path), default=Path("."))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="json (networkx node-link), graphml (Gephi, yEd), dot (Graphviz) or mermaid "
    "(a flowchart GitHub renders).",
)
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="full",
    show_default=True,
    help="full: every module, definition, artifact, model and signal; pipeline: the scripts "
    "and the files they hand on; models: models with their data, predictions and features.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to FILE instead of standard output.",
)
@jobs_option
@no_cache_option
@config_file_option
def graph(
    path: Path,
    fmt: str,
    view: str,
    output: Path | None,
    jobs: int,
    no_cache: bool,
    config_file: Path | None,
) -> None:
    """Analyse PATH (default: the current folder) and export its project graph.

    Nodes are modules, definitions, artifacts (files and tables read or written), models and
    signals (columns and feature lists); edges are imports, calls, reads, writes, trains-on,
    predicts-to and the flows between artifacts. Exits 0 once written, 2 on errors.
    """
    if not path.exists():
        _fail(f"{path}: no such file or folder")
    try:
        config = load_config(path, config_file)
        result = analyse([path], config, jobs=jobs, use_cache=not no_cache)
        if result.graph is None:  # pragma: no cover - the engine always builds one
            _fail("no project graph was built")
        text = scrub(export(result.graph, fmt, view))  # artifacts named by URLs with passwords
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomically(output, text)
    except (ConfigError, RegistryError, DiscoveryError, ReportError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or output}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # an mldebt bug: say so, briefly, unless debugging
        if os.environ.get("MLDEBT_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set MLDEBT_DEBUG=1 for a traceback)")
    if fmt == "mermaid" and mermaid_too_big(text):
        click.echo(
            "mldebt: warning: this diagram is larger than GitHub renders (500 edges, 50,000 "
            "characters); try --view pipeline or --view models",
            err=True,
        )


if __name__ == "__main__":
    graph(prog_name="mldebt graph")
