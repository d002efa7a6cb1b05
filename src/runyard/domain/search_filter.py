"""Parser for the MLflow search ``filter`` and ``order_by`` languages.

MLflow's search endpoints accept a small SQL-like language::

    metrics.loss < 0.5 AND params.optimizer = 'adam' AND tags.`team name` LIKE 'ml-%'

This module turns such text into an immutable AST (a tuple of :class:`Comparison`
for filters, a tuple of :class:`OrderKey` for ``order_by``).  It performs no I/O and
knows nothing about SQL; the store's query compiler consumes the AST.

What each searchable thing (runs, experiments, ...) accepts is described by a
:class:`Grammar`: the entity prefixes and their aliases, the attribute names (with
aliases that resolve to one canonical name), the value type and comparators of every
entity or attribute, and what ``order_by`` may name.  :data:`RUN_GRAMMAR` and
:data:`EXPERIMENT_GRAMMAR` reproduce the reference server's rules.

Lexical rules, all matching the reference server:

* Keywords (``AND``, ``LIKE``, ``ILIKE``, ``IN``, ``NOT IN``, ``IS [NOT] NULL``,
  ``ASC``, ``DESC``) are case-insensitive; prefixes and attribute names are not.
* Only conjunctions are supported: no ``OR``, no ``NOT`` on its own, no parentheses
  except around an ``IN`` list.
* An identifier is ``prefix.key`` or, for attributes, just ``key``.  A key may be
  bare (letters, digits, ``_`` and ``.``) or quoted with backticks or double quotes
  (after a prefix, single quotes too).  Quoted text is taken verbatim between the
  quotes: doubled quotes and backslash escapes do not end the string and are kept
  as written, exactly like the reference implementation.
* String values are single- or double-quoted; numeric values are decimal numbers with
  an optional leading ``-``, fraction and exponent.

Every malformed input raises :class:`~runyard.domain.errors.MlflowError` with error
code ``INVALID_PARAMETER_VALUE`` and a message naming the offending token and its
1-based column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final, Literal, cast

from runyard.domain import limits
from runyard.domain.errors import MlflowError, invalid

__all__ = [
    "ALL_COMPARATORS",
    "EXPERIMENT_GRAMMAR",
    "RUN_GRAMMAR",
    "Attribute",
    "Comparison",
    "EntitySpec",
    "EntityType",
    "Grammar",
    "KeyRule",
    "OrderKey",
    "ValueType",
    "parse_filter",
    "parse_order_by",
]

EntityType = Literal["attribute", "metric", "param", "tag", "dataset"]

# How the value on the right-hand side of a comparison is read:
#   "float"          a number, returned as float (metrics)
#   "int"            an integral number, returned as int (timestamps)
#   "string"         a quoted string, returned as str
#   "integer_string" a quoted string holding a decimal integer, returned as str (experiment ids)
ValueType = Literal["float", "int", "string", "integer_string"]

ComparisonValue = str | float | int | tuple[str, ...] | None

# Canonical comparator spellings, in the order they are listed in messages.
ALL_COMPARATORS: Final[tuple[str, ...]] = (
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
)
_LIST_COMPARATORS: Final = frozenset({"IN", "NOT IN"})
_NULL_COMPARATORS: Final = frozenset({"IS NULL", "IS NOT NULL"})
_RESERVED_WORDS: Final = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_MAX_ECHO: Final = 200  # longest filter text repeated back in an error message
_MAX_TOKEN_ECHO: Final = 40


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Comparison:
    """One ``<entity>.<key> <op> <value>`` term of a filter."""

    entity: EntityType
    key: str
    op: str
    value: ComparisonValue
    position: int


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` clause."""

    entity: EntityType
    key: str
    ascending: bool


# ------------------------------------------------------------------------ grammar


@dataclass(frozen=True)
class KeyRule:
    """The value type and the comparators allowed for one entity or attribute."""

    value_type: ValueType
    ops: frozenset[str]


@dataclass(frozen=True)
class Attribute:
    """A named attribute column of a searchable thing.

    ``aliases`` are accepted in filters, ``order_aliases`` in ``order_by``; both resolve
    to ``name``.
    """

    name: str
    rule: KeyRule
    aliases: tuple[str, ...] = ()
    order_aliases: tuple[str, ...] = ()
    orderable: bool = True


