"""The per-file result cache in ``.mldebt_cache/``, keyed by content, never by mtime.

Entries are JSON, never pickle: the cache folder sits in the analysed tree, and a repository
must not be able to plant code that runs when its cache is read. Writes are atomic (temporary
file + rename), so concurrent runs see a whole entry or none; an entry that is corrupt,
truncated or written for another key is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mldebt import __version__

CACHE_DIR = ".mldebt_cache"
_FORMAT = 1
_MARKER = "CACHEDIR.TAG"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# mldebt cache: safe to delete\n"


class Cache:
    def __init__(self, folder: Path, salt: str) -> None:
        self.folder = folder
        self.salt = f"{_FORMAT}:{__version__}:{salt}"
        self._ready = False

    def key(self, rel_path: str, data: bytes) -> str:
        digest = hashlib.sha256()
        digest.update(self.salt.encode())
        digest.update(b"\0")
        digest.update(rel_path.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.folder / f"v{_FORMAT}" / key[:2] / f"{key[2:]}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            with self._entry(key).open("rb") as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        value = entry.get("value")
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        target = self._entry(key)
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"key": key, "value": value}, handle, separators=(",", ":"))
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # a read-only checkout still gets its analysis, only slower next time

    def _prepare(self) -> None:
        if self._ready:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by mldebt\n*\n", encoding="utf-8")
        tag = self.folder / _MARKER
        if not tag.exists():
            tag.write_text(_TAG, encoding="utf-8")
        self._ready = True


def clean(folder: Path) -> bool:
    """Delete a cache folder, but only one that mldebt created. True when something went."""
    if not (folder / _MARKER).is_file():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True
