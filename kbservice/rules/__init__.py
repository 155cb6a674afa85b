"""Applicability rule language: validate, compile and evaluate rule documents (docs/rules.md)."""

from __future__ import annotations

from .engine import PREFILTERED_FACTS, CompiledRule, Evaluation, compile_rules
from .language import (
    STORAGE_LIMITS,
    RuleValidationError,
    check_rules,
    configured_limits,
    rule_errors,
    validate_rules,
)
from .model import Reason, Truth, Verdict

__all__ = [
    "PREFILTERED_FACTS",
    "STORAGE_LIMITS",
    "CompiledRule",
    "Evaluation",
    "Reason",
    "RuleValidationError",
    "Truth",
    "Verdict",
    "check_rules",
    "compile_rules",
    "configured_limits",
    "rule_errors",
    "validate_rules",
]
