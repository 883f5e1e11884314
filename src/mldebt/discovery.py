"""Which files to analyse: .py and .ipynb under the given paths, minus what is excluded.

Excludes are gitignore-style patterns relative to the root; virtualenvs (any folder with a
``pyvenv.cfg``), build and cache folders are skipped by default, and ``.gitignore`` files are
honoured inside a git work tree. Files named explicitly are always analysed, and so is a folder
named explicitly even when a pattern excludes it (the patterns still apply inside it).

Symbolic links to folders are not followed, so a link loop cannot trap the walk. A source file
that cannot be read (a broken link, a special file, a folder that cannot be listed) is still
listed: reading it fails with a message that becomes a finding, so nothing is skipped silently.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pathspec

SOURCE_SUFFIXES = (".py", ".ipynb")
#: Settings files read by the configuration facts (never analysed as source).
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
#: The project's language mix (the report's summary) counts files by these extensions.
LANGUAGES: dict[str, str] = {
    ".py": "Python",
    ".ipynb": "Jupyter notebook",
    ".pyx": "Cython",
    ".r": "R",
    ".rmd": "R Markdown",
    ".sql": "SQL",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".jl": "Julia",
    ".scala": "Scala",
    ".java": "Java",
    ".kt": "Kotlin",
    ".js": "JavaScript",
    ".ts": "TypeScript",
    ".c": "C",
    ".h": "C/C++",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hpp": "C++",
    ".cu": "CUDA",
    ".go": "Go",
    ".rs": "Rust",
    ".rb": "Ruby",
    ".pl": "Perl",
    ".lua": "Lua",
    ".m": "MATLAB",
    ".swift": "Swift",
    ".cs": "C#",
    ".ps1": "PowerShell",
}


def language_of(name: str) -> str | None:
    """The language a file name's extension says (``fit.R`` -> ``R``), or None."""
    dot = name.rfind(".")
    return LANGUAGES.get(name[dot:].lower()) if dot > 0 else None


class DiscoveryError(Exception):
    """A path given on the command line that cannot be analysed (missing, a broken link)."""


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX, relative to the root (or as given when outside it)
    #: Why this entry cannot be read, when discovery already knows (a folder it could not list).
    problem: str | None = None

    @property
    def notebook(self) -> bool:
        return self.rel.endswith(".ipynb")

    def read(self) -> bytes:
        """The file's bytes. Raises ``OSError`` whose ``strerror`` says why in plain words."""
        if self.problem is not None:
            raise OSError(errno.EIO, self.problem)
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            if self.path.is_symlink():
                target = os.readlink(self.path)
                raise OSError(errno.ENOENT, f"broken symbolic link to {target}") from None
            raise
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(mode):  # a FIFO would block the read forever
            raise OSError(errno.EINVAL, "not a regular file")
        return self.path.read_bytes()


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


class _GitIgnores:
    """The ignore files that apply inside one git work tree, read lazily per folder.

    As in git, the deepest ``.gitignore`` with a matching pattern decides (so a nested
    ``!keep.py`` re-includes what a parent ignores), then ``.git/info/exclude``.
    """

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

    def ignored(self, path: Path, is_dir: bool, floor: Path | None = None) -> bool:
        """Is ``path`` ignored? ``floor``: consult no ``.gitignore`` above this folder."""
        suffix = "/" if is_dir else ""
        folder = path.parent
        while True:
            spec = self.spec(folder)
            if spec is not None:
                verdict = spec.check_file(path.relative_to(folder).as_posix() + suffix).include
                if verdict is not None:
                    return verdict
            if folder == self.top or folder == floor or folder.parent == folder:
                break
            folder = folder.parent
        if self.info is not None and floor is None:
            return self.info.match_file(path.relative_to(self.top).as_posix() + suffix)
        return False


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


