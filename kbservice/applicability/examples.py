"""Rule examples: named systems with the verdict an article's rules must give them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog.facts import FactsValidationError, NormalizedSystem, normalize_system
from ..catalog.products import Catalog
from ..errors import ValidationFailed
from ..rules import CompiledRule, Verdict, compile_rules

Errors = dict[str, list[str]]

EXPECTATIONS = tuple(verdict.value for verdict in Verdict)
MAX_EXAMPLES = 100
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class ExampleResult:
    """One example judged by a rule document."""

    name: str
    expect: str
    verdict: str

    @property
    def ok(self) -> bool:
        """True when the rules give the example the verdict it expects."""
        return self.verdict == self.expect


def verdict_for(rule: CompiledRule, system: NormalizedSystem) -> Verdict:
    """The verdict `applicability.assess` gives `system` for an article with `rule`."""
    if not system.product_recognised:
        return Verdict.NOT_APPLICABLE
    return rule.evaluate(system.facts).verdict


def example_errors(examples: object, prefix: str = "examples") -> Errors:
    """What is wrong with the shape of an example list, by path below `prefix`."""
    if not isinstance(examples, list):
        return {prefix: ["must be a list"]}
    if len(examples) > MAX_EXAMPLES:
        return {prefix: [f"has {len(examples)} examples, more than the limit of {MAX_EXAMPLES}"]}
    errors: Errors = {}
    for index, example in enumerate(examples):
        path = f"{prefix}.{index}"
        if not isinstance(example, dict):
            errors[path] = ["must be an object with name, system and expect"]
            continue
        extra = sorted(set(map(str, example)) - {"name", "system", "expect"})
        if extra:
            errors[path] = [f"unknown key {extra[0]!r}"]
        name = example.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME_LENGTH:
            errors[f"{path}.name"] = [f"must be a text of 1 to {MAX_NAME_LENGTH} characters"]
        if not isinstance(example.get("system"), dict):
            errors[f"{path}.system"] = ["must be a SYSTEM object"]
        if example.get("expect") not in EXPECTATIONS:
            errors[f"{path}.expect"] = [f"must be one of {', '.join(EXPECTATIONS)}"]
    return errors


def judge_examples(
    rule: CompiledRule,
    examples: Sequence[Mapping[str, Any]],
    catalog: Catalog,
    prefix: str = "examples",
) -> list[ExampleResult]:
    """Each example's verdict under `rule`; an invalid system is ValidationFailed by path."""
    results: list[ExampleResult] = []
    errors: Errors = {}
    for index, example in enumerate(examples):
        try:
            system = normalize_system(example["system"], catalog)
        except FactsValidationError as exc:
            path = f"{prefix}.{index}.system"
            errors.update({".".join(p for p in (path, k) if p): m for k, m in exc.errors.items()})
            continue
        verdict = verdict_for(rule, system)
        results.append(ExampleResult(example["name"], example["expect"], verdict.value))
    if errors:
        raise ValidationFailed(
            "An example's system is invalid: " + ", ".join(sorted(errors)) + ".", errors=errors
        )
    return results


def check_examples(
    rules: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]],
    catalog: Catalog,
    prefix: str = "examples",
) -> list[ExampleResult]:
    """Refuse rules (already validated) giving an example another verdict (`examples.N`)."""
    shape = example_errors(list(examples), prefix)
    if shape:
        raise ValidationFailed(
            "The examples are invalid: " + ", ".join(sorted(shape)) + ".", errors=shape
        )
    rule = compile_rules(dict(rules), validate=False)
    results = judge_examples(rule, examples, catalog, prefix)
    errors = {
        f"{prefix}.{index}": [
            f"{result.name!r} expects {result.expect}, but the rules give {result.verdict}"
        ]
        for index, result in enumerate(results)
        if not result.ok
    }
    if errors:
        raise ValidationFailed(
            "The rules contradict examples: " + ", ".join(errors) + ".", errors=errors
        )
    return results
