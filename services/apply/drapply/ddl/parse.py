"""Oracle DDL text to a :mod:`drapply.ddl.statement` action (pure).

The kinds apply replays are taken apart; anything else becomes :class:`Other` with its
leading keywords. Text that breaks the grammar of a kind it claims to be raises
:class:`DdlSyntaxError` naming the character where reading stopped.
"""

from __future__ import annotations

from drcommon.model import ColumnInfo

from drapply.ddl.lexer import Kind, Token, tokenize
from drapply.ddl.statement import (
    AddColumns,
    AddConstraint,
    Column,
    Comment,
    Constraint,
    ConstraintKind,
    CreateIndex,
    CreateTable,
    DropColumns,
    DropConstraint,
    DropIndex,
    DropTable,
    Grant,
    Literal,
    ModifyColumns,
    Name,
    Other,
    PartitionChange,
    RenameColumn,
    RenameTable,
    Statement,
    TruncateTable,
)
from drapply.errors import DdlSyntaxError

# Words that end a column's DEFAULT expression (the inline constraints that may follow).
_AFTER_DEFAULT = frozenset(
    {"NOT", "NULL", "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "ENABLE",
     "DISABLE", "ENCRYPT", "VISIBLE", "INVISIBLE"}
)  # fmt: skip
_OBJECT_TYPES = frozenset(
    {"TABLE", "VIEW", "SEQUENCE", "SYNONYM", "PROCEDURE", "FUNCTION", "PACKAGE", "BODY",
     "TRIGGER", "TYPE", "USER", "ROLE", "INDEX", "MATERIALIZED", "LINK", "DIRECTORY",
     "TABLESPACE", "PROFILE", "CLUSTER", "LIBRARY", "CONTEXT", "SCHEMA", "DOMAIN",
     "SESSION", "SYSTEM", "DATABASE", "ANALYZE", "AUDIT", "NOAUDIT", "FLASHBACK", "PURGE"}
)  # fmt: skip
_PARTITION_ACTIONS = frozenset(
    {"ADD", "DROP", "TRUNCATE", "EXCHANGE", "SPLIT", "MERGE", "MOVE", "MODIFY", "RENAME",
     "COALESCE", "SET"}
)  # fmt: skip


def parse(sql: str, owner: str) -> Statement:
    """The action of one DDL statement; unqualified names belong to ``owner``."""
    return _Parser(sql, owner).statement()