@dataclass(frozen=True)
class EntitySpec:
    """A keyed entity (metrics, params, tags, datasets).

    ``keys`` restricts the keys to a fixed set (datasets); ``None`` means any non-empty key.
    """

    rule: KeyRule
    keys: frozenset[str] | None = None
    orderable: bool = True


@dataclass(frozen=True, eq=False)
class Grammar:
    """Everything one searchable thing accepts in ``filter`` and ``order_by``.

    ``prefixes`` maps each accepted prefix spelling (``"metrics"``, ``"metric"``, ...)
    to its entity; an identifier without a prefix is an attribute.  Attributes are
    listed in ``attributes``; every other entity is described by ``entities``.
    ``unique_order_keys`` rejects an ``order_by`` naming the same field twice.
    """

    name: str
    prefixes: Mapping[str, EntityType]
    attributes: tuple[Attribute, ...]
    entities: Mapping[EntityType, EntitySpec]
    unique_order_keys: bool = True
    # The reference's answer to a filter of whitespace only (it refuses one; "" is no filter).
    blank_filter_message: str = "Invalid filter '{text}'. Could not be parsed."
    _filter_attrs: Mapping[str, Attribute] = field(init=False, repr=False)
    _order_attrs: Mapping[str, Attribute] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        filter_attrs: dict[str, Attribute] = {}
        order_attrs: dict[str, Attribute] = {}
        for attr in self.attributes:
            for spelling in (attr.name, *attr.aliases):
                filter_attrs[spelling] = attr
            if attr.orderable:
                for spelling in (attr.name, *attr.order_aliases):
                    order_attrs[spelling] = attr
        object.__setattr__(self, "prefixes", MappingProxyType(dict(self.prefixes)))
        object.__setattr__(self, "entities", MappingProxyType(dict(self.entities)))
        object.__setattr__(self, "_filter_attrs", MappingProxyType(filter_attrs))
        object.__setattr__(self, "_order_attrs", MappingProxyType(order_attrs))

    def attribute(self, spelling: str, *, for_order: bool = False) -> Attribute | None:
        """The attribute a filter (or ``order_by``) spelling refers to, if any."""
        table = self._order_attrs if for_order else self._filter_attrs
        return table.get(spelling)

    def attribute_names(self, *, for_order: bool = False) -> tuple[str, ...]:
        """Canonical attribute names usable in filters (or ``order_by``), sorted."""
        table = self._order_attrs if for_order else self._filter_attrs
        return tuple(sorted({attr.name for attr in table.values()}))

    def prefix_names(self) -> tuple[str, ...]:
        """Every accepted prefix spelling, sorted."""
        return tuple(sorted(self.prefixes))


_EQ_OPS: Final = frozenset({"=", "!="})
_ORDERING_OPS: Final = frozenset({"=", "!=", ">", ">=", "<", "<="})
_PATTERN_OPS: Final = frozenset({"=", "!=", "LIKE", "ILIKE"})

_METRIC_RULE: Final = KeyRule("float", _ORDERING_OPS)
_KEY_VALUE_RULE: Final = KeyRule("string", _PATTERN_OPS | _NULL_COMPARATORS)  # params, tags
_STRING_ATTR_RULE: Final = KeyRule("string", _PATTERN_OPS)
_LIST_STRING_ATTR_RULE: Final = KeyRule("string", _PATTERN_OPS | _LIST_COMPARATORS)
_NUMERIC_ATTR_RULE: Final = KeyRule("int", _ORDERING_OPS)

