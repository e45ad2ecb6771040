"""The vocabulary of the enterprise profile (一企一档) and the rule language, shared by every package."""

from rules.compiler import CompiledRule, compile_rule
from rules.derived import DATA_ISSUES, derive, scale_of, section_of
from rules.errors import ForbiddenError, RuleError, RuleSyntaxError, RuleTypeError, UnknownNameError
from rules.evaluator import Clause, Outcome
from rules.render import ABSENT
from rules.typecheck import ALLOWED_BUILTINS, SUPPORTED_NODES
from rules.vocabulary import (
    AS_OF,
    CLOSED_LISTS,
    FIELDS,
    LABELS,
    SOURCES,
    Field,
    decode_value,
    encode_value,
    field_for,
)

__all__ = [
    "ABSENT", "ALLOWED_BUILTINS", "AS_OF", "CLOSED_LISTS", "DATA_ISSUES", "FIELDS", "LABELS", "SOURCES", "SUPPORTED_NODES",
    "Clause", "CompiledRule", "Field", "ForbiddenError", "Outcome", "RuleError", "RuleSyntaxError",
    "RuleTypeError", "UnknownNameError", "compile_rule", "decode_value", "derive", "encode_value", "field_for", "scale_of", "section_of",
]
