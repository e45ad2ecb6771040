"""Per-record evaluation of a compiled rule with Kleene three-valued logic. The reference implementation.

Every node returns ``(value, missing)``: ``value`` is the typed value, ``None`` for unknown, or ``ABSENT`` for a
closed-world absence (qualified_on['X'] where X's list was imported and the enterprise is not on it; any
comparison on it is false); ``missing`` is the frozenset of vocabulary codes whose unknown values made it
unknown. Unknown propagates through comparisons, arithmetic, ``in``, functions and ternary conditions;
``x / 0`` is unknown; and/or/not are Kleene. Numbers are Decimal in a 60-digit context, never float.
"""

from __future__ import annotations

import datetime
import decimal
import math
import numbers
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rule_engine import ast

from rules.render import ABSENT, display, is_literal, render
from rules.vocabulary import AS_OF, CLOSED_LISTS, FIELDS

DECIMAL_CONTEXT = decimal.Context(
    prec=60, rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
NONE: frozenset[str] = frozenset()
_CMP = {"eq": operator.eq, "ne": operator.ne, "ge": operator.ge, "gt": operator.gt, "le": operator.le,
        "lt": operator.lt}
_ARITH = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "tdiv": operator.truediv,
          "fdiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow}
_FUNCS = {"min": min, "max": max, "sum": sum, "abs": abs}


@dataclass
class Clause:
    """One comparison / membership test as evaluated: ``text`` with Chinese labels, ``values`` mapping each
    non-literal operand (rendered) to its display string, ``outcome`` 'pass' | 'fail' | 'unknown'."""

    text: str
    values: dict[str, str]
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "values": dict(self.values), "outcome": self.outcome}


@dataclass
class Outcome:
    """Result of CompiledRule.evaluate: ``value`` bool | Decimal | None (unknown; amounts are not rounded),
    ``missing`` sorted distinct codes that made it unknown (empty when known), ``clauses`` the explanation."""

    value: bool | Decimal | None
    missing: tuple[str, ...] = ()
    clauses: list[Clause] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        value = str(self.value) if isinstance(self.value, Decimal) else self.value
        return {"value": value, "missing": list(self.missing), "clauses": [c.to_dict() for c in self.clauses]}


