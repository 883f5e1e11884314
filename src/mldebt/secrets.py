"""Secrets in analysed code: what they look like, and how to show them without showing them.

A report must never carry a credential it found: messages show a masked form (``mask``),
rules mark the source spans that hold one (``Finding.redact``), and every reporter that quotes
source or free text passes it through ``scrub``, which masks well-known token shapes and URL
passwords even where no rule flagged them (a rule switched off, a finding suppressed).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mldebt.findings import Location


@dataclass(frozen=True)
class TokenShape:
    """A credential format with a recognisable prefix."""

    kind: str
    pattern: re.Pattern[str]
    #: Characters of the match that name the format and may be shown (``hf_``, ``AKIA``).
    prefix: int
    #: Random mixed-case letters and digits (every format here but AWS key ids and Slack's).
    mixed_case: bool = True


TOKEN_SHAPES: tuple[TokenShape, ...] = (
    TokenShape("Hugging Face token", re.compile(r"(?<![\w-])hf_[A-Za-z0-9]{30,}(?![\w-])"), 3),
    TokenShape(
        "OpenAI / Anthropic API key",
        re.compile(r"(?<![\w-])sk-(?:proj-|ant-[a-z0-9]+-)?[A-Za-z0-9_\-]{20,}(?![\w-])"),
        3,
    ),
    TokenShape(
        "AWS access key id", re.compile(r"(?<![\w-])(?:AKIA|ASIA)[0-9A-Z]{16}(?![\w-])"), 4, False
    ),
    TokenShape(
        "GitHub token",
        re.compile(r"(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
        4,
    ),
    TokenShape("GitLab token", re.compile(r"(?<![\w-])glpat-[A-Za-z0-9_\-]{20,}(?![\w-])"), 6),
    TokenShape(
        "Slack token", re.compile(r"(?<![\w-])xox[abposr]-[A-Za-z0-9\-]{10,}(?![\w-])"), 5, False
    ),
    TokenShape("Google API key", re.compile(r"(?<![\w-])AIza[0-9A-Za-z_\-]{35}(?![\w-])"), 4),
    TokenShape(
        "Weights & Biases key", re.compile(r"(?<![\w-])(?:wandb_v1_)[A-Za-z0-9_]{20,}(?![\w-])"), 9
    ),
)

#: Every format's prefix: one search rules out most text before the formats are tried.
_ANY_PREFIX = re.compile(r"hf_|sk-|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox|AIza|wandb_v1_")

#: ``scheme://user:password@host``: group 1 is the password.
URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@'\"]+:([^/\s@'\"]+)@[^\s'\"]")

#: Values that stand for a secret without being one.
PLACEHOLDER_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "changeme",
        "change_me",
        "changeit",
        "example",
        "dummy",
        "test",
        "testing",
        "fake",
        "none",
        "null",
        "todo",
        "tbd",
        "redacted",
        "placeholder",
        "mypassword",
        "yourpassword",
        "your_password",
        "my_password",
        "your_token",
        "your_api_key",
        "api_key",
        "apikey",
        "key",
        "foo",
        "bar",
        "foobar",
        "admin",
        "root",
        "user",
        "username",
        "guest",
        "default",
    }
)
_PLACEHOLDER_MARKS = re.compile(
    r"^[\s*x.\-_#?]*$|[<>{}$%]|\b(?:your|my|enter|insert|replace|here|example|dummy|fake|"
    r"placeholder|xxx+|todo|sample|test)\b|xxxx|\*\*\*|\.\.\.",
    re.IGNORECASE,
)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(value: str) -> bool:
    """A value that only stands for a secret: empty, ``changeme``, ``<your key>``, ``xxxx``,
    ``${TOKEN}``, ``%(password)s``, a run of one character."""
    stripped = value.strip()
    if len(stripped) < 4 or stripped.lower() in PLACEHOLDER_WORDS:
        return True
    if _PLACEHOLDER_MARKS.search(stripped.replace("_", " ")):
        return True
    return len(set(stripped.lower())) <= 2


def token_shape(value: str) -> tuple[TokenShape, re.Match[str]] | None:
    """The first well-known credential format found in ``value`` (not a placeholder such as
    ``hf_xxxxxxxx…``)."""
    if not _ANY_PREFIX.search(value):
        return None
    for shape in TOKEN_SHAPES:
        for match in shape.pattern.finditer(value):
            body = match.group()[shape.prefix :]
            if _random(body, shape.mixed_case):
                return shape, match
    return None


def _random(body: str, mixed_case: bool) -> bool:
    """Does a token's body look generated (not ``xxxx``, not ``toggleable__label-arrow``)?"""
    if entropy(body) < 3.0 or _PLACEHOLDER_MARKS.search(body):
        return False
    if not any(c.isdigit() for c in body):
        return False
    return not mixed_case or (any(c.isupper() for c in body) and any(c.islower() for c in body))


def url_password(value: str) -> re.Match[str] | None:
    """A ``scheme://user:password@host`` whose password is not a placeholder."""
    if "://" not in value or "@" not in value:
        return None
    for match in URL_CREDENTIALS.finditer(value):
        if not is_placeholder(match.group(1)):
            return match
    return None


def mask(secret: str, shown: int = 0) -> str:
    """``hf_…(37 chars)``: at most ``shown`` leading characters (a format's prefix), never
    more than a quarter of the secret, then its length."""
    shown = min(shown, len(secret) // 4)
    return f"{secret[:shown]}…({len(secret)} chars)"


def scrub(text: str) -> str:
    """``text`` with every well-known token shape and URL password masked."""
    if not text:
        return text
    for shape in TOKEN_SHAPES if _ANY_PREFIX.search(text) else ():
        if shape.pattern.search(text):
            text = shape.pattern.sub(lambda m, s=shape: _masked_token(m, s), text)  # type: ignore[misc]
    if "://" in text and "@" in text:
        text = URL_CREDENTIALS.sub(_mask_url_password, text)
    return text


def _masked_token(match: re.Match[str], shape: TokenShape) -> str:
    token = match.group()
    return mask(token, shape.prefix) if _random(token[shape.prefix :], shape.mixed_case) else token


def _mask_url_password(match: re.Match[str]) -> str:
    start, end = match.span(1)
    whole = match.group()
    offset = match.start()
    return whole[: start - offset] + "****" + whole[end - offset :]


def redact_lines(lines: Sequence[str], spans: Iterable[Location]) -> list[str]:
    """``lines`` (1-based in the spans' coordinates) with each span's characters replaced by
    ``*``; a span without an end column runs to the end of its last line."""
    out = list(lines)
    for span in spans:
        first = span.line
        last = max(span.end_line or first, first)
        for number in range(first, min(last, len(out)) + 1):
            if number < 1:
                continue
            text = out[number - 1]
            start = span.column - 1 if number == first else 0
            end = (span.end_column or len(text) + 1) - 1 if number == last else len(text)
            start, end = max(start, 0), min(max(end, 0), len(text))
            if end > start:
                out[number - 1] = text[:start] + "*" * (end - start) + text[end:]
    return out
