"""Errors raised when a rule does not compile. Messages are in Chinese, with an English gloss."""

from __future__ import annotations


class RuleError(Exception):
    """A rule text that does not compile.

    Attributes:
        position: 0-based character offset in the ORIGINAL rule text, or None when it cannot be located.
        expected: what was expected there (Chinese, e.g. '数值（number）'), or None.
        found: what was found (e.g. "字符串（string）'100'"), or None.
        suggestion: the nearest field code for an unknown name ('revenue'), or None.
        message: the full Chinese message shown to people.
    """

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        expected: str | None = None,
        found: str | None = None,
        suggestion: str | None = None,
        text: str | None = None,
    ):
        self.position = position
        self.expected = expected
        self.found = found
        self.suggestion = suggestion
        self.text = text
        where = f"第{position + 1}个字符处" if position is not None else ""
        parts = [f"规则{where}{'：' if where else '错误：'}{message}"]
        if expected:
            parts.append(f"应为{expected}，实为{found or '—'}")
        self.message = "；".join(parts)
        super().__init__(self.message)

    def to_dict(self) -> dict[str, object]:
        """JSON-able form for API error bodies."""
        return {
            "message": self.message,
            "position": self.position,
            "expected": self.expected,
            "found": self.found,
            "suggestion": self.suggestion,
        }


class RuleSyntaxError(RuleError):
    """The text is not valid rule syntax."""


class RuleTypeError(RuleError):
    """Operands of the wrong type, or a rule of the wrong result type."""


class UnknownNameError(RuleError):
    """A name that is neither a field code, a Chinese label, nor an allowed symbol."""


class ForbiddenError(RuleError):
    """A construct the language refuses: null, $now and other builtins, regexes, comprehensions..."""
