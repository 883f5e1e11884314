"""Paths as a CI service expects them: relative to its checkout, not to the analysed root.

Finding paths are relative to the analysed root (the folder of the configuration file, or the
analysed folder). A CI service places annotations by paths relative to its checkout, so when
mldebt analyses a sub-project (``mldebt check ml/`` in a monorepo) the CI formats prefix the
root's place inside the checkout. The checkout is read from the service's variable
(``GITHUB_WORKSPACE``, ``CI_PROJECT_DIR``); without it, or when the root is outside it, paths
stay relative to the analysed root, so output outside CI does not depend on where it runs.
"""

from __future__ import annotations

import os
from pathlib import Path

GITHUB_WORKSPACE = "GITHUB_WORKSPACE"
GITLAB_PROJECT_DIR = "CI_PROJECT_DIR"


def base(root: Path, variable: str) -> tuple[Path, str]:
    """The folder paths are made relative to, and the analysed root's prefix inside it.

    The prefix is ``""`` or a POSIX folder path ending in ``/``.
    """
    analysed = root.resolve()
    workspace = os.environ.get(variable)
    if not workspace:
        return analysed, ""
    checkout = Path(workspace).resolve()
    try:
        inside = analysed.relative_to(checkout).as_posix()
    except ValueError:
        return analysed, ""
    return checkout, "" if inside == "." else inside + "/"