RUN_GRAMMAR: Final = Grammar(
    name="runs",
    prefixes={
        "attribute": "attribute",
        "attributes": "attribute",
        "attr": "attribute",
        "run": "attribute",
        "metric": "metric",
        "metrics": "metric",
        "param": "param",
        "params": "param",
        "parameter": "param",
        "parameters": "param",
        "tag": "tag",
        "tags": "tag",
        "dataset": "dataset",
        "datasets": "dataset",
    },
    attributes=(
        Attribute("run_id", _LIST_STRING_ATTR_RULE),
        Attribute("run_name", _STRING_ATTR_RULE, aliases=("run name", "Run name", "Run Name")),
        Attribute("status", _STRING_ATTR_RULE),
        Attribute("user_id", _STRING_ATTR_RULE),
        Attribute("artifact_uri", _STRING_ATTR_RULE),
        Attribute(
            "start_time",
            _NUMERIC_ATTR_RULE,
            aliases=("created", "Created"),
            order_aliases=("created", "Created"),
        ),
        Attribute("end_time", _NUMERIC_ATTR_RULE),
    ),
    entities={
        "metric": EntitySpec(_METRIC_RULE),
        "param": EntitySpec(_KEY_VALUE_RULE),
        "tag": EntitySpec(_KEY_VALUE_RULE),
        "dataset": EntitySpec(
            KeyRule("string", _PATTERN_OPS | _LIST_COMPARATORS),
            keys=frozenset({"name", "digest", "context"}),
            orderable=False,
        ),
    },
)

EXPERIMENT_GRAMMAR: Final = Grammar(
    name="experiments",
    prefixes={"attribute": "attribute", "tag": "tag", "tags": "tag"},
    attributes=(
        Attribute("name", _STRING_ATTR_RULE),
        Attribute("experiment_id", KeyRule("integer_string", _EQ_OPS | _LIST_COMPARATORS)),
        Attribute("creation_time", _NUMERIC_ATTR_RULE),
        Attribute("last_update_time", _NUMERIC_ATTR_RULE),
    ),
    entities={"tag": EntitySpec(_KEY_VALUE_RULE, orderable=False)},
    unique_order_keys=False,
)


# -------------------------------------------------------------------------- lexer

_TokenKind = Literal["ident", "num", "sq", "dq", "bq", "op", "punct", "eof"]

_TOKEN_RE: Final = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<num>-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<ident>[^\W\d]\w*(?:\.[\w.]+)?)
    | (?P<sq>'(?:[^'\\]|\\.|'')*')
    | (?P<dq>"(?:[^"\\]|\\.|"")*")
    | (?P<bq>`(?:[^`]|``)*`)
    | (?P<op>!=|<=|>=|<>|==|=|<|>|!)
    | (?P<punct>[(),.])
    """,
    re.VERBOSE | re.DOTALL,
)
_QUOTED_KINDS: Final = frozenset({"sq", "dq", "bq"})
_STRING_KINDS: Final = frozenset({"sq", "dq"})
_INTEGER_STRING_RE: Final = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class _Token:
    kind: _TokenKind
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def content(self) -> str:
        """The text between the quotes of a quoted token, verbatim."""
        return self.text[1:-1] if self.kind in _QUOTED_KINDS else self.text

    @property
    def word(self) -> str:
        """Upper-cased text of an identifier token (for keyword matching), else ''."""
        return self.text.upper() if self.kind == "ident" else ""


def _is_int64_string(value: str) -> bool:
    # The length check keeps int() away from huge digit strings (and its 4300-digit limit).
    return (
        _INTEGER_STRING_RE.fullmatch(value) is not None and len(value) <= 20 and _INT64_MIN <= int(value) <= _INT64_MAX
    )


def _echo(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(token: _Token) -> str:
    if token.kind == "eof":
        return f"end of input at column {token.start + 1}"
    shown = _echo(token.text, _MAX_TOKEN_ECHO)
    if token.kind not in _QUOTED_KINDS:
        shown = f"'{shown}'"
    return f"token {shown} at column {token.start + 1}"


class _Source:
    """The text being parsed, and how to complain about it."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what

    def error(self, detail: str) -> MlflowError:
        return invalid(f"Invalid {self.what} '{_echo(self.text, _MAX_ECHO)}': {detail}")


def _tokenize(source: _Source) -> list[_Token]:
    text = source.text
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "'\"`":
                raise source.error(f"unterminated quoted text: token {char} at column {pos + 1} has no closing {char}")
            hint = ""
            if tokens and tokens[-1].end == pos and tokens[-1].kind == "ident":
                hint = " (quote keys containing special characters with backticks, e.g. metrics.`my-key`)"
            raise source.error(f"unexpected character {char!r} at column {pos + 1}{hint}")
        if match.lastgroup != "ws":
            tokens.append(_Token(cast(_TokenKind, match.lastgroup), match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "", len(text)))
    return tokens


