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