@dataclass
class _Filter:
    """Decides which entries a walk from one given folder skips."""

    root: Path
    excluded: pathspec.PathSpec[Any]
    git: _GitIgnores | None
    #: Set when the given folder is itself excluded: patterns then apply relative to it.
    base: Path | None = None

    def skip(self, path: Path, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        anchor = self.base or self.root
        if _inside(path, anchor):
            if self.excluded.match_file(path.relative_to(anchor).as_posix() + suffix):
                return True
        elif self.excluded.match_file(path.name + suffix):  # outside the root: names only
            return True
        if self.git is None or not _inside(path, self.git.top):
            return False
        floor = self.base if self.base is not None and _inside(self.base, self.git.top) else None
        return self.git.ignored(path, is_dir, floor)


def discover(
    paths: Iterable[Path],
    root: Path,
    exclude: Iterable[str],
    respect_gitignore: bool = True,
    suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
    languages: Counter[str] | None = None,
) -> Iterator[SourceFile]:
    """Yield each source file once: the given paths in order, each folder's files sorted.

    ``suffixes``: which files a folder's walk yields (files named explicitly always are).
    ``languages``, when given, counts every file the walk keeps (yielded or not) by the
    language of its extension: the project's language mix, from names only.
    """
    excluded = pathspec.GitIgnoreSpec.from_lines(list(exclude))
    seen: set[Path] = set()
    for given in paths:
        _check_given(given)
        if given.is_file() or not given.is_dir():
            # Named explicitly: analysed whatever the excludes say; a link keeps its own name.
            absolute = given.absolute().parent.resolve() / given.name
            if absolute not in seen:
                seen.add(absolute)
                if languages is not None:
                    _count_language(languages, given.name)
                yield SourceFile(absolute, relative(absolute, root))
            continue
        absolute = given.resolve()
        top = _git_top(absolute) if respect_gitignore else None
        walk_filter = _Filter(root, excluded, _GitIgnores(top) if top else None)
        if _excluded_itself(absolute, walk_filter):
            walk_filter.base = absolute
        for found in _walk(absolute, root, walk_filter, suffixes, languages):
            if found.path not in seen:
                seen.add(found.path)
                yield found


def _check_given(given: Path) -> None:
    try:
        os.stat(given)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DiscoveryError(f"{given}: symbolic link loop") from None
        if given.is_symlink():
            raise DiscoveryError(f"{given}: broken symbolic link to {os.readlink(given)}") from None
        if exc.errno == errno.ENOENT:
            raise DiscoveryError(f"{given}: no such file or directory") from None
        raise DiscoveryError(f"{given}: {exc.strerror or exc}") from None


def _excluded_itself(folder: Path, walk_filter: _Filter) -> bool:
    """Is the folder, or one of its parents below the root, skipped by the patterns?"""
    for current in (folder, *folder.parents):
        if current == walk_filter.root or not _inside(current, walk_filter.root):
            break
        if walk_filter.skip(current, is_dir=True):
            return True
    return False


def _count_language(languages: Counter[str], name: str) -> None:
    language = language_of(name)
    if language is not None:
        languages[language] += 1


def _walk(
    top: Path,
    root: Path,
    walk_filter: _Filter,
    suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
    languages: Counter[str] | None = None,
) -> Iterator[SourceFile]:
    unlistable: list[OSError] = []
    for folder, dirs, files in os.walk(top, onerror=unlistable.append, followlinks=False):
        for error in unlistable:  # reported where the walk meets it, in order
            where = Path(error.filename) if error.filename else Path(folder)
            reason = f"cannot list this folder: {error.strerror or error}"
            yield SourceFile(where, relative(where, root), problem=reason)
        unlistable.clear()
        here = Path(folder)
        kept = []
        for name in sorted(dirs):
            path = here / name
            if walk_filter.skip(path, is_dir=True) or (path / "pyvenv.cfg").exists():
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            wanted = name.endswith(suffixes)
            if not wanted and (languages is None or language_of(name) is None):
                continue
            path = here / name
            if not walk_filter.skip(path, is_dir=False):
                if languages is not None:
                    _count_language(languages, name)
                if wanted:
                    yield SourceFile(path, relative(path, root))
    for error in unlistable:
        where = Path(error.filename) if error.filename else top
        reason = f"cannot list this folder: {error.strerror or error}"
        yield SourceFile(where, relative(where, root), problem=reason)


def _inside(path: Path, top: Path) -> bool:
    try:
        path.relative_to(top)
    except ValueError:
        return False
    return True