# ------------------------------------------------------------------------- parser


@dataclass(frozen=True)
class _Target:
    """A resolved identifier: what is compared, and how."""

    entity: EntityType
    key: str
    rule: KeyRule
    label: str  # how messages name it, e.g. "metrics.loss" or "attribute 'status'"


class _Parser:
    def __init__(self, source: _Source, grammar: Grammar) -> None:
        self.source = source
        self.grammar = grammar
        self.tokens = _tokenize(source)
        self.index = 0

    # -- token stream

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def unexpected(self, token: _Token, expected: str) -> MlflowError:
        return self.source.error(f"unexpected {_describe(token)}; expected {expected}")

    def expect_word(self, word: str, expected: str) -> _Token:
        token = self.advance()
        if token.word != word:
            raise self.unexpected(token, expected)
        return token

    # -- identifiers

    def identifier(self) -> tuple[str | None, int, str, int]:
        """Read ``prefix.key`` or ``key``: (prefix, prefix column, key, key column)."""
        token = self.advance()
        if token.kind == "ident":
            if "." in token.text:
                prefix, key = token.text.split(".", 1)
                return prefix, token.start, key, token.start + len(prefix) + 1
            if token.word in _RESERVED_WORDS:
                raise self.unexpected(token, "an identifier such as metrics.<key> or params.<key>")
            if self.adjacent_dot(token):
                key_token = self.key_after_dot(token, allow_bare=False)
                return token.text, token.start, key_token.content, key_token.start
            if self.peek().text == "." and self.peek().kind == "punct":
                raise self.unexpected(self.peek(), "no whitespace around the '.' of prefix.key")
            return None, token.start, token.text, token.start
        if token.kind in ("bq", "dq"):
            if token.kind == "bq" and self.adjacent_dot(token):
                key_token = self.key_after_dot(token, allow_bare=True)
                return token.content, token.start, key_token.content, key_token.start
            return None, token.start, token.content, token.start
        if token.kind == "sq":
            raise self.unexpected(token, "an identifier (single quotes are for values; quote keys with backticks)")
        if token.text == "(":
            raise self.unexpected(token, "an identifier (parentheses are not supported)")
        raise self.unexpected(token, "an identifier such as metrics.<key> or params.<key>")

    def adjacent_dot(self, token: _Token) -> bool:
        following = self.peek()
        if following.text == "." and following.kind == "punct" and following.start == token.end:
            self.advance()
            return True
        return False

    def key_after_dot(self, prefix: _Token, *, allow_bare: bool) -> _Token:
        dot_end = self.tokens[self.index - 1].end
        token = self.peek()
        quoted = token.kind in _QUOTED_KINDS
        if token.start == dot_end and (quoted or (allow_bare and token.kind == "ident")):
            return self.advance()
        raise self.unexpected(token, f"a key after '{prefix.text}.'")

    def resolve(self, prefix: str | None, prefix_col: int, key: str, key_col: int, *, for_order: bool) -> _Target:
        grammar = self.grammar
        entity: EntityType = "attribute"
        if prefix is not None:
            found = grammar.prefixes.get(prefix)
            if found is None:
                raise self.source.error(
                    f"unknown entity prefix '{_echo(prefix, _MAX_TOKEN_ECHO)}' at column {prefix_col + 1};"
                    f" {grammar.name} accept {', '.join(p + '.' for p in grammar.prefix_names())}"
                )
            entity = found
        if key == "":
            raise self.source.error(f"empty key at column {key_col + 1}")
        shown_key = _echo(key, _MAX_TOKEN_ECHO)
        if entity == "attribute":
            attr = grammar.attribute(key, for_order=for_order)
            if attr is None:
                where = "order_by" if for_order else "filters"
                raise self.source.error(
                    f"unknown attribute '{shown_key}' at column {key_col + 1}; {grammar.name} {where}"
                    f" accept {', '.join(grammar.attribute_names(for_order=for_order))}"
                    + (
                        " (other keys need a prefix such as metrics., params. or tags.)"
                        if prefix is None and "metric" in grammar.entities
                        else ""
                    )
                )
            return _Target("attribute", attr.name, attr.rule, f"attribute '{attr.name}'")
        spec = grammar.entities.get(entity)
        if spec is None or (for_order and not spec.orderable):
            usage = "order_by" if for_order else "filters"
            raise self.source.error(
                f"prefix '{prefix}' at column {prefix_col + 1} cannot be used in {grammar.name} {usage}"
            )
        if spec.keys is not None and key not in spec.keys:
            raise self.source.error(
                f"unknown {entity} key '{shown_key}' at column {key_col + 1};"
                f" expected one of {', '.join(sorted(spec.keys))}"
            )
        return _Target(entity, key, spec.rule, f"{prefix}.{shown_key}")

    # -- filters

    def parse_filter(self) -> tuple[Comparison, ...]:
        comparisons = [self.comparison()]
        while True:
            token = self.advance()
            if token.kind == "eof":
                return tuple(comparisons)
            if token.word == "AND":
                if len(comparisons) >= limits.MAX_FILTER_COMPARISONS:
                    raise self.source.error(
                        f"at most {limits.MAX_FILTER_COMPARISONS} comparisons may be joined with AND"
                    )
                comparisons.append(self.comparison())
            elif token.word == "OR":
                raise self.source.error(f"unsupported {_describe(token)}; only AND is supported")
            else:
                raise self.unexpected(token, "AND or the end of the filter")

    def comparison(self) -> Comparison:
        start = self.peek().start
        prefix, prefix_col, key, key_col = self.identifier()
        target = self.resolve(prefix, prefix_col, key, key_col, for_order=False)
        allowed = [op for op in ALL_COMPARATORS if op in target.rule.ops]
        op_token = self.peek()
        op = self.comparator(f"a comparator ({', '.join(allowed)})")
        if op not in target.rule.ops:
            raise self.source.error(
                f"comparator '{op}' at column {op_token.start + 1} is not supported for"
                f" {target.label}; expected one of {', '.join(allowed)}"
            )
        value = self.value(op, target)
        return Comparison(target.entity, target.key, op, value, start)

    def comparator(self, expected: str) -> str:
        token = self.advance()
        if token.kind == "op" and token.text in ALL_COMPARATORS:
            return token.text
        word = token.word
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            self.expect_word("IN", "IN after NOT (only NOT IN is supported)")
            return "NOT IN"
        if word == "IS":
            if self.peek().word == "NOT":
                self.advance()
                self.expect_word("NULL", "NULL after IS NOT")
                return "IS NOT NULL"
            self.expect_word("NULL", "NULL or NOT NULL after IS")
            return "IS NULL"
        raise self.unexpected(token, expected)

    def value(self, op: str, target: _Target) -> ComparisonValue:
        if op in _NULL_COMPARATORS:
            return None
        if op in _LIST_COMPARATORS:
            return self.string_list(target)
        token = self.advance()
        value_type = target.rule.value_type
        if value_type == "float":
            if token.kind != "num":
                raise self.unexpected(token, f"a number for {target.label}")
            return float(token.text)
        if value_type == "int":
            if token.kind != "num":
                raise self.unexpected(token, f"an integer for {target.label}")
            return self.integer(token, target)
        return self.string(token, target)

    def integer(self, token: _Token, target: _Target) -> int:
        try:
            number = Decimal(token.text)
        except InvalidOperation:  # pragma: no cover - the lexer only produces valid numbers
            raise self.unexpected(token, f"an integer for {target.label}") from None
        # Range first: it is cheap even for exponents like 1e999999999.
        if not (number.is_finite() and _INT64_MIN <= number <= _INT64_MAX):
            raise self.source.error(f"{target.label} value out of the 64-bit range: {_describe(token)}")
        if number != number.to_integral_value():
            raise self.source.error(
                f"{target.label} takes an integer (milliseconds since the epoch), got non-integer {_describe(token)}"
            )
        return int(number)

    def string(self, token: _Token, target: _Target) -> str:
        if token.kind not in _STRING_KINDS:
            hint = " (a parenthesised list needs IN or NOT IN)" if token.text == "(" else ""
            raise self.unexpected(token, f"a quoted string for {target.label}{hint}")
        value = token.content
        if target.rule.value_type == "integer_string" and not _is_int64_string(value):
            raise self.source.error(f"{target.label} must be an integer id, got {_describe(token)}")
        return value

    def string_list(self, target: _Target) -> tuple[str, ...]:
        opening = self.advance()
        if opening.text != "(" or opening.kind != "punct":
            raise self.unexpected(opening, "'(' to start a list of quoted strings")
        items: list[str] = []
        while True:
            token = self.advance()
            if token.text == ")" and token.kind == "punct":
                if not items:
                    raise self.source.error(f"empty list at column {opening.start + 1}; IN needs at least one value")
                return tuple(items)
            items.append(self.string(token, target))
            separator = self.advance()
            if separator.text == ")" and separator.kind == "punct":
                return tuple(items)
            if separator.text != "," or separator.kind != "punct":
                raise self.unexpected(separator, "',' or ')' in the list")

    # -- order_by

    def parse_order_key(self) -> OrderKey:
        if self.peek().kind == "eof":
            raise self.source.error("empty clause; expected a field such as metrics.<key> [ASC|DESC]")
        prefix, prefix_col, key, key_col = self.identifier()
        target = self.resolve(prefix, prefix_col, key, key_col, for_order=True)
        ascending = True
        token = self.advance()
        if token.word in ("ASC", "DESC"):
            ascending = token.word == "ASC"
            token = self.advance()
            if token.kind != "eof":
                raise self.unexpected(token, "the end of the clause")
        elif token.kind != "eof":
            raise self.unexpected(token, "ASC, DESC or the end of the clause")
        return OrderKey(target.entity, target.key, ascending)


