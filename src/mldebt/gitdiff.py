"""Git plumbing for new-code gating: what changed since a ref, and a ref's tree on disk.

Only git's porcelain-independent commands are used, with every option that user
configuration could change set explicitly (prefixes, colour, external diff tools, textconv,
quoting), so a developer's ``~/.gitconfig`` cannot change what mldebt sees. Nothing here runs
the analysed code.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Options that make ``git diff`` output independent of user configuration.
_DIFF = (
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "-M",
)
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """Git is missing, the path is not in a work tree, or a ref does not exist (exit 2)."""


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotePath=false", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def work_tree(path: Path, option: str) -> Path:
    """The top folder of the git work tree holding ``path``; ``option`` names who needs it."""
    folder = path.resolve()
    if not folder.is_dir():
        folder = folder.parent
    try:
        out = git(folder, "rev-parse", "--show-toplevel")
    except GitError:
        raise GitError(f"{option} needs a git work tree, and {path} is not inside one") from None
    top = out.decode("utf-8", "surrogateescape").strip()
    if not top:
        raise GitError(f"{option} needs a git work tree, and {path} is not inside one")
    return Path(top).resolve()


def resolve_commit(top: Path, ref: str, option: str) -> str:
    """The commit ``ref`` names, as a full hash."""
    if not ref or ref.startswith("-"):
        raise GitError(f"{option}: {ref!r} is not a git revision")
    try:
        out = git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(
            f"{option}: unknown git revision {ref!r} (in a shallow CI checkout, fetch it first, "
            "e.g. actions/checkout with fetch-depth: 0)"
        ) from None
    return out.decode().strip()


# what changed --------------------------------------------------------------------------------


@dataclass
class FileChange:
    """How one file differs from the ref.

    ``lines`` are the changed lines of the current file (None: all of it, e.g. a new or
    untracked file); ``cells`` the 1-based notebook cells whose type or source changed (None:
    all, or not a notebook).
    """

    lines: set[int] | None = None
    cells: set[int] | None = None
    old_path: str | None = None

    def covers(self, line: int, end_line: int, cell: int | None) -> bool:
        if self.cells is not None:
            return cell is None or cell in self.cells
        if self.lines is None:
            return True
        return any(n in self.lines for n in range(line, max(end_line, line) + 1))


@dataclass
class Changes:
    """Every file of the work tree that differs from a commit, by path relative to ``top``."""

    top: Path
    commit: str
    files: dict[str, FileChange] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)  # old path -> new path

    def get(self, path: Path) -> FileChange | None:
        try:
            rel = path.resolve().relative_to(self.top).as_posix()
        except ValueError:
            return None
        return self.files.get(rel)


def changes_since(top: Path, commit: str) -> Changes:
    """Changed lines of tracked files (work tree against ``commit``), untracked files whole,
    and notebooks narrowed to the cells whose source changed."""
    changes = Changes(top, commit)
    parse_diff(git(top, *_DIFF, "--unified=0", commit, "--"), changes)
    untracked = git(top, "ls-files", "--others", "--exclude-standard", "-z")
    for raw in untracked.split(b"\0"):
        if raw:
            changes.files[raw.decode("utf-8", "surrogateescape")] = FileChange()
    for path, change in changes.files.items():
        if path.endswith(".ipynb") and change.old_path is not None:
            change.cells = _changed_cells(top, commit, change.old_path, top / path)
    return changes


def parse_diff(patch: bytes, changes: Changes) -> None:
    """Fill ``changes`` from ``git diff --unified=0`` output."""
    current: FileChange | None = None
    old: str | None = None
    rename_from: str | None = None
    for raw in patch.split(b"\n"):
        if raw.startswith(b"diff --git "):
            current, old, rename_from = None, None, None
        elif raw.startswith(b"rename from "):
            rename_from = _unquote(raw[len(b"rename from ") :])
        elif raw.startswith(b"rename to ") and rename_from is not None:
            new = _unquote(raw[len(b"rename to ") :])
            changes.renames[rename_from] = new
            # a pure rename has no hunks: nothing in the file changed
        elif raw.startswith(b"--- "):
            name = raw[4:]
            old = None if name == b"/dev/null" else _strip_prefix(_unquote(name), "a/")
        elif raw.startswith(b"+++ "):
            name = raw[4:]
            if name == b"/dev/null":  # deleted: no current lines to report on
                current = None
                continue
            path = _strip_prefix(_unquote(name), "b/")
            whole = old is None
            current = changes.files.setdefault(
                path, FileChange(lines=None if whole else set(), old_path=old)
            )
        elif raw.startswith(b"Binary files ") and raw.endswith(b" differ"):
            continue  # neither .py nor .ipynb is binary to git
        elif current is not None and current.lines is not None and raw.startswith(b"@@"):
            match = _HUNK.match(raw)
            if match is None:
                continue
            start = int(match.group(1))
            count = int(match.group(2)) if match.group(2) is not None else 1
            if count == 0:
                # A pure deletion: the lines on either side of the gap count as changed.
                current.lines.update(n for n in (start, start + 1) if n > 0)
            else:
                current.lines.update(range(start, start + count))


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


_ESCAPES = {
    ord("n"): b"\n",
    ord("t"): b"\t",
    ord('"'): b'"',
    ord("\\"): b"\\",
    ord("a"): b"\a",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("r"): b"\r",
    ord("v"): b"\v",
}


def _unquote(raw: bytes) -> str:
    """A path as git prints it: C-quoted (with octal escapes) when it has odd characters."""
    raw = raw.rstrip(b"\r")
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw.decode("utf-8", "surrogateescape")
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        byte = body[i]
        if byte == ord("\\") and i + 1 < len(body):
            nxt = body[i + 1]
            if ord("0") <= nxt <= ord("7"):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, bytes([nxt]))
            i += 2
            continue
        out.append(byte)
        i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def notebook_cells(text: str) -> list[tuple[str, str]] | None:
    """(type, source) of every cell of a notebook's JSON, or None when it is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return None
    result = []
    for cell in cells:
        if not isinstance(cell, dict):
            return None
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        result.append((str(cell.get("cell_type", "")), source if isinstance(source, str) else ""))
    return result


