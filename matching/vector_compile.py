"""compile_vector: a rule-engine AST (rules.CompiledRule.statement) -> a function over whole columns.

Each node becomes a closure ``Rows -> Vec`` that follows rules.evaluator node for node (Kleene logic, ``x/0``
unknown, closed-world qualifications, ABSENT dates). Clause-level results (symbols, comparisons, membership,
lookups, and/or/not) are cached on the :class:`Rows` under the node's canonical text, so items evaluated over
the same rows share identical sub-clauses.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from rule_engine import ast

import rules
from matching.vector_frame import date_days
from matching.vector_ops import (
    BITS,
    EPOCH,
    U0,
    Vec,
    absolute,
    arith,
    combine,
    compare,
    compare_literal,
    compare_values,
    constant,
    falses,
    make,
    negate,
    reduce_numbers,
    where,
)
from rules.evaluator import DECIMAL_CONTEXT, is_na
from rules.vocabulary import AS_OF, CLOSED_LISTS, FIELDS

Node = Callable[["Rows"], Vec]
_KINDS = {"money": "num", "integer": "num", "fraction": "num", "decimal": "num", "string": "str", "date": "date",
          "boolean": "bool", "set": "set", "mapping": "map"}
_CACHE_LIMIT = 512


class NotVectorisable(Exception):
    """The AST holds a node the vectorised engine does not implement; the caller falls back to per record."""


class Store:
    """The columns of a profile frame as numpy arrays, optionally permuted by ``order``."""

    def __init__(self, frame: pd.DataFrame, order: np.ndarray | None = None):
        self.frame = frame
        self.order = np.arange(len(frame)) if order is None else order
        self.as_of: datetime.date = frame.attrs["as_of"]
        self._cols: dict[str, tuple[Any, np.ndarray, int | None]] = {}
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, fn: Callable[[], Any]) -> Any:
        """A whole-column result computed once per store (qualification membership, date lookups)."""
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    def factor(self, code: str) -> tuple[np.ndarray, np.ndarray]:
        """A string column as (int64 codes in store order, -1 unknown; object array of the distinct values)."""
        def run() -> tuple[np.ndarray, np.ndarray]:
            val, known, _ = self.raw(code)
            codes, uniques = pd.factorize(pd.Series(np.where(known, val, None), dtype=object))
            return codes.astype(np.int64), np.asarray(uniques, dtype=object)
        return self.memo(("factor", code), run)

    def holds(self, code: str, name: str) -> np.ndarray:
        """Per store row: ``name`` is in the set column ``code``."""
        def run() -> np.ndarray:
            val, _, _ = self.raw(code)
            return np.fromiter((s is not None and name in s for s in val), dtype=bool, count=len(val))
        return self.memo(("holds", code, name), run)

    def raw(self, code: str) -> tuple[Any, np.ndarray, int | None]:
        """(values, known, fixed-point scale or None) of a column, in store order."""
        if code not in self._cols:
            if code not in self.frame.columns:
                raise KeyError(f"profile frame lacks column {code!r}")
            col = self.frame[code]
            scale = self.frame.attrs["scales"].get(code)
            known = col.notna().to_numpy()
            if code == CLOSED_LISTS:
                val, known = col.to_numpy(dtype=object), np.ones(len(col), dtype=bool)
            elif scale is not None:
                val = col.to_numpy(dtype=np.int64, na_value=0)
            elif FIELDS[code].type == "date":
                val, known = date_days(self.frame, code)
            elif FIELDS[code].type == "boolean":
                val = col.to_numpy(dtype=bool, na_value=False)
            else:  # None stays None (pandas may show it as NaN)
                val = np.where(known, col.to_numpy(dtype=object), None)
            self._cols[code] = (val[self.order], known[self.order], scale)
        return self._cols[code]


class Rows:
    """A selection of store rows (a slice or an index array) plus the clause cache for one run over them."""

    def __init__(self, store: Store, sel: slice | np.ndarray):
        self.store, self.sel = store, sel
        self.n = len(range(*sel.indices(len(store.order)))) if isinstance(sel, slice) else len(sel)
        self.cache: dict[Any, Any] = {}

    def cached(self, key: Any, fn: Callable[[], Any]) -> Any:
        if key not in self.cache:
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.pop(next(iter(self.cache)))  # bounded memory: drop the oldest entry
            self.cache[key] = fn()
        return self.cache[key]

    def raw(self, code: str) -> tuple[Any, np.ndarray, int | None]:
        val, known, scale = self.store.raw(code)
        return val[self.sel], known[self.sel], scale

    def symbol(self, code: str) -> Vec:
        if code == AS_OF:
            return constant("date", self.store.as_of, self.n)
        val, known, scale = self.raw(code)
        kind = _KINDS[FIELDS[code].type]
        miss = np.where(known, U0, np.uint64(BITS[code]))
        if kind in ("set", "map"):
            return Vec(kind, val, known, miss, falses(self.n))
        if kind == "num" and scale is None:
            val = np.where(known, val, Decimal(0))
        return make(kind, val, known, miss, None, scale)

    def holds(self, code: str, name: str) -> np.ndarray:
        """Per row: ``name`` is in the set column ``code`` (qualifications or closed_lists)."""
        return self.store.holds(code, name)[self.sel]


def key_of(node: Any) -> str:
    """Canonical text of a node (the cache key of its column result)."""
    name = type(node).__name__
    if isinstance(node, ast.Statement):
        return key_of(node.expression)
    if isinstance(node, ast.ArrayExpression | ast.SetExpression):
        return f"{name}[{','.join(key_of(m) for m in node.value)}]"
    if isinstance(node, ast.LiteralExpressionBase):
        return f"{name}({node.value!r})"
    if isinstance(node, ast.SymbolExpression):
        return ("$" if node.scope else "") + node.name
    if isinstance(node, ast.FunctionCallExpression):
        return f"{key_of(node.function)}({','.join(key_of(a) for a in node.arguments)})"
    if isinstance(node, ast.UnaryExpression):
        return f"({node.type} {key_of(node.right)})"
    if isinstance(node, ast.BinaryExpressionBase):
        return f"({node.type} {key_of(node.left)} {key_of(node.right)})"
    if isinstance(node, ast.ContainsExpression):
        return f"(in {key_of(node.member)} {key_of(node.container)})"
    if isinstance(node, ast.GetItemExpression):
        return f"{key_of(node.container)}[{key_of(node.item)}]"
    if isinstance(node, ast.TernaryExpression):
        return f"(? {key_of(node.condition)} {key_of(node.case_true)} {key_of(node.case_false)})"
    raise NotVectorisable(name)


class VectorRule:
    """A compiled rule or amount formula over columns: ``evaluate(rows) -> Vec`` (bool or num)."""

    def __init__(self, rule: rules.CompiledRule):
        self.rule = rule
        self.key = key_of(rule.statement)
        self._fn = _compile(rule.statement.expression)

    def evaluate(self, rows: Rows) -> Vec:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return self._fn(rows)


def compile_vector(rule: rules.CompiledRule) -> VectorRule:
    """Compile a rule (boolean) or amount formula (number, 元) for column-wise evaluation.

    Raises NotVectorisable for an AST node outside rules.SUPPORTED_NODES.
    """
    key = (rule.text, rule.kind)
    if key not in _COMPILED:
        if len(_COMPILED) >= 20_000:
            _COMPILED.clear()  # bounded: items are re-compiled after many distinct rules
        _COMPILED[key] = VectorRule(rule)
    return _COMPILED[key]


_COMPILED: dict[tuple[str, str], VectorRule] = {}


def _cache(node: Any, fn: Node) -> Node:
    key = key_of(node)
    return lambda rows: rows.cached(key, lambda: fn(rows))


def _compile(node: Any) -> Node:  # noqa: C901 - one branch per node class, as rules.evaluator
    if isinstance(node, ast.DatetimeExpression):
        day = node.value.date()
        return lambda rows: constant("date", day, rows.n)
    if isinstance(node, ast.TimedeltaExpression):
        td = node.value
        return lambda rows: constant("td", td, rows.n)
    if isinstance(node, ast.ArrayExpression | ast.SetExpression):
        members = [_compile(m) for m in node.value]
        return lambda rows: _array([m(rows) for m in members])
    if isinstance(node, ast.BooleanExpression):
        return lambda rows, v=node.value: constant("bool", v, rows.n)
    if isinstance(node, ast.FloatExpression):
        return lambda rows, v=node.value: constant("num", v, rows.n)
    if isinstance(node, ast.StringExpression):
        return lambda rows, v=node.value: constant("str", v, rows.n)
    if isinstance(node, ast.SymbolExpression) and not node.scope:
        return _cache(node, lambda rows, name=node.name: rows.symbol(name))
    if isinstance(node, ast.LogicExpression):
        return _cache(node, _logic(node.type, _compile(node.left), _compile(node.right)))
    if isinstance(node, ast.UnaryExpression):
        inner = _compile(node.right)
        return _cache(node, (lambda rows: _not(inner(rows))) if node.type == "not" else (lambda rows: negate(inner(rows))))
    if isinstance(node, ast.ComparisonExpression):
        left, right, op = _compile(node.left), _compile(node.right), node.type
        lit, swapped = _literal(node.right), False
        if lit is None:
            lit, swapped = _literal(node.left), True
        if lit is not None:
            return _cache(node, _compare_literal(op, right if swapped else left, lit, swapped))
        return _cache(node, lambda rows: compare(op, left(rows), right(rows)))
    if isinstance(node, ast.BinaryExpressionBase) and node.type in ("add", "sub", "mul", "tdiv", "fdiv", "mod", "pow"):
        left, right, op = _compile(node.left), _compile(node.right), node.type
        return lambda rows: arith(op, left(rows), right(rows))
    if isinstance(node, ast.ContainsExpression):
        return _cache(node, _contains(node))
    if isinstance(node, ast.GetItemExpression) and isinstance(node.container, ast.SymbolExpression):
        return _cache(node, _get_item(node))
    if isinstance(node, ast.FunctionCallExpression) and node.function.name in ("min", "max", "sum", "abs"):
        arg, fn = _compile(node.arguments[0]), node.function.name
        return lambda rows: _call(fn, arg(rows))
    if isinstance(node, ast.TernaryExpression):
        cond, yes, no = _compile(node.condition), _compile(node.case_true), _compile(node.case_false)
        return lambda rows: _ternary(cond(rows), yes(rows), no(rows))
    raise NotVectorisable(type(node).__name__)


def _literal(node: Any) -> tuple[str, Any] | None:
    """(kind, value) of a number, string or date literal node, else None."""
    if isinstance(node, ast.FloatExpression):
        return "num", node.value
    if isinstance(node, ast.StringExpression):
        return "str", node.value
    if isinstance(node, ast.DatetimeExpression):
        return "date", node.value.date()
    return None


def _compare_literal(op: str, side: Node, lit: tuple[str, Any], swapped: bool) -> Node:
    """A comparison of an expression with a literal, without broadcasting the literal to every row."""
    kind, value = lit

    def run(rows: Rows) -> Vec:
        a = side(rows)
        out = compare_literal(op, a, kind, value, swapped)
        if out is not None:
            return out
        c = constant(kind, value, rows.n)
        return compare(op, c, a) if swapped else compare(op, a, c)
    return run


def _array(members: list[Vec]) -> Vec:
    known, absent, miss = combine(members)
    return Vec("array", members, known, miss, absent)


def _call(fn: str, arg: Vec) -> Vec:
    if fn == "abs":
        return absolute(arg)
    return reduce_numbers(fn, arg.val, arg.known, arg.absent, arg.miss)


def _not(v: Vec) -> Vec:
    return make("bool", ~v.val, v.known, v.miss, v.absent)


def _logic(op: str, left: Node, right: Node) -> Node:
    def run(rows: Rows) -> Vec:
        a, b = left(rows), right(rows)
        want = op == "or"  # True decides 'or', False decides 'and'
        decided = (a.known & (a.val == want)) | (b.known & (b.val == want))
        known = decided | (a.known & b.known)
        miss = a.miss | b.miss  # a Vec's miss is 0 where it is known or absent (see make)
        return make("bool", decided if want else ~decided, known, miss)
    return run


def _ternary(cond: Vec, yes: Vec, no: Vec) -> Vec:
    out = where(cond.val, yes, no)
    unknown = ~cond.known
    return make(out.kind, out.val, out.known & ~unknown, np.where(unknown, cond.miss, out.miss),
                out.absent & ~unknown, out.scale)


def _contains(node: Any) -> Node:
    member_fn, container_fn = _compile(node.member), _compile(node.container)
    is_quals = isinstance(node.container, ast.SymbolExpression) and node.container.name == "qualifications"
    literal = node.member.value if isinstance(node.member, ast.StringExpression) else None

    literals = _literal_array(node.container)
    factor = node.member.name if isinstance(node.member, ast.SymbolExpression) and not node.member.scope \
        and node.member.name in FIELDS and FIELDS[node.member.name].type == "string" else None

    def run(rows: Rows) -> Vec:
        m = member_fn(rows)
        if literals is not None:  # a list of literals: known, never absent; no constant columns
            hit = _in_literals(rows, m, factor, literals)
            if hit is not None:
                unknown = m.unknown
                return make("bool", m.known & hit, ~unknown, np.where(unknown, m.miss, U0))
        c = container_fn(rows)
        if (m.known & c.absent).any():
            raise TypeError("argument of type '_Absent' is not iterable")  # as the per-record engine
        if c.kind == "set" and literal is not None:
            hit = rows.cached(("holds", c.kind, literal), lambda: rows.holds("qualifications", literal))
        elif c.kind == "array":
            hit = falses(rows.n)
            for member in c.val:
                hit |= compare_values("eq", m, member)
        else:  # a set field with a computed member, or a substring test on strings
            hit = np.fromiter((bool(c.known[i]) and m.val[i] in c.val[i] for i in range(rows.n)), dtype=bool,
                              count=rows.n)
        found = m.known & c.known & hit
        rest = m.known & ~found
        if is_quals:
            closed = _closed_has(rows, m, literal) & rest
            unknown_c = rest & ~closed
            miss_c = np.uint64(BITS["qualifications"])
        else:
            unknown_c, miss_c = rest & c.unknown, c.miss
        unknown = m.unknown | unknown_c
        miss = np.where(m.unknown, m.miss | np.where(c.unknown, c.miss, U0), np.where(unknown_c, miss_c, U0))
        return make("bool", found, ~unknown, miss)
    return run


def _literal_array(node: Any) -> list[tuple[str, Any]] | None:
    if not isinstance(node, ast.ArrayExpression | ast.SetExpression) or not node.value:
        return None
    out = [_literal(m) for m in node.value]
    return None if any(x is None for x in out) else out  # type: ignore[return-value]


def _in_literals(rows: Rows, m: Vec, factor: str | None, literals: list[tuple[str, Any]]) -> np.ndarray | None:
    """Per row: the member equals one of the literals (raw values; the caller masks by known), or None when a
    literal's kind does not fit the fast paths."""
    if factor is not None and all(kind == "str" for kind, _ in literals):
        codes, uniques = rows.store.factor(factor)
        wanted = np.append(np.isin(uniques, [v for _, v in literals]), False)  # code -1 (unknown) -> False
        return wanted[codes[rows.sel]]
    hit = falses(rows.n)
    for kind, value in literals:
        eq = compare_literal("eq", m, kind, value)
        if eq is None:
            return None
        hit |= eq.val
    return hit


