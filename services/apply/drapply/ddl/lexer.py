"""Oracle SQL text as tokens: names (folded or quoted), literals, numbers, symbols.

Enough of Oracle's lexical rules for DDL: unquoted names fold to upper case, quoted
names keep their spelling (``""`` is a quote), ``'…'`` literals (``''`` is a quote),
``--`` and ``/* */`` comments are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drapply.errors import DdlSyntaxError


class Kind(StrEnum):
    """What a token is."""

    WORD = "word"  # an unquoted name or keyword, folded to upper case
    QUOTED = "quoted"  # a "quoted" name, spelling kept
    STRING = "string"  # a 'literal', quotes removed
    NUMBER = "number"
    SYMBOL = "symbol"  # ( ) , . ; and operators


@dataclass(frozen=True, slots=True)
class Token:
    """One token and where it starts in the statement."""

    kind: Kind
    text: str
    at: int  # index of its first character in the statement
    end: int  # index after its last character

    @property
    def is_name(self) -> bool:
        return self.kind in (Kind.WORD, Kind.QUOTED)

    def is_word(self, *words: str) -> bool:
        """An unquoted word among ``words`` (keywords are never quoted names)."""
        return self.kind is Kind.WORD and self.text in words


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$#")


def tokenize(sql: str) -> list[Token]:
    """The statement's tokens; an unterminated quote or comment is a syntax error."""
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise DdlSyntaxError("unterminated comment", at=i)
            i = end + 2
        elif c == '"':
            start = i
            text, i = _quoted(sql, i, '"')
            tokens.append(Token(Kind.QUOTED, text, start, i))
        elif c == "'":
            start = i
            text, i = _quoted(sql, i, "'")
            tokens.append(Token(Kind.STRING, text, start, i))
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            start = i
            while i < n and (sql[i].isdigit() or sql[i] == "."):
                i += 1
            tokens.append(Token(Kind.NUMBER, sql[start:i], start, i))
        elif c in _NAME_CHARS or c.isalpha():
            start = i
            while i < n and (sql[i] in _NAME_CHARS or sql[i].isalpha()):
                i += 1
            tokens.append(Token(Kind.WORD, sql[start:i].upper(), start, i))
        else:
            tokens.append(Token(Kind.SYMBOL, c, i, i + 1))
            i += 1
    return tokens


def _quoted(sql: str, start: int, quote: str) -> tuple[str, int]:
    """The text between ``quote`` marks from ``start`` (doubled marks are one) and the
    index after the closing mark."""
    out: list[str] = []
    i = start + 1
    while True:
        end = sql.find(quote, i)
        if end < 0:
            raise DdlSyntaxError(f"unterminated {quote}quoted{quote} text", at=start)
        out.append(sql[i:end])
        if sql.startswith(quote * 2, end):
            out.append(quote)
            i = end + 2
            continue
        return "".join(out), end + 1
