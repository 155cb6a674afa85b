"""Applicability rule language: validate, compile and evaluate rule documents (docs/rules.md)."""

from __future__ import annotations

from .engine import CompiledRule, Evaluation, compile_rules
from .language import RuleValidationError, validate_rules
from .model import Reason, Truth, Verdict

__all__ = [
    "CompiledRule",
    "Evaluation",
    "Reason",
    "RuleValidationError",
    "Truth",
    "Verdict",
    "compile_rules",
    "validate_rules",
]
