"""Thin adapter over ``rules`` so importers keep working while parts of ``rules`` are still landing."""

from __future__ import annotations

import logging

import rules

logger = logging.getLogger(__name__)


def rule_problem(source: str, kind: str) -> str | None:
    """Chinese reason why ``source`` does not compile as a rule (kind 'rule') or amount formula (kind 'amount');
    None when it compiles, or when ``rules.compile_rule`` is not available.
    """
    compile_rule = getattr(rules, "compile_rule", None)
    rule_error = getattr(rules, "RuleError", None)
    if compile_rule is None or rule_error is None:
        logger.debug("rules.compile_rule not available; %s not checked", kind)
        return None
    try:
        compile_rule(source, kind=kind)
    except rule_error as exc:
        # RuleError.message already names the position (第N个字符处) and what was expected.
        message = getattr(exc, "message", None) or str(exc)
        return f"{'资格规则' if kind == 'rule' else '金额公式'}无法编译：{message}"
    return None


def known_fields() -> frozenset[str] | None:
    """Vocabulary field codes from ``rules.FIELDS`` (a mapping or collection), None if it has not landed."""
    fields = getattr(rules, "FIELDS", None)
    return None if fields is None else frozenset(fields)
