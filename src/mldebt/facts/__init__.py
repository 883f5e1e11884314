"""Per-module facts: plain, serialisable data extracted in the shared traversal and cached."""

from mldebt.facts.model import Call, Definition, Import, ModuleFacts

__all__ = ["Call", "Definition", "Import", "ModuleFacts"]