class _Parser:
    """A cursor over the statement's tokens."""

    def __init__(self, sql: str, owner: str) -> None:
        self.sql = sql.strip().rstrip(";").rstrip()
        self.owner = owner
        self.tokens = tokenize(self.sql)
        self.i = 0

    # -- cursor ------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise DdlSyntaxError("the statement ends too early", at=len(self.sql))
        self.i += 1
        return token

    def at_word(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.is_word(*words)

    def accept(self, *words: str) -> bool:
        if self.at_word(*words):
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(f"expected {' or '.join(words)}")

    def symbol(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.kind is Kind.SYMBOL and token.text == text:
            self.i += 1
            return True
        return False

    def expect_symbol(self, text: str) -> None:
        if not self.symbol(text):
            raise self.error(f"expected {text!r}")

    def error(self, what: str) -> DdlSyntaxError:
        token = self.peek()
        at = token.at if token is not None else len(self.sql)
        near = self.sql[at : at + 30]
        return DdlSyntaxError(f"{what} near {near!r}" if near else f"{what} at the end", at=at)

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def name(self) -> str:
        token = self.take()
        if not token.is_name:
            self.i -= 1
            raise self.error("expected a name")
        return token.text

    def object_name(self) -> Name:
        first = self.name()
        if self.symbol("."):
            return Name(first, self.name())
        return Name(self.owner, first)

    def name_list(self) -> tuple[str, ...]:
        self.expect_symbol("(")
        names = [self.name()]
        while self.symbol(","):
            names.append(self.name())
        self.expect_symbol(")")
        return tuple(names)

    def skip_balanced(self) -> None:
        """Skip one token, or a whole parenthesised group."""
        depth = 0
        while True:
            token = self.take()
            if token.kind is Kind.SYMBOL and token.text == "(":
                depth += 1
            elif token.kind is Kind.SYMBOL and token.text == ")":
                depth -= 1
            if depth <= 0:
                return

    def text_between(self, start: int, end: int) -> str:
        """The statement's text from token ``start`` to before token ``end``."""
        if end <= start:
            return ""
        return self.sql[self.tokens[start].at : self.tokens[end - 1].end]

    def words(self, most: int) -> str:
        """The statement's leading keywords, up to its object type (``CREATE OR REPLACE
        PACKAGE BODY``) and never a name after it."""
        out: list[str] = []
        for token in self.tokens[: most + 2]:
            if token.kind is not Kind.WORD:
                break
            out.append(token.text)
            if token.text in _OBJECT_TYPES and not (
                token.text == "PACKAGE" or token.text == "MATERIALIZED"
            ):
                break
        return " ".join(out)

    # -- statements -------------------------------------------------------------------------
    def statement(self) -> Statement:
        if self.done():
            raise DdlSyntaxError("empty statement", at=0)
        if self.accept("ALTER"):
            if self.accept("TABLE"):
                return self.alter_table()
            return Other(self.words(2))
        if self.accept("CREATE"):
            return self.create()
        if self.accept("DROP"):
            return self.drop()
        if self.accept("TRUNCATE"):
            if self.accept("TABLE"):
                return TruncateTable(self.object_name())
            return Other(self.words(2))
        if self.accept("RENAME"):
            old = self.object_name()
            self.expect("TO")
            return RenameTable(old, self.name())
        if self.accept("COMMENT"):
            return self.comment()
        if self.at_word("GRANT", "REVOKE"):
            return Grant(self.take().text)
        return Other(self.words(2))

    def create(self) -> Statement:
        if self.accept("OR"):
            self.expect("REPLACE")
        if self.at_word("GLOBAL", "PRIVATE", "SHARDED", "DUPLICATED", "BLOCKCHAIN",
                        "IMMUTABLE"):  # fmt: skip
            return Other(self.words(4))
        if self.accept("TABLE"):
            return self.create_table()
        unique = self.accept("UNIQUE")
        if not unique and self.at_word("BITMAP", "MULTIVALUE"):
            return Other(self.words(3))
        if self.accept("INDEX"):
            return self.create_index(unique)
        return Other(self.words(3))

    def create_table(self) -> Statement:
        table = self.object_name()
        if not self.symbol("("):
            return Other("CREATE TABLE AS" if self.at_word("AS") else "CREATE TABLE", table)
        columns: list[Column] = []
        constraints: list[Constraint] = []
        while True:
            if self.at_word("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
                constraints.append(self.constraint())
            else:
                column, inline = self.column_definition(modify=False)
                columns.append(column)
                constraints.extend(inline)
            if self.symbol(")"):
                break
            self.expect_symbol(",")
        if self.accept("AS"):
            return Other("CREATE TABLE AS", table)
        return CreateTable(table, tuple(columns), tuple(constraints))

    def create_index(self, unique: bool) -> Statement:
        index = self.object_name()
        self.expect("ON")
        table = self.object_name()
        self.expect_symbol("(")
        columns: list[str] = []
        while True:
            token = self.peek()
            follower = self.peek(1)
            if token is None or not token.is_name or follower is None or not (
                (follower.kind is Kind.SYMBOL and follower.text in ",)") or follower.is_word(
                    "ASC", "DESC")):  # fmt: skip
                return Other("CREATE INDEX ON EXPRESSION", table)
            columns.append(self.name())
            if self.accept("DESC"):
                return Other("CREATE INDEX DESC", table)
            self.accept("ASC")
            if self.symbol(")"):
                break
            self.expect_symbol(",")
        return CreateIndex(index, table, tuple(columns), unique)

    def drop(self) -> Statement:
        if self.accept("TABLE"):
            table = self.object_name()
            purge = False
            while not self.done():
                if self.accept("PURGE"):
                    purge = True
                else:
                    self.take()  # CASCADE CONSTRAINTS
            return DropTable(table, purge)
        if self.accept("INDEX"):
            return DropIndex(self.object_name())
        return Other(self.words(2))

    def comment(self) -> Statement:
        self.expect("ON")
        if self.accept("TABLE"):
            table, column = self.object_name(), None
        elif self.accept("COLUMN"):
            parts = [self.name()]
            while self.symbol("."):
                parts.append(self.name())
            if len(parts) not in (2, 3):
                raise self.error("expected table.column")
            owner = parts[0] if len(parts) == 3 else self.owner
            table, column = Name(owner, parts[-2]), parts[-1]
        else:
            return Other(self.words(3))
        self.expect("IS")
        token = self.take()
        if token.kind is not Kind.STRING:
            raise self.error("expected the comment's text")
        return Comment(table, column, token.text)

    # -- ALTER TABLE --------------------------------------------------------------------------
    def alter_table(self) -> Statement:
        table = self.object_name()
        if self.accept("ADD"):
            return self.alter_add(table)
        if self.accept("DROP"):
            return self.alter_drop(table)
        if self.accept("SET"):
            if self.accept("UNUSED"):  # the column is gone for every reader: a drop
                return self.drop_columns(table)
            return Other("ALTER TABLE SET", table)
        if self.accept("RENAME"):
            if self.accept("COLUMN"):
                old = self.name()
                self.expect("TO")
                return RenameColumn(table, old, self.name())
            if self.accept("TO"):
                return RenameTable(table, self.name())
            return self.partition_or_other(table, "RENAME")
        if self.accept("MODIFY"):
            if self.at_word("PARTITION", "SUBPARTITION", "DEFAULT"):
                return PartitionChange(table, "MODIFY")
            if self.at_word("CONSTRAINT", "PRIMARY", "UNIQUE", "LOB", "NESTED"):
                return Other("ALTER TABLE MODIFY " + self.take().text, table)
            return ModifyColumns(table, self.column_list(modify=True))
        token = self.peek()
        if token is not None and token.is_word(*_PARTITION_ACTIONS):
            return self.partition_or_other(table, self.take().text)
        return Other("ALTER TABLE " + (token.text if token is not None else ""), table)

    def partition_or_other(self, table: Name, action: str) -> Statement:
        if self.at_word("PARTITION", "SUBPARTITION", "PARTITIONS", "SUBPARTITIONS"):
            return PartitionChange(table, action)
        return Other(f"ALTER TABLE {action}", table)

    def alter_add(self, table: Name) -> Statement:
        if self.at_word("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
            return AddConstraint(table, self.constraint())
        if self.at_word("PARTITION", "SUBPARTITION"):
            return PartitionChange(table, "ADD")
        if self.at_word("SUPPLEMENTAL"):
            return Other("ALTER TABLE ADD SUPPLEMENTAL LOG", table)
        self.accept("COLUMN")
        columns = self.column_list(modify=False)
        return AddColumns(table, columns)

    def alter_drop(self, table: Name) -> Statement:
        if self.accept("CONSTRAINT"):
            return DropConstraint(table, self.name(), primary=False)
        if self.accept("PRIMARY"):
            self.expect("KEY")
            return DropConstraint(table, None, primary=True)
        if self.at_word("PARTITION", "SUBPARTITION"):
            return PartitionChange(table, "DROP")
        if self.at_word("UNUSED"):
            return Other("ALTER TABLE DROP UNUSED COLUMNS", table)
        if self.at_word("UNIQUE", "SUPPLEMENTAL"):
            return Other("ALTER TABLE DROP " + self.take().text, table)
        return self.drop_columns(table)

    def drop_columns(self, table: Name) -> Statement:
        if self.accept("COLUMN"):
            return DropColumns(table, (self.name(),))
        if self.at_word("COLUMNS"):
            self.take()
        return DropColumns(table, self.name_list())

    def column_list(self, *, modify: bool) -> tuple[Column, ...]:
        if not self.symbol("("):
            column, _ = self.column_definition(modify=modify)
            return (column,)
        columns = []
        while True:
            column, _ = self.column_definition(modify=modify)
            columns.append(column)
            if self.symbol(")"):
                return tuple(columns)
            self.expect_symbol(",")

    # -- columns and constraints --------------------------------------------------------------
    def column_definition(self, *, modify: bool) -> tuple[Column, list[Constraint]]:
        name = self.name()
        info = type_sql = None
        token = self.peek()
        if token is not None and token.kind is Kind.WORD and token.text not in _AFTER_DEFAULT \
                and token.text != "DEFAULT":  # fmt: skip
            start = self.i
            info = self.column_type()
            type_sql = self.text_between(start, self.i)
        elif not modify:
            raise self.error(f"expected the type of column {name}")
        default_sql: str | None = None
        default: Literal | None = None
        not_null: bool | None = None
        inline: list[Constraint] = []
        while not self.done() and not self.at_symbol(",", ")"):
            if self.accept("DEFAULT"):
                if self.accept("ON"):
                    self.expect("NULL")
                default_sql, default = self.default_expression()
            elif self.accept("NOT"):
                self.expect("NULL")
                not_null = True
            elif self.accept("NULL"):
                not_null = False
            elif self.at_word("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES"):
                inline.append(self.inline_constraint(name))
            else:
                self.skip_balanced()  # VISIBLE, ENABLE, SORT, ENCRYPT …
        column = Column(name, info, type_sql, default_sql, default, not_null)
        return column, inline

    def at_symbol(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.kind is Kind.SYMBOL and token.text in texts

    def default_expression(self) -> tuple[str, Literal | None]:
        start = self.i
        depth = 0
        while not self.done():
            token = self.peek()
            assert token is not None
            if depth == 0 and (self.at_symbol(",", ")") or (token.is_word(*_AFTER_DEFAULT)
                               and not (self.i == start and token.text == "NULL"))):  # fmt: skip
                break
            if token.kind is Kind.SYMBOL and token.text == "(":
                depth += 1
            elif token.kind is Kind.SYMBOL and token.text == ")":
                depth -= 1
            self.i += 1
        if self.i == start:
            raise self.error("expected a DEFAULT expression")
        return self.text_between(start, self.i), _literal(self.tokens[start : self.i])

    def inline_constraint(self, column: str) -> Constraint:
        name = self.name() if self.accept("CONSTRAINT") else None
        if self.accept("PRIMARY"):
            self.expect("KEY")
            return Constraint(ConstraintKind.PRIMARY, name, (column,))
        if self.accept("UNIQUE"):
            return Constraint(ConstraintKind.UNIQUE, name, (column,))
        if self.accept("CHECK"):
            self.skip_balanced()
            return Constraint(ConstraintKind.CHECK, name)
        if self.accept("NOT"):  # CONSTRAINT nn NOT NULL: read by the caller's loop
            self.i -= 1
            return Constraint(ConstraintKind.CHECK, name)
        self.expect("REFERENCES")
        self.object_name()
        if self.at_symbol("("):
            self.skip_balanced()
        return Constraint(ConstraintKind.FOREIGN, name)

    def constraint(self) -> Constraint:
        name = self.name() if self.accept("CONSTRAINT") else None
        if self.accept("PRIMARY"):
            self.expect("KEY")
            kind = ConstraintKind.PRIMARY
        elif self.accept("UNIQUE"):
            kind = ConstraintKind.UNIQUE
        elif self.accept("FOREIGN"):
            self.expect("KEY")
            self.name_list()
            self.expect("REFERENCES")
            self.object_name()
            if self.at_symbol("("):
                self.skip_balanced()
            self.skip_rest_of_item()
            return Constraint(ConstraintKind.FOREIGN, name)
        elif self.accept("CHECK"):
            self.skip_balanced()
            self.skip_rest_of_item()
            return Constraint(ConstraintKind.CHECK, name)
        else:
            raise self.error("expected PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK")
        columns = self.name_list()
        self.skip_rest_of_item()
        return Constraint(kind, name, columns)

    def skip_rest_of_item(self) -> None:
        """USING INDEX …, ENABLE, DEFERRABLE …: up to the next ',' or ')' (or the end)."""
        while not self.done() and not self.at_symbol(",", ")"):
            self.skip_balanced()

    # -- types ------------------------------------------------------------------------------
    def column_type(self) -> ColumnInfo:
        base = self.take().text
        if base == "LONG" and self.accept("RAW"):
            return ColumnInfo(type="LONG RAW")
        if base in ("NUMBER", "DECIMAL", "NUMERIC", "DEC"):
            precision, scale = self.numbers(2)
            return ColumnInfo(type="NUMBER", precision=_star(precision), scale=scale)
        if base in ("INTEGER", "INT", "SMALLINT"):
            return ColumnInfo(type="NUMBER", scale=0)
        if base == "FLOAT":
            (precision,) = self.numbers(1)
            return ColumnInfo(type="FLOAT", precision=precision or 126)
        if base in ("VARCHAR2", "VARCHAR", "NVARCHAR2", "CHAR", "NCHAR", "RAW", "UROWID"):
            (length,) = self.numbers(1, semantics=True)
            kept = "VARCHAR2" if base == "VARCHAR" else base
            if length is None and base in ("CHAR", "NCHAR"):
                length = 1
            return ColumnInfo(type=kept, length=length)
        if base == "TIMESTAMP":
            (fraction,) = self.numbers(1)
            name = "TIMESTAMP"
            if self.accept("WITH"):
                local = self.accept("LOCAL")
                self.expect("TIME")
                self.expect("ZONE")
                name += " WITH LOCAL TIME ZONE" if local else " WITH TIME ZONE"
            return ColumnInfo(type=name, scale=6 if fraction is None else fraction)
        if base == "INTERVAL":
            return self.interval_type()
        simple = {"DATE", "BINARY_FLOAT", "BINARY_DOUBLE", "CLOB", "NCLOB", "BLOB", "LONG",
                  "ROWID", "BOOLEAN", "JSON", "XMLTYPE"}  # fmt: skip
        if base in simple:
            return ColumnInfo(type=base)
        self.i -= 1
        raise self.error(f"unsupported column type {base}")

    def interval_type(self) -> ColumnInfo:
        if self.accept("YEAR"):
            (precision,) = self.numbers(1)
            self.expect("TO")
            self.expect("MONTH")
            return ColumnInfo(type="INTERVAL YEAR TO MONTH", precision=precision or 2)
        self.expect("DAY")
        (precision,) = self.numbers(1)
        self.expect("TO")
        self.expect("SECOND")
        (fraction,) = self.numbers(1)
        return ColumnInfo(type="INTERVAL DAY TO SECOND", precision=precision or 2,
                          scale=6 if fraction is None else fraction)  # fmt: skip

    def numbers(self, most: int, *, semantics: bool = False) -> list[int | None]:
        """An optional ``(n[, m])`` after a type name (``*`` as -1; BYTE/CHAR skipped)."""
        found: list[int | None] = [None] * most
        if not self.symbol("("):
            return found
        for index in range(most):
            token = self.take()
            if token.kind is Kind.SYMBOL and token.text == "*":
                found[index] = -1
            elif token.kind is Kind.NUMBER and token.text.isdigit():
                found[index] = int(token.text)
            else:
                self.i -= 1
                raise self.error("expected a number")
            if semantics:
                self.accept("BYTE", "CHAR")
            if not self.symbol(","):
                break
        self.expect_symbol(")")
        return found


def _star(precision: int | None) -> int | None:
    return None if precision == -1 else precision


def _literal(tokens: list[Token]) -> Literal | None:
    """A DEFAULT that is a constant (text, a signed number, NULL); None otherwise."""
    texts = list(tokens)
    if len(texts) == 1:
        token = texts[0]
        if token.kind is Kind.STRING:
            return Literal(token.text, quoted=True)
        if token.kind is Kind.NUMBER:
            return Literal(token.text, quoted=False)
        if token.is_word("NULL"):
            return Literal(None, quoted=False)
    if len(texts) == 2 and texts[0].kind is Kind.SYMBOL and texts[0].text in "+-" \
            and texts[1].kind is Kind.NUMBER:  # fmt: skip
        sign = "-" if texts[0].text == "-" else ""
        return Literal(sign + texts[1].text, quoted=False)
    return None
