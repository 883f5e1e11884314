"""Which files to analyse: .py and .ipynb under the given paths, minus what is excluded.

Excludes are gitignore-style patterns relative to the root; virtualenvs (any folder with a
``pyvenv.cfg``), build and cache folders are skipped by default, and ``.gitignore`` files are
honoured inside a git work tree. Files named explicitly are always analysed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pathspec

SOURCE_SUFFIXES = (".py", ".ipynb")


class DiscoveryError(Exception):
    """A path given on the command line that does not exist."""


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX, relative to the root (or as given when outside it)

    @property
    def notebook(self) -> bool:
        return self.rel.endswith(".ipynb")


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


class _GitIgnores:
    """The .gitignore files that apply inside one git work tree, read lazily per folder."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.specs: dict[Path, pathspec.PathSpec[Any] | None] = {}
        exclude = top / ".git" / "info" / "exclude"
        self.info = _read_spec(exclude) if exclude.is_file() else None

    def spec(self, folder: Path) -> pathspec.PathSpec[Any] | None:
        if folder not in self.specs:
            ignore = folder / ".gitignore"
            self.specs[folder] = _read_spec(ignore) if ignore.is_file() else None
        return self.specs[folder]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        rel = path.relative_to(self.top).as_posix() + ("/" if is_dir else "")
        if self.info is not None and self.info.match_file(rel):
            return True
        folder = path.parent
        while True:
            spec = self.spec(folder)
            if spec is not None:
                sub = path.relative_to(folder).as_posix() + ("/" if is_dir else "")
                if spec.match_file(sub):
                    return True
            if folder == self.top or folder.parent == folder:
                return False
            folder = folder.parent


def _read_spec(path: Path) -> pathspec.PathSpec[Any] | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _git_top(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def discover(
    paths: Iterable[Path],
    root: Path,
    exclude: Iterable[str],
    respect_gitignore: bool = True,
) -> Iterator[SourceFile]:
    """Yield each source file once, in a stable order."""
    excluded = pathspec.GitIgnoreSpec.from_lines(list(exclude))
    seen: set[Path] = set()
    for given in paths:
        if not given.exists():
            raise DiscoveryError(f"{given}: no such file or directory")
        absolute = given.resolve()
        if absolute.is_file():
            if absolute not in seen:
                seen.add(absolute)
                yield SourceFile(absolute, relative(absolute, root))
            continue
        git = _GitIgnores(top) if respect_gitignore and (top := _git_top(absolute)) else None
        for found in _walk(absolute, root, excluded, git):
            if found not in seen:
                seen.add(found)
                yield SourceFile(found, relative(found, root))


def _walk(
    top: Path, root: Path, excluded: pathspec.PathSpec[Any], git: _GitIgnores | None
) -> Iterator[Path]:
    for folder, dirs, files in os.walk(top, onerror=None, followlinks=False):
        here = Path(folder)
        kept = []
        for name in sorted(dirs):
            path = here / name
            if _skip(path, root, excluded, git, is_dir=True) or (path / "pyvenv.cfg").exists():
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = here / name
            if not path.is_file():  # broken symlinks, sockets, ...
                continue
            if not _skip(path, root, excluded, git, is_dir=False):
                yield path


def _skip(
    path: Path, root: Path, excluded: pathspec.PathSpec[Any], git: _GitIgnores | None, is_dir: bool
) -> bool:
    rel = relative(path, root) + ("/" if is_dir else "")
    if excluded.match_file(rel) or excluded.match_file(path.name + ("/" if is_dir else "")):
        return True
    return git is not None and _inside(path, git.top) and git.ignored(path, is_dir)


def _inside(path: Path, top: Path) -> bool:
    try:
        path.relative_to(top)
    except ValueError:
        return False
    return True