def is_na(value: Any) -> bool:
    """True for every spelling of an unknown profile value: None, NaN, pandas NA and NaT."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def typed_value(code: str, value: Any) -> Any:
    """A profile value normalised for evaluation (None for unknown). Raises TypeError on a wrong type
    (e.g. a float for money: money is never float)."""
    if is_na(value):
        return None
    ty = FIELDS[code].type
    if ty in ("money", "integer", "fraction", "decimal"):
        if isinstance(value, Decimal):
            return value
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return Decimal(int(value))
    elif ty == "date":
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
    elif ty == "boolean":
        if isinstance(value, bool):
            return value
    elif ty == "string":
        if isinstance(value, str):
            return value
    elif ty == "set":
        if isinstance(value, set | frozenset | list | tuple):
            return frozenset(value)
    elif isinstance(value, Mapping):
        return value
    raise TypeError(f"profile field {code!r}: expected {ty}, got {type(value).__name__} {value!r}")


class Evaluator:
    """Evaluates one AST against one profile; collects clauses."""

    def __init__(self, profile: Mapping[str, Any], as_of: datetime.date):
        self.profile = profile
        self.as_of = as_of.date() if isinstance(as_of, datetime.datetime) else as_of
        self.closed = frozenset(profile.get(CLOSED_LISTS) or ())
        self.clauses: list[Clause] = []

    def run(self, node: Any) -> tuple[Any, frozenset[str]]:
        with decimal.localcontext(DECIMAL_CONTEXT):
            value, missing = self.eval(node)
        if value is ABSENT:
            value = None
        return value, (missing if value is None else NONE)

    def _clause(self, node: Any, operands: tuple[tuple[Any, Any], ...], value: Any) -> None:
        values = {render(n): display(v) for n, v in operands if not is_literal(n)}
        outcome = "unknown" if value is None else ("pass" if value else "fail")
        self.clauses.append(Clause(render(node), values, outcome))

    def eval(self, node: Any) -> tuple[Any, frozenset[str]]:  # noqa: C901 - one branch per node class
        if isinstance(node, ast.Statement):
            return self.eval(node.expression)
        if isinstance(node, ast.DatetimeExpression):
            return node.value.date(), NONE
        if isinstance(node, ast.ArrayExpression | ast.SetExpression):
            items = [self.eval(m) for m in node.value]
            return self._combine(items, lambda *vs: tuple(vs))
        if isinstance(node, ast.LiteralExpressionBase):
            return node.value, NONE
        if isinstance(node, ast.SymbolExpression):
            if node.name == AS_OF:
                return self.as_of, NONE
            value = typed_value(node.name, self.profile.get(node.name))
            return value, (frozenset({node.name}) if value is None else NONE)
        if isinstance(node, ast.LogicExpression):
            return self._logic(node)
        if isinstance(node, ast.UnaryExpression):
            value, missing = self._boolean_operand(node.right) if node.type == "not" else self.eval(node.right)
            if value is None or value is ABSENT:
                return value, missing
            return (not value) if node.type == "not" else -value, NONE
        if isinstance(node, ast.ComparisonExpression):
            left, right = self.eval(node.left), self.eval(node.right)
            value, missing = self._compare(node.type, left, right)
            self._clause(node, ((node.left, left[0]), (node.right, right[0])), value)
            return value, missing
        if isinstance(node, ast.BinaryExpressionBase):
            left, right = self.eval(node.left), self.eval(node.right)
            if node.type in ("tdiv", "fdiv", "mod") and right[0] == 0 and left[0] is not None:
                return None, left[1] | right[1]  # x / 0 is unknown; flagged as no missing field
            return self._combine([left, right], _ARITH[node.type])
        if isinstance(node, ast.ContainsExpression):
            return self._contains(node)
        if isinstance(node, ast.GetItemExpression):
            return self._get_item(node)
        if isinstance(node, ast.FunctionCallExpression):
            args = [self.eval(a) for a in node.arguments]
            return self._combine(args, _FUNCS[node.function.name])
        if isinstance(node, ast.TernaryExpression):
            cond, missing = self.eval(node.condition)
            if cond is None:
                return None, missing
            return self.eval(node.case_true if cond else node.case_false)
        raise TypeError(f"unsupported node {type(node).__name__}")  # typecheck refuses these earlier

    @staticmethod
    def _combine(items: list[tuple[Any, frozenset[str]]], fn: Any) -> tuple[Any, frozenset[str]]:
        unknown = [m for v, m in items if v is None]
        if unknown:
            return None, frozenset().union(*unknown)
        if any(v is ABSENT for v, _ in items):
            return ABSENT, NONE
        return fn(*(v for v, _ in items)), NONE

    def _boolean_operand(self, node: Any) -> tuple[Any, frozenset[str]]:
        value, missing = self.eval(node)
        if isinstance(node, ast.SymbolExpression):  # a bare boolean field is a test of its own
            self._clause(node, ((node, value),), value)
        return value, missing

    def _logic(self, node: Any) -> tuple[Any, frozenset[str]]:
        (lv, lm), (rv, rm) = self._boolean_operand(node.left), self._boolean_operand(node.right)
        decisive = node.type == "or"  # True decides 'or', False decides 'and'
        if lv is decisive or rv is decisive:
            return decisive, NONE
        if lv is None or rv is None:
            return None, (lm if lv is None else NONE) | (rm if rv is None else NONE)
        return not decisive, NONE

    def _compare(self, op: str, left: tuple[Any, frozenset[str]], right: tuple[Any, frozenset[str]]) -> Any:
        if left[0] is ABSENT or right[0] is ABSENT:
            return False, NONE  # closed world: any comparison on an absent qualification date is false
        if left[0] is None or right[0] is None:
            return None, (left[1] if left[0] is None else NONE) | (right[1] if right[0] is None else NONE)
        return _CMP[op](left[0], right[0]), NONE

    def _contains(self, node: Any) -> tuple[Any, frozenset[str]]:
        member, container = self.eval(node.member), self.eval(node.container)
        (mv, mm), (cv, cm) = member, container
        is_quals = isinstance(node.container, ast.SymbolExpression) and node.container.name == "qualifications"
        if mv is ABSENT:
            value, missing = False, NONE
        elif mv is None:
            value, missing = None, mm | (cm if cv is None else NONE)
        elif cv is not None and mv in cv:
            value, missing = True, NONE
        elif is_quals and mv in self.closed:
            value, missing = False, NONE  # closed world: the list was imported and the enterprise is absent
        elif cv is None or is_quals:
            value, missing = None, frozenset({"qualifications"}) if is_quals else cm
        else:
            value, missing = False, NONE
        self._clause(node, ((node.member, mv), (node.container, cv)), value)
        return value, missing

    def _get_item(self, node: Any) -> tuple[Any, frozenset[str]]:
        (mapping, _), (key, key_missing) = self.eval(node.container), self.eval(node.item)
        code = node.container.name if isinstance(node.container, ast.SymbolExpression) else ""
        if key is None:
            return None, key_missing
        if mapping is not None and key in mapping:
            found = mapping[key]
            if is_na(found):
                return None, frozenset({code})
            return (found.date() if isinstance(found, datetime.datetime) else found), NONE
        if key in self.closed:
            return ABSENT, NONE
        return None, frozenset({code})
