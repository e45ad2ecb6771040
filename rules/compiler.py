"""compile_rule: rule text -> a type-checked CompiledRule that evaluates profiles with Kleene logic.

Pipeline: translate labels and 万/亿 (rules.translate) -> scan tokens (refuse null, other builtins, unknown
names, with positions) -> parse with rule-engine's parser untyped and type-check against the vocabulary
(rules.typecheck, precise expected/found) -> parse again with a typed ``rule_engine.Context`` as a backstop.
Evaluation walks rule-engine's AST itself (rules.evaluator), because rule-engine raises on null.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Mapping
from typing import Any

import rule_engine
import rule_engine.errors as re_errors
from rule_engine import ast
from rule_engine.parser.utilities import parse_float
from rule_engine.types import DataType

from rules.errors import ForbiddenError, RuleError, RuleSyntaxError, RuleTypeError, UnknownNameError
from rules.evaluator import DECIMAL_CONTEXT, Evaluator, Outcome
from rules.translate import Translation, translate
from rules.typecheck import ALLOWED_BUILTINS, TypeChecker, field_type, type_name
from rules.vocabulary import AS_OF, FIELDS, nearest_field

logger = logging.getLogger(__name__)

KINDS = {"rule": "boolean", "amount": "number"}
_FORBIDDEN_TOKENS = {
    "NULL": "null 字面量", "FOR": "列表推导（for）", "IF": "列表推导（if）", "COALESCE": "“??”运算",
    "ATTR": "属性访问“.”", "ATTR_SAFE": "属性访问“&.”", "BYTES": "字节串", "EQ_FZM": "正则匹配", "EQ_FZS": "正则匹配",
    "NE_FZM": "正则匹配", "NE_FZS": "正则匹配", "BWAND": "位运算“&”", "BWOR": "位运算“|”", "BWXOR": "位运算“^”",
    "BWLSH": "位运算“<<”", "BWRSH": "位运算“>>”", "FLOAT_INF": "inf", "FLOAT_NAN": "nan",
}
_RE_TYPES = {
    "number": DataType.FLOAT, "string": DataType.STRING, "date": DataType.DATETIME, "boolean": DataType.BOOLEAN,
    "set<string>": DataType.SET(DataType.STRING), "mapping<date>": DataType.MAPPING(DataType.STRING, DataType.DATETIME),
}
_SYMBOLS = frozenset(FIELDS) | {AS_OF}


def _resolver(typed: bool, name: str) -> Any:
    if name not in _SYMBOLS:
        raise re_errors.SymbolResolutionError(name)
    return _RE_TYPES[field_type(name)] if typed else DataType.UNDEFINED


def _context(typed: bool) -> rule_engine.Context:
    return rule_engine.Context(
        type_resolver=functools.partial(_resolver, typed), default_timezone="utc", decimal_context=DECIMAL_CONTEXT
    )


class CompiledRule:
    """A type-checked rule ('rule': boolean) or amount formula ('amount': number in 元).

    Attributes: ``text`` (as written), ``kind``, ``fields`` (frozenset of vocabulary codes referenced, as
    written: derived codes stay derived), ``statement`` (rule-engine AST, for the vectorised engine).
    """

    def __init__(self, text: str, kind: str, statement: ast.Statement, translation: Translation):
        self.text = text
        self.kind = kind
        self.statement = statement
        self.translation = translation
        self.fields: frozenset[str] = frozenset(_symbols(statement))

    def __repr__(self) -> str:
        return f"CompiledRule({self.text!r}, kind={self.kind!r})"

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return compile_rule, (self.text, self.kind)

    def render_zh(self) -> str:
        """The rule as written, with field codes shown as Chinese labels (营业收入 >= 100万)."""
        return self.translation.zh

    def evaluate(self, profile: Mapping[str, Any], as_of: datetime.date) -> Outcome:
        """Evaluate against one profile (field code -> typed value; missing/None = unknown; derived fields must
        already be present, see rules.derived.derive) at assessment date ``as_of``.

        Returns Outcome(value: bool | Decimal (元, unrounded) | None, missing: sorted codes, clauses).
        Raises TypeError when a profile value has the wrong Python type (e.g. float money).
        """
        evaluator = Evaluator(profile, as_of)
        value, missing = evaluator.run(self.statement)
        return Outcome(value, tuple(sorted(missing)), evaluator.clauses)


def _symbols(node: Any) -> set[str]:
    found: set[str] = set()

    def walk(n: Any) -> None:
        if isinstance(n, ast.SymbolExpression):
            if not n.scope and n.name in FIELDS:
                found.add(n.name)
            return
        for attr in ("expression", "left", "right", "condition", "case_true", "case_false", "container",
                     "member", "item", "function"):
            child = getattr(n, attr, None)
            if isinstance(child, ast.ASTNodeBase):
                walk(child)
        for attr in ("arguments", "value"):
            children = getattr(n, attr, None)
            if isinstance(children, list | tuple | set | frozenset):
                for child in children:
                    if isinstance(child, ast.ASTNodeBase):
                        walk(child)

    walk(node)
    return found


def _tokens(tr: Translation) -> list[Any]:
    lexer = rule_engine.Rule.parser._lexer.clone()
    lexer.lineno = 1
    lexer.input(tr.text)
    out = []
    try:
        while (tok := lexer.token()) is not None:
            out.append(tok)
    except re_errors.RuleSyntaxError as error:
        pos = tr.original_position(error.token.lexpos if error.token is not None else len(tr.text))
        raise RuleSyntaxError("非法字符（illegal character）", position=pos, found=tr.text[error.token.lexpos]
                              if error.token is not None else None) from None
    return out


def _scan(tr: Translation, tokens: list[Any]) -> None:
    for tok in tokens:
        if tok.type in _FORBIDDEN_TOKENS:
            raise ForbiddenError(f"规则语言不支持{_FORBIDDEN_TOKENS[tok.type]}（not allowed）",
                                 position=tr.original_position(tok.lexpos), found=str(tok.value))
    for tok in tokens:
        pos = tr.original_position(tok.lexpos)
        if tok.type != "SYMBOL":
            continue
        name = tok.value
        if name.startswith("$"):
            if name[1:] not in ALLOWED_BUILTINS:
                raise ForbiddenError(
                    f"不允许使用内置符号 {name}，只允许 $min、$max、$abs、$sum 和 as_of（rules never read the clock）",
                    position=pos, found=name,
                )
        elif name not in _SYMBOLS:
            hint = nearest_field(name)
            tail = f"，是否指 {hint.code}（{hint.label}）？(did you mean {hint.code} ({hint.label}))" if hint else ""
            raise UnknownNameError(f"未知字段“{name}”{tail}", position=pos, found=name,
                                   suggestion=hint.code if hint else None)


def _locator(tr: Translation, tokens: list[Any]) -> Any:
    def literal_text(tok: Any) -> str:
        value = str(tok.value)
        return value[1:-1] if value[:1] in "'\"" else value[2:-1]

    def locate(node: Any) -> int | None:
        for tok in tokens:
            if isinstance(node, ast.SymbolExpression) and tok.type == "SYMBOL":
                if tok.value == ("$" if node.scope else "") + node.name:
                    return tr.original_position(tok.lexpos)
            elif isinstance(node, ast.StringExpression) and tok.type == "STRING":
                if literal_text(tok) == node.value:
                    return tr.original_position(tok.lexpos)
            elif isinstance(node, ast.FloatExpression) and tok.type == "FLOAT":
                try:
                    if parse_float(tok.value) == node.value:
                        return tr.original_position(tok.lexpos)
                except Exception:  # noqa: BLE001 - hex/oct forms: keep looking
                    continue
            elif isinstance(node, ast.DatetimeExpression) and tok.type == "DATETIME":
                return tr.original_position(tok.lexpos)
        for attr in ("member", "left", "condition", "container", "function", "right", "expression"):
            child = getattr(node, attr, None)
            if isinstance(child, ast.ASTNodeBase):
                return locate(child)
        children = getattr(node, "arguments", None) or getattr(node, "value", None)
        if isinstance(children, list | tuple):
            for child in children:
                if isinstance(child, ast.ASTNodeBase) and (pos := locate(child)) is not None:
                    return pos
        return None

    return locate


def _parse(tr: Translation, typed: bool) -> ast.Statement:
    try:
        return rule_engine.Rule(tr.text, _context(typed)).statement
    except RuleError:
        raise
    except re_errors.RuleSyntaxError as error:
        at = error.token.lexpos if error.token is not None else len(tr.text)
        found = str(error.token.value) if error.token is not None else "规则结尾（end of rule）"
        raise RuleSyntaxError(
            "语法错误（syntax error）；应为“字段 比较符 值”并用 and/or/not 连接，括号成对，文字加引号；"
            "比例写成小数（5.5% 写作 0.055，% 是取余运算）",
            position=tr.original_position(at), found=found) from None
    except re_errors.SymbolResolutionError as error:
        raise UnknownNameError(f"未知字段“{error.symbol_name}”") from None
    except re_errors.EngineError as error:
        raise RuleTypeError(f"类型或取值错误（{error.message}）") from None


@functools.lru_cache(maxsize=4096)
def _compile(text: str, kind: str) -> CompiledRule:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    if not text or not text.strip():
        raise RuleSyntaxError("规则为空（empty rule）", position=0)
    tr = translate(text)
    tokens = _tokens(tr)
    _scan(tr, tokens)
    untyped = _parse(tr, typed=False)
    locate = _locator(tr, tokens)
    result = TypeChecker(locate).check(untyped)
    if result != KINDS[kind]:
        what = "资格规则的结果必须是布尔值（a rule must be boolean）" if kind == "rule" else \
            "金额公式的结果必须是数值，单位元（an amount must be a number）"
        raise RuleTypeError(what, position=0, expected=type_name(KINDS[kind]), found=type_name(result))
    return CompiledRule(text, kind, _parse(tr, typed=True), tr)


def compile_rule(text: str, kind: str = "rule") -> CompiledRule:
    """Compile a rule (``kind='rule'``, must be boolean) or an amount formula (``kind='amount'``, a number in 元).

    Accepts rule-engine syntax plus Chinese labels for field codes and 万/亿 suffixes on numbers outside string
    literals. Allowed: vocabulary fields, ``as_of``, $min/$max/$abs/$sum, date literals ``d'2025-01-01'``.

    Raises RuleError (RuleSyntaxError, RuleTypeError, UnknownNameError, ForbiddenError) whose ``position`` is
    an offset in ``text``; ValueError for an unknown ``kind``.
    """
    try:
        return _compile(text, kind)
    except RuleError as error:
        if error.text is None:
            error.text = text
        raise
