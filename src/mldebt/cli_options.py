"""Command-line options several commands share (check, baseline, report, graph): one
definition each, so their names, types and help read the same everywhere."""

from __future__ import annotations

from pathlib import Path

import click

jobs_option = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes (0: CPU count; 1: in-process).",
)
no_cache_option = click.option(
    "--no-cache", is_flag=True, help="Analyse every file afresh; do not read or write the cache."
)
config_file_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this pyproject.toml or mldebt.toml instead of searching for one.",
)