def changed_cells(old: str, new: str) -> set[int] | None:
    """1-based indices of the new notebook's cells whose type or source is not in the old one
    (cells moved as a block keep their identity). None when either side is not a notebook."""
    before, after = notebook_cells(old), notebook_cells(new)
    if before is None or after is None:
        return None
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    changed: set[int] = set()
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed.update(range(j1 + 1, j2 + 1))
    return changed


def _changed_cells(top: Path, commit: str, old_path: str, current: Path) -> set[int] | None:
    try:
        old = git(top, "show", f"{commit}:{old_path}").decode("utf-8", "replace")
        new = current.read_text(encoding="utf-8", errors="replace")
    except (GitError, OSError):
        return None
    return changed_cells(old, new)


# a ref's tree on disk ------------------------------------------------------------------------


def renames_since(top: Path, commit: str) -> dict[str, str]:
    """Files renamed between ``commit`` and the work tree: old path -> new path."""
    out = git(top, *_DIFF, "--name-status", "-z", commit, "--")
    parts = out.split(b"\0")
    renames: dict[str, str] = {}
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i].decode()
        if status.startswith(("R", "C")) and i + 2 < len(parts):
            if status.startswith("R"):
                old = parts[i + 1].decode("utf-8", "surrogateescape")
                renames[old] = parts[i + 2].decode("utf-8", "surrogateescape")
            i += 3
        else:
            i += 2
    return renames


def materialise(
    top: Path,
    commit: str,
    dest: Path,
    keep: Callable[[str], bool],
    renames: dict[str, str] | None = None,
) -> int:
    """Write the blobs of ``commit`` whose path ``keep`` accepts under ``dest``, straight from
    git's objects (no checkout, no worktree, no attributes applied). A file renamed since is
    written at its new path, so its findings keep their fingerprints. Returns the file count.
    """
    listing = git(top, "ls-tree", "-r", "-z", "--full-tree", commit)
    wanted: list[tuple[str, str]] = []
    present: set[str] = set()
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split(" ")
        path = raw_path.decode("utf-8", "surrogateescape")
        present.add(path)
        if kind == "blob" and mode in ("100644", "100755") and keep(path):
            wanted.append((sha, path))
    renames = renames or {}
    written = 0
    for (_, path), data in zip(wanted, _blobs(top, [sha for sha, _ in wanted]), strict=True):
        target = renames.get(path, path)
        if target != path and target in present:
            target = path  # the new name already existed at the ref: keep the old one
        out = dest / target
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        written += 1
    return written


def _blobs(top: Path, shas: Iterable[str]) -> list[bytes]:
    """Contents of many blobs in one ``git cat-file --batch``."""
    shas = list(shas)
    if not shas:
        return []
    out = git(top, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in shas).encode())
    blobs: list[bytes] = []
    position = 0
    for _ in shas:
        newline = out.index(b"\n", position)
        header = out[position:newline].split(b" ")
        if len(header) != 3:
            raise GitError(f"git cat-file: unexpected answer {out[position:newline]!r}")
        size = int(header[2])
        start = newline + 1
        blobs.append(out[start : start + size])
        position = start + size + 1
    return blobs
