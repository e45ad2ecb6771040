"""Static typing of a parsed rule against the vocabulary, and refusal of constructs the language leaves out.

Types are strings: 'number', 'string', 'boolean', 'date', 'timedelta', 'array<T>', 'set<T>', 'mapping<date>',
'function:<name>'. The node classes accepted here are exactly those the evaluator (and a vectorised engine)
must implement: see SUPPORTED_NODES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rule_engine import ast

from rules.errors import ForbiddenError, RuleTypeError
from rules.render import render
from rules.vocabulary import AS_OF, FIELDS

ALLOWED_BUILTINS = frozenset({"min", "max", "abs", "sum"})
SUPPORTED_NODES = (
    "BooleanExpression", "FloatExpression", "StringExpression", "DatetimeExpression", "TimedeltaExpression",
    "ArrayExpression", "SetExpression", "SymbolExpression", "FunctionCallExpression", "LogicExpression",
    "UnaryExpression", "ComparisonExpression", "ArithmeticComparisonExpression", "AddExpression",
    "SubtractExpression", "ArithmeticExpression", "ContainsExpression", "GetItemExpression", "TernaryExpression",
)
_FIELD_TYPES = {
    "string": "string", "money": "number", "integer": "number", "fraction": "number", "decimal": "number",
    "date": "date", "boolean": "boolean", "set": "set<string>", "mapping": "mapping<date>",
}
_NAMES = {
    "number": "数值（number）", "string": "字符串（string）", "boolean": "布尔值（boolean）", "date": "日期（date）",
    "timedelta": "时长（timedelta）", "mapping<date>": "资质→日期映射（mapping）",
}

Locate = Callable[[Any], "int | None"]


def type_name(ty: str) -> str:
    """Chinese (English) name of a type, for messages."""
    if ty in _NAMES:
        return _NAMES[ty]
    if ty.startswith(("array<", "set<")):
        inner = ty[ty.index("<") + 1 : -1]
        return f"{'列表' if ty.startswith('array') else '集合'}（{inner}）"
    if ty.startswith("function:"):
        return f"函数 ${ty[9:]}"
    return ty


def field_type(code: str) -> str:
    """The rule type of a vocabulary field or the symbol as_of."""
    return "date" if code == AS_OF else _FIELD_TYPES[FIELDS[code].type]


# How unsupported rule-engine syntax is named to people (the class name is kept for anything else).
_UNSUPPORTED = {
    "GetSliceExpression": "切片 [a:b]（请改用完整取值或列出可选值，如 industry_code in ['1610', '1620']）",
    "GetAttributeExpression": "属性访问“.”（日期请与日期字面量比较，如 成立日期 >= d'2025-01-01'）",
    "ComprehensionExpression": "列表推导",
    "MappingExpression": "字典字面量",
}


class TypeChecker:
    """Computes the type of every node; raises RuleTypeError / ForbiddenError with positions from ``locate``."""

    def __init__(self, locate: Locate):
        self.locate = locate

    def _mismatch(self, node: Any, expected: str, found: str, what: str) -> RuleTypeError:
        return RuleTypeError(
            f"{what}类型不匹配（type mismatch）", position=self.locate(node), expected=expected,
            found=f"{type_name(found)} {render(node)}",
        )

    def _forbid(self, node: Any, what: str) -> ForbiddenError:
        return ForbiddenError(f"规则语言不支持{what}（not allowed）", position=self.locate(node), found=render(node))

    def _expect(self, node: Any, allowed: tuple[str, ...], what: str) -> str:
        ty = self.check(node)
        if ty not in allowed:
            raise self._mismatch(node, "或".join(type_name(a) for a in allowed), ty, what)
        return ty

    def _same(self, left: Any, right: Any, allowed: tuple[str, ...], what: str) -> str:
        lt, rt = self.check(left), self.check(right)
        if lt == rt and lt in allowed:
            return lt
        # blame the literal side if there is one, else the right operand
        if isinstance(left, ast.LiteralExpressionBase) and not isinstance(right, ast.LiteralExpressionBase):
            blamed, good, bad = left, rt, lt
        else:
            blamed, good, bad = right, lt, rt
        if good not in allowed:
            blamed, good, bad = (left, allowed[0], lt) if lt not in allowed else (right, allowed[0], rt)
            expected = "或".join(type_name(a) for a in allowed)
        else:
            expected = type_name(good)
        raise self._mismatch(blamed, expected, bad, what)

    def check(self, node: Any) -> str:  # noqa: C901 - one branch per node class, kept flat on purpose
        if isinstance(node, ast.Statement):
            return self.check(node.expression)
        if isinstance(node, ast.NullExpression):
            raise self._forbid(node, " null 字面量（规则中未知值由数据缺失表示）")
        if isinstance(node, ast.BooleanExpression):
            return "boolean"
        if isinstance(node, ast.FloatExpression):
            return "number"
        if isinstance(node, ast.StringExpression):
            return "string"
        if isinstance(node, ast.DatetimeExpression):
            return "date"
        if isinstance(node, ast.TimedeltaExpression):
            return "timedelta"
        if isinstance(node, ast.ArrayExpression | ast.SetExpression):
            kind = "array" if isinstance(node, ast.ArrayExpression) else "set"
            types = [self.check(m) for m in node.value]
            if not types:
                raise self._forbid(node, "空列表")
            for member, ty in zip(node.value, types, strict=True):
                if ty != types[0] or ty not in ("number", "string", "date", "boolean"):
                    raise self._mismatch(member, type_name(types[0]), ty, "列表元素")
            return f"{kind}<{types[0]}>"
        if isinstance(node, ast.SymbolExpression):
            if node.scope:
                if node.name not in ALLOWED_BUILTINS:
                    raise self._forbid(node, f"内置符号 ${node.name}（只允许 $min、$max、$abs、$sum）")
                return "function:" + node.name
            return field_type(node.name)
        if isinstance(node, ast.FunctionCallExpression):
            fn = node.function
            if not (isinstance(fn, ast.SymbolExpression) and fn.scope and fn.name in ALLOWED_BUILTINS):
                raise self._forbid(node, "此函数调用")
            if len(node.arguments) != 1:
                raise RuleTypeError(f"${fn.name} 只接受一个参数（takes one argument）", position=self.locate(fn),
                                    expected="1 个参数", found=f"{len(node.arguments)} 个参数")
            allowed = ("number",) if fn.name == "abs" else ("array<number>",)
            self._expect(node.arguments[0], allowed, f"${fn.name} 的参数")
            return "number"
        if isinstance(node, ast.LogicExpression):
            self._expect(node.left, ("boolean",), f"“{node.type}”左侧")
            self._expect(node.right, ("boolean",), f"“{node.type}”右侧")
            return "boolean"
        if isinstance(node, ast.UnaryExpression):
            if node.type == "not":
                self._expect(node.right, ("boolean",), "“not”的操作数")
                return "boolean"
            self._expect(node.right, ("number",), "负号的操作数")
            return "number"
        if isinstance(node, ast.FuzzyComparisonExpression | ast.BitwiseExpression):
            raise self._forbid(node, "正则匹配和位运算")
        if isinstance(node, ast.ArithmeticComparisonExpression):
            self._same(node.left, node.right, ("number", "date", "timedelta", "string"), "比较")
            return "boolean"
        if isinstance(node, ast.ComparisonExpression):
            self._same(node.left, node.right, ("number", "date", "timedelta", "string", "boolean"), "比较")
            return "boolean"
        if isinstance(node, ast.AddExpression | ast.SubtractExpression):
            lt, rt = self.check(node.left), self.check(node.right)
            sub = isinstance(node, ast.SubtractExpression)
            table = {("number", "number"): "number", ("date", "timedelta"): "date",
                     ("timedelta", "timedelta"): "timedelta"}
            table |= {("date", "date"): "timedelta"} if sub else {("timedelta", "date"): "date"}
            if (lt, rt) in table:
                return table[(lt, rt)]
            return self._same(node.left, node.right, ("number",), "加减运算")
        if isinstance(node, ast.ArithmeticExpression):
            self._same(node.left, node.right, ("number",), "算术运算")
            return "number"
        if isinstance(node, ast.ContainsExpression):
            ct = self.check(node.container)
            if not ct.startswith(("array<", "set<")) and ct != "string":
                raise self._mismatch(node.container, "列表、集合或字符串", ct, "“in”右侧")
            inner = ct if ct == "string" else ct[ct.index("<") + 1 : -1]
            self._expect(node.member, (inner,), "“in”左侧")
            return "boolean"
        if isinstance(node, ast.GetItemExpression):
            self._expect(node.container, ("mapping<date>",), "取值“[…]”的对象")
            self._expect(node.item, ("string",), "取值“[…]”的键")
            return "date"
        if isinstance(node, ast.TernaryExpression):
            self._expect(node.condition, ("boolean",), "条件表达式“?:”的条件")
            return self._same(node.case_true, node.case_false, ("number", "string", "date", "boolean"), "“?:”两个分支")
        raise self._forbid(node, _UNSUPPORTED.get(type(node).__name__, f"语法 {type(node).__name__}"))
