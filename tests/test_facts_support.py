"""Helpers for the ML facts tests: run the real shared traversal on a snippet or a fixture."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

from mldebt.context import FileContext
from mldebt.facts.extract import FactsCollector
from mldebt.facts.ml import MLFactsCollector
from mldebt.facts.model import ModuleFacts
from mldebt.source import Source, decode_notebook, decode_python
from mldebt.traversal import Dispatch, positions, walk

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def ml_facts(
    source: str, path: str = "script.py", *, resolver: bool = True, notebook: bool = False
) -> ModuleFacts:
    """The module's facts as the engine computes them (with the name resolver around the
    collectors when ``resolver``, as in the engine, else without it)."""
    text = textwrap.dedent(source)
    module = cst.parse_module(text)
    context = FileContext(path, text, module, notebook)
    facts_collector = FactsCollector(context)
    collector = MLFactsCollector(context)
    visitors: list[cst.BatchableCSTVisitor] = [facts_collector, collector]
    if resolver:
        visitors = context.resolver.around(visitors)
    walk(module, Dispatch(visitors), context.scope)
    spans = positions(module, [*facts_collector.nodes(), *collector.nodes()])
    lines = {node: span[0] for node, span in spans.items()}
    facts = facts_collector.facts(lines)
    collector.contribute(facts, lines)
    return facts


def fixture_facts(relative: str, *, resolver: bool = True) -> ModuleFacts:
    """Facts of a fixture file, ``project/path/in/project.py`` (notebooks too)."""
    inner = relative.partition("/")[2]
    data = (FIXTURES / relative).read_bytes()
    source = decode_notebook(data) if inner.endswith(".ipynb") else Source(decode_python(data))
    return ml_facts(source.text, inner, resolver=resolver, notebook=source.notebook)


def templates(facts: ModuleFacts, mode: str | None = None) -> list[str]:
    return [a.template for a in facts.artifacts if mode is None or a.mode == mode]


def template_of(source: str, **kwargs: bool) -> str:
    """The template of the one artifact the snippet reads or writes."""
    found = ml_facts(source, **kwargs).artifacts
    assert len(found) == 1, found
    return found[0].template