# ---------------------------------------------------------------------- public API


def parse_filter(text: str | None, grammar: Grammar) -> tuple[Comparison, ...]:
    """Parse a search filter into the comparisons it ANDs together.

    ``None`` and ``""`` mean "no filter" and give ``()``; whitespace-only text is refused, as the
    reference refuses it (with ``grammar.blank_filter_message``).
    Raises :class:`MlflowError` (``INVALID_PARAMETER_VALUE``) for anything else that
    is not a valid filter under ``grammar``.
    """
    if text is None:
        return ()
    if not isinstance(text, str):
        raise invalid(f"Invalid filter: expected a string, got {type(text).__name__}")
    if not text:
        return ()
    if not text.strip():
        raise invalid(grammar.blank_filter_message.format(text=text))
    return _Parser(_Source(text, "filter"), grammar).parse_filter()


def check_order_by_count(count: int) -> None:
    """At most `limits.MAX_ORDER_BY_KEYS` order_by clauses per search."""
    if count > limits.MAX_ORDER_BY_KEYS:
        raise invalid(
            f"Invalid value for parameter 'order_by' supplied: at most {limits.MAX_ORDER_BY_KEYS} "
            f"order_by clauses are allowed, got {count}."
        )


def parse_order_by(clauses: Sequence[str] | None, grammar: Grammar) -> tuple[OrderKey, ...]:
    """Parse ``order_by`` clauses such as ``"metrics.loss DESC"`` (ascending by default).

    Raises :class:`MlflowError` (``INVALID_PARAMETER_VALUE``) for a clause that does not
    name an orderable field of ``grammar``, and, when the grammar asks for it, for a
    field named twice.
    """
    if clauses is None:
        return ()
    if isinstance(clauses, str):
        clauses = (clauses,)
    check_order_by_count(len(clauses))
    keys: list[OrderKey] = []
    seen: set[tuple[str, str]] = set()
    for clause in clauses:
        if not isinstance(clause, str):
            raise invalid(f"Invalid order_by clause: expected a string, got {type(clause).__name__}")
        order_key = _Parser(_Source(clause, "order_by clause"), grammar).parse_order_key()
        identity = (order_key.entity, order_key.key)
        if grammar.unique_order_keys and identity in seen:
            raise invalid(
                f"Invalid order_by clause '{_echo(clause, _MAX_ECHO)}': {order_key.entity}"
                f" '{order_key.key}' is already ordered on by an earlier clause"
            )
        seen.add(identity)
        keys.append(order_key)
    return tuple(keys)


