"""Values of string literals, read safely.

libcst parses string literals Python itself refuses (an old script's ``"C:\\Users"`` is a
truncated ``\\U`` escape); asking such a node for its ``evaluated_value`` raises. Every place
that reads a literal's value goes through here, so one odd string costs nothing but itself.
"""

from __future__ import annotations

import libcst as cst


def string_value(node: cst.CSTNode | None) -> str | None:
    """The text of a plain (non-f) string literal, or None: not a str literal or refused."""
    if not isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return None
    try:
        value = node.evaluated_value
    except (SyntaxError, ValueError, UnicodeError):
        return None
    return value if isinstance(value, str) else None
