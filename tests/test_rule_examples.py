"""Every registered rule's BAD and GOOD examples run as tests, built-in or plugin."""

from __future__ import annotations

import pytest

from mldebt.registry import load_registry
from mldebt.rule import Example, Rule
from mldebt.testing import check_example

REGISTRY = load_registry()
CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{'bad' if example.bad else 'good'}-{i}")
    for rule in REGISTRY.sorted()
    for i, example in enumerate(rule.examples)
]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example_behaves_as_documented(rule: type[Rule], example: Example) -> None:
    assert check_example(rule, example) == []


@pytest.mark.parametrize("rule", REGISTRY.sorted(), ids=lambda r: r.code)
def test_rule_metadata_is_complete(rule: type[Rule]) -> None:
    assert rule.metadata_problems() == []


BUILT_IN = [
    rule
    for rule in REGISTRY.sorted()
    if REGISTRY.packs[rule.code] == "builtin" and rule.category != "analysis"
]


@pytest.mark.parametrize("rule", BUILT_IN, ids=lambda r: r.code)
def test_built_in_rules_document_three_bad_and_three_good_examples(rule: type[Rule]) -> None:
    """Every built-in rule (the analysis rules MLD001-MLD005 aside) shows at least three
    ways to get it wrong and three ways to get it right."""
    bad = sum(1 for e in rule.examples if e.bad)
    good = sum(1 for e in rule.examples if not e.bad)
    assert (bad >= 3, good >= 3) == (True, True), f"{rule.code}: {bad} BAD, {good} GOOD"
