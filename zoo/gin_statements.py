"""Gin text as its statements: what a config *means*, without comments or layout.

    statements(text) -> ["train.lr = 0.001", "mlp.width = 256", ...]
    same_config(a, b) <=> statements(a) == statements(b)
    digest(text) -> sha1 hex of the statements (run ids, the toy table's ledger)

A run folder's ``config.gin`` is the resolved config (every include inlined, with its comments),
so an edit to a comment in ``toy.gin`` used to make every run started from it refuse to resume
and every sweep folder built on it a "conflict". Comments carry no meaning to gin; the run
folders (``zoo.run.train``) and the sweep launcher (``zoo.sweeps.job``) compare statements.
"""
from __future__ import annotations

import hashlib


def uncommented(line: str) -> str:
    """``line`` up to its first ``#`` outside a quoted string (a comment may hold quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def statements(text: str):
    """Logical gin statements: comments stripped, bracketed continuation lines joined."""
    cur, depth = "", 0
    for line in text.splitlines():
        line = uncommented(line).strip()
        if not line:
            continue
        cur = f"{cur} {line}".strip()
        depth = sum(cur.count(c) for c in "([{") - sum(cur.count(c) for c in ")]}")
        if depth <= 0 and not cur.endswith("\\"):
            yield cur
            cur = ""
    if cur:
        yield cur


def same_config(a: str, b: str) -> bool:
    """Whether two gin texts hold the same statements in the same order (comments, blank lines
    and line breaks inside brackets ignored)."""
    return list(statements(a)) == list(statements(b))


def digest(text: str) -> str:
    """SHA-1 (hex) of the statements: equal for texts ``same_config`` calls equal."""
    return hashlib.sha1("\n".join(statements(text)).encode()).hexdigest()