def _closed_has(rows: Rows, key: Vec, literal: str | None) -> np.ndarray:
    if literal is not None:
        return rows.cached(("holds", CLOSED_LISTS, literal), lambda: rows.holds(CLOSED_LISTS, literal))
    closed, _, _ = rows.raw(CLOSED_LISTS)
    return np.fromiter((bool(key.known[i]) and key.val[i] in closed[i] for i in range(rows.n)), dtype=bool,
                       count=rows.n)


def _get_item(node: Any) -> Node:
    code, item_fn = node.container.name, _compile(node.item)
    literal = node.item.value if isinstance(node.item, ast.StringExpression) else None

    def lookup(rows: Rows, key: Vec) -> tuple[np.ndarray, np.ndarray]:
        maps, _, _ = rows.raw(code)
        days, found = np.zeros(rows.n, dtype=np.int64), falses(rows.n)
        for i in range(rows.n):
            if not key.known[i] or maps[i] is None or key.val[i] not in maps[i]:
                continue
            value = maps[i][key.val[i]]
            if is_na(value):
                continue  # present but unknown: a missing field, like an absent key outside a closed list
            value = value.date() if isinstance(value, datetime.datetime) else value
            days[i], found[i] = (value - EPOCH).days, True
        return days, found

    def whole(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(days, found, present) of the literal key over every store row, computed once per store."""
        maps = store.raw(code)[0]
        n = len(maps)
        days, found, present = np.zeros(n, dtype=np.int64), falses(n), falses(n)
        for i, m in enumerate(maps.tolist()):
            if m is None or literal not in m:
                continue
            present[i] = True
            value = m[literal]
            if is_na(value):
                continue  # present but unknown, as in lookup
            value = value.date() if isinstance(value, datetime.datetime) else value
            days[i], found[i] = (value - EPOCH).days, True
        return days, found, present

    def run(rows: Rows) -> Vec:
        key = item_fn(rows)
        if literal is not None:
            days, found, present = (x[rows.sel] for x in rows.store.memo(("lookup", code, literal),
                                                                         lambda: whole(rows.store)))
        else:
            days, found = lookup(rows, key)
            present = key.known & np.fromiter((maps is not None and k in maps for maps, k in
                                               zip(rows.raw(code)[0], key.val, strict=True)), dtype=bool,
                                              count=rows.n)
        absent = key.known & ~present & _closed_has(rows, key, literal)
        miss = np.where(key.known, np.uint64(BITS[code]), key.miss)
        return make("date", days, found, miss, absent)
    return run