# ------------------------------------------------------------ logged models (MLflow 3)

# The reference server's logged-model grammar (mlflow.utils.search_logged_model_utils): string
# fields take =, !=, LIKE, ILIKE, IN and NOT IN; numeric ones (metrics, timestamps) take the
# ordering comparators; no IS NULL. Only metrics (and attributes) can be ordered on.
_LOGGED_MODEL_STRING_RULE: Final = KeyRule("string", _PATTERN_OPS | _LIST_COMPARATORS)
_LOGGED_MODEL_TIME_RULE: Final = KeyRule("float", _ORDERING_OPS)

LOGGED_MODEL_GRAMMAR: Final = Grammar(
    name="logged models",
    blank_filter_message="Invalid filter string: '{text}'. Expected a single SQL expression.",
    prefixes={
        "attributes": "attribute",
        "attribute": "attribute",
        "metrics": "metric",
        "metric": "metric",
        "params": "param",
        "param": "param",
        "tags": "tag",
        "tag": "tag",
    },
    attributes=(
        Attribute("name", _LOGGED_MODEL_STRING_RULE),
        Attribute("model_id", _LOGGED_MODEL_STRING_RULE),
        Attribute("model_type", _LOGGED_MODEL_STRING_RULE),
        Attribute("status", _LOGGED_MODEL_STRING_RULE),
        Attribute("source_run_id", _LOGGED_MODEL_STRING_RULE),
        Attribute(
            "creation_timestamp",
            _LOGGED_MODEL_TIME_RULE,
            aliases=("creation_time", "creation_timestamp_ms"),
            order_aliases=("creation_time", "creation_timestamp_ms"),
        ),
        Attribute(
            "last_updated_timestamp",
            _LOGGED_MODEL_TIME_RULE,
            aliases=("last_updated_time", "last_updated_timestamp_ms"),
            order_aliases=("last_updated_time", "last_updated_timestamp_ms"),
        ),
    ),
    entities={
        "metric": EntitySpec(_METRIC_RULE),
        "param": EntitySpec(_LOGGED_MODEL_STRING_RULE, orderable=False),
        "tag": EntitySpec(_LOGGED_MODEL_STRING_RULE, orderable=False),
    },
)

