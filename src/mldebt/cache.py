"""The per-file result cache in ``.mldebt_cache/``, keyed by content, never by mtime.

A key is the SHA-256 of the file's path and bytes, the cache format, the mldebt version and
code, and the salt the engine passes in (the enabled file rules, their options and the code of
their packs). CI checkouts reset mtimes, so nothing else is trusted.

Entries are JSON, never pickle: the cache folder sits in the analysed tree, and a repository
must not be able to plant code that runs when its cache is read. Writes are atomic (temporary
file + rename), so concurrent runs see a whole entry or none; an entry that is corrupt,
truncated or written for another key is ignored and rebuilt. A cache folder that cannot be
written (a read-only checkout) only makes the next run slower.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from mldebt import __version__

CACHE_DIR = ".mldebt_cache"
_FORMAT = 2
_MARKER = "CACHEDIR.TAG"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# mldebt cache: safe to delete\n"
_GITIGNORE = "# created by mldebt\n*\n"


@cache
def code_fingerprint() -> str:
    """A digest of mldebt's own source: a changed analysis invalidates what it cached,
    even in a development install whose version number stays put."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()[:16]


class Cache:
    """Entries under ``folder``; ``salt`` says what else the outcome depends on."""

    def __init__(self, folder: Path, salt: str) -> None:
        self.folder = folder
        self.salt = f"{_FORMAT}:{__version__}:{code_fingerprint()}:{salt}"
        self._ready = False

    def key(self, rel_path: str, data: bytes) -> str:
        digest = hashlib.sha256()
        digest.update(self.salt.encode())
        digest.update(b"\0")
        digest.update(rel_path.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives (it may not exist)."""
        return self.folder / f"v{_FORMAT}" / key[:2] / f"{key[2:]}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The value stored for ``key``, or None when there is none or it is unusable."""
        try:
            with open(self.path(key), "rb") as handle:
                entry = json.loads(handle.read())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        value = entry.get("value")
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (JSON-ready) for ``key``; silently does nothing when it cannot."""
        try:
            self._prepare()
            # dumps, not dump: only the one-shot encoder is the C one.
            text = json.dumps({"key": key, "value": value}, separators=(",", ":"))
            _write_atomically(self.path(key), text)
        except (OSError, ValueError, TypeError, RecursionError):
            pass  # a read-only checkout still gets its analysis, only slower next time

    def _prepare(self) -> None:
        if self._ready:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", _GITIGNORE), (_MARKER, _TAG)):
            if not (self.folder / name).exists():
                _write_atomically(self.folder / name, text)
        self._ready = True


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def clean(folder: Path) -> bool:
    """Delete a cache folder, but only one that mldebt created. True when something went."""
    if not (folder / _MARKER).is_file():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True
