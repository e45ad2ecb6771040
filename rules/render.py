"""Render rule-engine AST nodes back to text (with Chinese labels or codes) and values for display."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Set
from decimal import Decimal
from typing import Any

from rule_engine import ast

from rules.vocabulary import AS_OF, AS_OF_LABEL, FIELDS


class _Absent:
    """Closed-world absence: the qualification's list was imported and the enterprise is not on it."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()

_OPS = {
    "and": "and", "or": "or", "eq": "==", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<",
    "add": "+", "sub": "-", "mul": "*", "tdiv": "/", "fdiv": "//", "mod": "%", "pow": "**",
}
_PREC = {"or": 1, "and": 2, "eq": 4, "ne": 4, "ge": 4, "gt": 4, "le": 4, "lt": 4,
         "add": 5, "sub": 5, "mul": 6, "tdiv": 6, "fdiv": 6, "mod": 6, "pow": 7}


def plain_decimal(value: Decimal) -> str:
    """A Decimal as plain positional text, never in exponent form: Decimal('1E+6') -> '1000000'."""
    text = format(value, "f")
    return text


def _precedence(node: Any) -> int:
    if isinstance(node, ast.TernaryExpression):
        return 0
    if isinstance(node, ast.BinaryExpressionBase):
        return _PREC.get(node.type, 4)
    if isinstance(node, ast.ContainsExpression):
        return 4
    if isinstance(node, ast.UnaryExpression):
        return 3 if node.type == "not" else 8
    return 9


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(node: Any, labels: bool = True) -> str:
    """Text of an AST node; field codes become Chinese labels when ``labels``."""

    def sub(child: Any, min_prec: int) -> str:
        text = render(child, labels)
        return f"({text})" if _precedence(child) < min_prec else text

    if isinstance(node, ast.Statement):
        return render(node.expression, labels)
    if isinstance(node, ast.SymbolExpression):
        if node.scope:
            return "$" + node.name
        if labels and node.name in FIELDS:
            return FIELDS[node.name].label
        if labels and node.name == AS_OF:
            return AS_OF_LABEL
        return node.name
    if isinstance(node, ast.BooleanExpression):
        return "true" if node.value else "false"
    if isinstance(node, ast.FloatExpression):
        return plain_decimal(node.value)
    if isinstance(node, ast.StringExpression):
        return _quote(node.value)
    if isinstance(node, ast.DatetimeExpression):
        return f"d'{node.value.date().isoformat()}'"
    if isinstance(node, ast.TimedeltaExpression):
        return f"t'P{node.value.days}D'" if not node.value.seconds else f"t'PT{int(node.value.total_seconds())}S'"
    if isinstance(node, ast.NullExpression):
        return "null"
    if isinstance(node, ast.ArrayExpression):
        return "[" + ", ".join(render(m, labels) for m in node.value) + "]"
    if isinstance(node, ast.SetExpression):
        return "{" + ", ".join(sorted(render(m, labels) for m in node.value)) + "}"
    if isinstance(node, ast.FunctionCallExpression):
        return render(node.function, labels) + "(" + ", ".join(render(a, labels) for a in node.arguments) + ")"
    if isinstance(node, ast.GetItemExpression):
        return sub(node.container, 9) + "[" + render(node.item, labels) + "]"
    if isinstance(node, ast.ContainsExpression):
        return f"{sub(node.member, 5)} in {sub(node.container, 5)}"
    if isinstance(node, ast.UnaryExpression):
        if node.type == "not":
            return "not " + sub(node.right, 3)
        return "-" + sub(node.right, 9)
    if isinstance(node, ast.TernaryExpression):
        return f"{sub(node.condition, 1)} ? {sub(node.case_true, 1)} : {sub(node.case_false, 0)}"
    if isinstance(node, ast.BinaryExpressionBase):
        prec = _PREC.get(node.type, 4)
        # left-associative: the right operand needs parens at equal precedence
        return f"{sub(node.left, prec)} {_OPS.get(node.type, node.type)} {sub(node.right, prec + 1)}"
    return f"<{type(node).__name__}>"


def display(value: Any) -> str:
    """A value as shown in explanations: Decimal plain, date ISO, bool 是/否, unknown 未知."""
    if value is None:
        return "未知"
    if value is ABSENT:
        return "无（名单中未列）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return f"{value.days}天"
    if isinstance(value, Mapping):
        return "、".join(f"{k}:{display(v)}" for k, v in sorted(value.items())) or "（空）"
    if isinstance(value, Set | list | tuple):
        items = sorted(display(v) for v in value)
        return "、".join(items) if items else "（空）"
    return str(value)


def is_literal(node: Any) -> bool:
    """True for literal nodes, whose values are visible in the rendered text already."""
    return isinstance(node, ast.LiteralExpressionBase)