__all__ += ["LOGGED_MODEL_GRAMMAR"]


# ---------------------------------------------------------------------------- model registry

# The reference server's registry grammars (mlflow.utils.search_utils.SearchModelUtils and
# SearchModelVersionUtils with the SQL store's checks): prefixes `attribute.`, `tag.` and `tags.`;
# tags take =, !=, LIKE and ILIKE; `name` (and a version's `run_id`) also IN and NOT IN. Beyond the
# reference, the creation/last-update timestamps can be filtered on, and registered models can be
# ordered by `creation_timestamp` (the reference names it but its SQL store refuses it); `timestamp`
# orders by the last update, as in the reference.
_REGISTRY_PREFIXES: Final[Mapping[str, EntityType]] = {"attribute": "attribute", "tag": "tag", "tags": "tag"}
_REGISTRY_TAG_RULE: Final = KeyRule("string", _PATTERN_OPS)

REGISTERED_MODEL_GRAMMAR: Final = Grammar(
    name="registered models",
    prefixes=_REGISTRY_PREFIXES,
    attributes=(
        Attribute("name", _LIST_STRING_ATTR_RULE),
        Attribute("creation_timestamp", _NUMERIC_ATTR_RULE),
        Attribute("last_updated_timestamp", _NUMERIC_ATTR_RULE, order_aliases=("timestamp",)),
    ),
    entities={"tag": EntitySpec(_REGISTRY_TAG_RULE, orderable=False)},
)

MODEL_VERSION_GRAMMAR: Final = Grammar(
    name="model versions",
    prefixes=_REGISTRY_PREFIXES,
    attributes=(
        Attribute("name", _LIST_STRING_ATTR_RULE),
        Attribute("run_id", _LIST_STRING_ATTR_RULE, orderable=False),
        Attribute("source_path", _STRING_ATTR_RULE, orderable=False),
        Attribute("version_number", _NUMERIC_ATTR_RULE),
        Attribute("creation_timestamp", _NUMERIC_ATTR_RULE),
        Attribute("last_updated_timestamp", _NUMERIC_ATTR_RULE),
    ),
    entities={"tag": EntitySpec(_REGISTRY_TAG_RULE, orderable=False)},
)

__all__ += ["MODEL_VERSION_GRAMMAR", "REGISTERED_MODEL_GRAMMAR"]
