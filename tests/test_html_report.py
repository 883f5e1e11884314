"""The HTML debt report (`mldebt report`), checked as data and opened in real headless Chromium.

The browser tests drive Debian's ``chromium`` through Playwright (no browser download); when
Chromium is missing they fail rather than skip: .ci/run installs it. Point MLDEBT_CHROMIUM at
another Chromium binary to use that one.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from playwright.sync_api import expect, sync_playwright

from mldebt import analyse
from mldebt.api import AnalysisResult
from mldebt.baseline import Baseline, Entry
from mldebt.config import apply_overrides, load_config
from mldebt.debt import FileDebt
from mldebt.registry import load_registry
from mldebt.report import graphview
from mldebt.report.command import report
from mldebt.report.highlight import highlight
from mldebt.report.html import Sources, _json_for_script, _rule_doc, notebook_cells, page
from mldebt.rule import BAD, GOOD, FileRule

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo"
CHROMIUM = os.environ.get("MLDEBT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE_CODE = "</script><script>alert(1)</script>"
# The demo's findings of these rules are listed in fixtures/demo/LABELS.md; the counts below
# rely on them, not on whatever other rules find there.
DEMO_RULES = "MLD001,MLD201,MLD701"


def write_report(*args: str | Path) -> str:
    """Run `mldebt report` (in-process) and return the page it wrote."""
    result = CliRunner().invoke(report, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    output = Path(str(args[args.index("-o") + 1]))
    return output.read_text(encoding="utf-8")


def script_data(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="mldebt-data">(.*?)</script>', html, re.S
    )
    assert match is not None
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("demo") / "report.html"
    write_report(DEMO, "-o", output, "--jobs", "1", "--no-cache", "--select", DEMO_RULES)
    return output


@pytest.fixture(scope="module")
def demo_result() -> AnalysisResult:
    config = load_config(DEMO)
    config = apply_overrides(config, load_registry(), select=DEMO_RULES.split(","))
    return analyse([DEMO], config, jobs=1, use_cache=False)


# the page as a file -------------------------------------------------------------------------


def test_the_command_writes_one_page_and_says_what_it_found(tmp_path: Path) -> None:
    output = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(
        report, [str(DEMO), "-o", str(output), "-j", "1", "--no-cache", "--select", DEMO_RULES]
    )
    assert result.exit_code == 0
    assert f"Wrote {output}" in result.output
    assert "13 findings in 11 files" in result.output
    assert output.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_bad_configuration_is_a_message_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mldebt]\nselect = 3\n", encoding="utf-8")
    result = CliRunner().invoke(report, [str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "mldebt: error:" in result.output
    assert "select" in result.output
    assert "Traceback" not in result.output


def test_an_unwritable_output_is_a_message_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = CliRunner().invoke(report, [str(DEMO), "-o", str(blocker / "r.html"), "-j", "1"])
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_the_page_needs_nothing_from_outside(demo_report: Path) -> None:
    html = demo_report.read_text(encoding="utf-8")
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"\bsrc\s*=", html)
    assert not re.search(r"https?://", html.split('id="mldebt-data"')[0])
    assert "@import" not in html and "url(http" not in html


def test_the_content_security_policy_admits_only_the_pages_own_script(demo_report: Path) -> None:
    html = demo_report.read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    assert f"script-src 'sha256-{digest}'" in policy.group(1)
    assert "default-src 'none'" in policy.group(1)


def test_json_for_the_script_cannot_end_the_element() -> None:
    data = {"m": "</script><!-- & \u2028 \u2029 <b>", "k": ["<", ">"]}
    text = str(_json_for_script(data))
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert json.loads(text) == data


def test_findings_travel_with_their_snippets_and_rule_names(demo_report: Path) -> None:
    data = script_data(demo_report.read_text(encoding="utf-8"))
    assert len(data["findings"]) == 13
    assert data["status"] is False
    assert data["rules"]["MLD701"] == {"name": "debt-marker", "k": "self-admitted-debt"}
    marker = next(
        f for f in data["findings"] if data["paths"][f["p"]] == "train.py" and f["l"] == 50
    )
    lines = ["".join(s if isinstance(s, str) else s[1] for s in line) for line in marker["x"]["t"]]
    assert marker["x"]["a"] == 48 and marker["x"]["h"] == [50, 50]
    assert lines[2].strip().startswith("# XXX: class weights were tuned by hand")


def test_a_notebook_snippet_shows_its_cells_own_lines(demo_report: Path) -> None:
    data = script_data(demo_report.read_text(encoding="utf-8"))
    [cell] = [f for f in data["findings"] if f.get("n") == 7]
    assert (cell["l"], cell["x"]["a"]) == (4, 2)  # two lines of context, within the cell
    flagged = cell["x"]["t"][cell["l"] - cell["x"]["a"]]
    assert "".join(s if isinstance(s, str) else s[1] for s in flagged) == "# import lightgbm as lgb"


def test_notebook_cells_are_numbered_among_all_cells() -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Title"]},
            {"cell_type": "code", "source": ["x = 1\n", "y = 2"]},
        ]
    }
    assert notebook_cells(json.dumps(notebook).encode()) == {1: "# Title", 2: "x = 1\ny = 2"}
    assert notebook_cells(b"not json") == {}


def test_sources_come_only_from_the_analysed_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("password\n", encoding="utf-8")
    sources = Sources(tmp_path, ["a.py"])
    assert sources.snippet("a.py", None, 1) == {
        "a": 1,
        "h": [1, 1],
        "t": [["x = ", ["n", "1"]]],  # no empty line after the final newline
    }
    assert sources.snippet("secret.txt", None, 1) is None
    assert sources.snippet("../etc/passwd", None, 1) is None


def test_very_long_lines_are_cut_in_snippets(tmp_path: Path) -> None:
    (tmp_path / "data.py").write_text("# TODO\nblob = '" + "x" * 100_000 + "'\n", "utf-8")
    snippet = Sources(tmp_path, ["data.py"]).snippet("data.py", None, 1)
    assert snippet is not None
    long_line = snippet["t"][1]
    assert long_line[-1] == " …"
    assert sum(len(s if isinstance(s, str) else s[1]) for s in long_line) < 500


# the highlighter ----------------------------------------------------------------------------


def test_highlighting_marks_keywords_strings_comments_and_definitions() -> None:
    [line] = highlight('def load(path="x"):  # TODO')
    assert line == [
        ["k", "def"],
        " ",
        ["f", "load"],
        "(path=",
        ["s", '"x"'],
        "):  ",
        ["c", "# TODO"],
    ]


def test_highlighting_never_loses_or_changes_text() -> None:
    for path in [*DEMO.rglob("*.py"), *sorted((ROOT / "src" / "mldebt").rglob("*.py"))[:20]]:
        text = path.read_text(encoding="utf-8")
        joined = [
            "".join(s if isinstance(s, str) else s[1] for s in line) for line in highlight(text)
        ]
        assert joined == text.split("\n"), path


def test_broken_code_is_still_highlighted_line_by_line() -> None:
    lines = highlight('df = df.rename(columns=str.lower\n!pip install x\n"""open\nreturn 1')
    assert ["k", "return"] in lines[3]
    assert "".join(s if isinstance(s, str) else s[1] for s in lines[1]) == "!pip install x"


def test_multi_line_strings_are_strings_on_every_line() -> None:
    lines = highlight('x = """one\n</script>\nthree"""\n')
    assert lines[1] == [["s", "</script>"]]


# rule docs ----------------------------------------------------------------------------------


class HostileDocs(FileRule):
    code = "XSS001"
    name = "hostile-docs"
    category = "analysis"
    summary = "Docs with <script>alert('docs')</script> in them."
    what = "Finds `<img src=x onerror=alert(1)>` and\n\n- a list item with <b>bold</b>"
    why = "Because."
    limits = "None & nothing."
    examples = (
        BAD("x = '</script>'\n"),
        BAD({"<i>a</i>.py": "x = 1\n", "b.py": "y = 2\n"}),
        BAD("# %%\nx = 1\n", path="eda.ipynb"),
        GOOD("y = 1\n"),
    )


def test_rule_docs_are_rendered_from_metadata_and_escaped() -> None:
    doc = _rule_doc(HostileDocs)
    assert "<script>" not in doc.summary and "&lt;script&gt;" in doc.summary
    what = dict(doc.sections)["What it finds"]
    assert "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in what
    assert "<li>a list item with &lt;b&gt;bold&lt;/b&gt;</li>" in what
    example = dict(doc.sections)["Example"]
    assert "&lt;/script&gt;" in example
    assert '<p class="caption"><code>&lt;i&gt;a&lt;/i&gt;.py</code>:</p>' in example
    assert '<p class="caption">In a notebook, <code>eda.ipynb</code>' in example
    assert dict(doc.sections)["Known limits"] == "<p>None &amp; nothing.</p>"


# the graph picture --------------------------------------------------------------------------


def file_debt(path: str, minutes: float = 0.0) -> FileDebt:
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    return FileDebt(path, folder, 10, 1 if minutes else 0, minutes, 0.0, "A")


def module_graph(paths: list[str], edges: list[tuple[int, int]]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for path in paths:
        graph.add_node(f"module:{path}", kind="module", path=path)
        graph.add_node(f"symbol:{path}.f", kind="function", path=path, line=1)
        graph.add_edge(f"module:{path}", f"symbol:{path}.f", kind="defines")
    for a, b in edges:
        graph.add_edge(f"module:{paths[a]}", f"module:{paths[b]}", kind="imports")
    return graph


def test_the_graph_shows_modules_and_links_but_not_what_they_define() -> None:
    paths = ["train.py", "lib/data.py", "lib/model.py"]
    files = {p: file_debt(p) for p in paths}
    view = graphview.build(module_graph(paths, [(0, 1), (0, 2), (2, 1)]), files)
    assert sorted(n.id for n in view.nodes) == [f"module:{p}" for p in sorted(paths)]
    assert len(view.edges) == 3
    layer = {n.path: n.y for n in view.nodes}
    # Importers sit above what they import.
    assert layer["train.py"] < layer["lib/model.py"] < layer["lib/data.py"]


def test_debt_sizes_and_colours_the_nodes() -> None:
    paths = ["a.py", "b.py", "c.py"]
    files = {
        "a.py": file_debt("a.py", 100),
        "b.py": file_debt("b.py", 1),
        "c.py": file_debt("c.py"),
    }
    view = graphview.build(module_graph(paths, [(0, 1)]), files)
    radius = {n.path: n.r for n in view.nodes}
    assert radius["a.py"] > radius["b.py"] > radius["c.py"]
    assert {n.path: n.css for n in view.nodes} == {"a.py": "r-A", "b.py": "r-A", "c.py": "r-none"}


def test_nodes_of_any_kind_are_drawn_with_their_links() -> None:
    graph = module_graph(["etl.py"], [])
    graph.add_node("artifact:data/clean.csv", kind="artifact")
    graph.add_edge("module:etl.py", "artifact:data/clean.csv", kind="writes")
    view = graphview.build(graph, {})
    assert {n.kind for n in view.nodes} == {"module", "artifact"}
    assert view.edge_kinds == ["writes"]


def test_signals_are_left_out_and_counted_and_only_modules_carry_file_debt() -> None:
    graph = module_graph(["train.py"], [])
    graph.add_node("signal:column:age", kind="signal")
    graph.add_node("model:train.py:clf@3", kind="model", path="train.py", label="LR (train.py:3)")
    graph.add_edge("signal:column:age", "module:train.py", kind="uses-signal")
    graph.add_edge("module:train.py", "model:train.py:clf@3", kind="defines")
    view = graphview.build(graph, {"train.py": file_debt("train.py", 30)})
    assert view.left_out == {"signal": 1}
    model = next(n for n in view.nodes if n.kind == "model")
    assert (model.label, model.findings, model.path) == ("LR", 0, None)
    [edge] = view.edges
    assert edge.kinds == ("defines",) and not edge.flow


def test_a_loop_is_laid_out_downwards_with_one_edge_going_back_up() -> None:
    graph = nx.MultiDiGraph()
    chain = ["artifact:raw.csv", "artifact:features.csv", "model:m", "artifact:preds.csv"]
    for node in chain:
        graph.add_node(node, kind=node.split(":")[0])
    for a, b in itertools.pairwise(chain):
        graph.add_edge(a, b, kind="flows-to")
    graph.add_edge("artifact:preds.csv", "artifact:features.csv", kind="flows-to")  # the loop
    view = graphview.build(graph, {})
    y = {n.id: n.y for n in view.nodes}
    assert y["artifact:raw.csv"] < y["artifact:features.csv"] < y["model:m"]
    assert y["model:m"] < y["artifact:preds.csv"]
    assert all(e.flow for e in view.edges)


def test_a_file_with_debt_outside_the_graph_is_still_drawn() -> None:
    view = graphview.build(nx.MultiDiGraph(), {"broken.py": file_debt("broken.py", 5)})
    [node] = view.nodes
    assert (node.path, node.kind) == ("broken.py", "file")


def test_a_large_graph_is_summarised_by_folder() -> None:
    paths = [f"pkg{i % 30}/sub{i // 30 % 4}/m{i}.py" for i in range(1200)]
    edges = [(i, (i * 7 + 1) % 1200) for i in range(1200)]
    files = {p: file_debt(p, i % 5) for i, p in enumerate(paths)}
    view = graphview.build(module_graph(paths, edges), files, max_nodes=150)
    assert view.total == 1200
    assert "grouped by folder" in view.note
    # Every top-level folder opened into its 4 subfolders (120 groups), then subfolders into
    # their files while the limit allows.
    assert 140 < len(view.nodes) <= 150
    folders = {n.path for n in view.nodes if n.kind == "folder"}
    assert all(p.count("/") == 2 for p in folders)  # "pkgN/subM/"
    assert {n.kind for n in view.nodes} == {"folder", "module"}
    # Nothing is lost: the groups carry every file's debt.
    assert round(sum(n.debt_minutes for n in view.nodes), 2) == sum(i % 5 for i in range(1200))
    assert sum(n.members for n in view.nodes) == 1200


def test_too_many_top_level_groups_keep_the_ones_with_most_debt() -> None:
    paths = [f"m{i}.py" for i in range(400)]
    files = {p: file_debt(p, i) for i, p in enumerate(paths)}
    view = graphview.build(module_graph(paths, []), files, max_nodes=50)
    assert len(view.nodes) == 50
    assert min(n.debt_minutes for n in view.nodes) == 350
    assert "50 are shown, modules and folders first, most debt first" in view.note


def test_the_layout_keeps_nodes_apart_and_inside_the_picture() -> None:
    paths = [f"p{i % 6}/m{i}.py" for i in range(140)]
    edges = [(i, (i * 3 + 2) % 140) for i in range(0, 140, 2)]
    view = graphview.build(module_graph(paths, edges), {})
    spots = {(n.x, n.y) for n in view.nodes}
    assert len(spots) == len(view.nodes)
    for node in view.nodes:
        assert node.r <= node.x <= view.width - node.r
        assert node.r <= node.y <= view.height - node.r
    assert all(e.d.startswith("M") for e in view.edges)


# in the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` "
            "(.ci/run does), or set MLDEBT_CHROMIUM"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Opened:
    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    seconds: float = 0.0


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    contexts = []

    def opener(path: Path, viewport: tuple[int, int] = (1280, 900)) -> Opened:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        tab = context.new_page()
        opened = Opened(tab)
        tab.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: opened.errors.append(str(e)))
        tab.on("request", lambda r: opened.requests.append(r.url))

        def dialog(d: Any) -> None:
            opened.dialogs.append(d.message)
            d.dismiss()

        tab.on("dialog", dialog)
        start = time.perf_counter()
        tab.goto(path.as_uri(), wait_until="load")
        opened.seconds = time.perf_counter() - start
        return opened

    yield opener
    for context in contexts:
        context.close()


def visible_findings(tab: Any) -> int:
    count: int = tab.locator("#finding-list article.finding").count()
    return count


def test_the_demo_report_loads_offline_without_console_errors(
    open_page: Any, demo_report: Path
) -> None:
    opened = open_page(demo_report)
    assert opened.errors == []
    assert opened.requests == [demo_report.as_uri()]  # nothing else is fetched
    assert opened.page.title() == "Debt report: demo"
    assert visible_findings(opened.page) == 13
    assert opened.page.inner_text("#finding-count") == "13 findings."


def test_charts_and_the_graph_render(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    for selector in ("svg.bars-category", "svg.bars-rule", "svg.donut", "svg.graph"):
        box = tab.locator(selector).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, selector
    assert tab.locator("svg.bars-category .bar").count() == 3
    assert tab.locator("svg.donut .donut-arc").count() == 3
    # 9 modules and the notebook, and the file that did not parse (a square); the ML graph's
    # artifacts and models may join them.
    files = tab.locator("svg.graph .node.kind-module, svg.graph .node.kind-file")
    assert files.count() == 11
    nodes = tab.locator("svg.graph .node")
    for k in range(nodes.count()):
        box = nodes.nth(k).bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
    assert tab.locator("svg.graph .edge").count() >= 6  # six scripts import config.py
    config = tab.locator('svg.graph a.node[data-path="config.py"]')
    index = config.get_attribute("data-n")
    links = tab.locator(f'svg.graph .edge[data-s="{index}"], svg.graph .edge[data-t="{index}"]')
    assert links.count() >= 6
    config.hover()
    assert tab.locator("svg.graph.focus .edge.hot").count() == links.count()
    tab.hover("#overview h2")
    assert tab.locator("svg.graph.focus").count() == 0
    assert tab.inner_text(".masthead-rating").strip().startswith("A")


def test_filters_hide_and_show_findings(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    tab.select_option("#f-severity", "error")
    assert visible_findings(tab) == 1
    assert "syntax error" in tab.inner_text("#finding-list")
    tab.select_option("#f-severity", "")
    tab.select_option("#f-category", "dead-experimental-code")
    assert visible_findings(tab) == 5
    tab.select_option("#f-rule", "MLD701")
    assert visible_findings(tab) == 0
    assert tab.inner_text("#finding-count") == "No finding matches the filters."
    tab.select_option("#f-category", "")
    assert visible_findings(tab) == 7
    tab.click("#f-reset")
    expect(tab.locator("#finding-list article")).to_have_count(13)


def test_the_path_filter_and_the_search_box(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    tab.fill("#f-path", "pipeline/")
    expect(tab.locator("#finding-list article")).to_have_count(4)
    tab.fill("#f-path", "")
    tab.locator("#f-search").press_sequentially("lightgbm", delay=5)
    expect(tab.locator("#finding-list article")).to_have_count(1)
    assert "exploration.ipynb:cell 7:4:1" in tab.inner_text("#finding-list")
    tab.fill("#f-search", "fixme loss")  # every word must match
    expect(tab.locator("#finding-list")).to_contain_text("loss plateaus")
    expect(tab.locator("#finding-list article")).to_have_count(1)


def test_a_graph_node_or_a_table_path_lists_that_files_findings(
    open_page: Any, demo_report: Path
) -> None:
    tab = open_page(demo_report).page
    tab.click('svg.graph a.node[data-path="train.py"]')
    assert tab.input_value("#f-path") == "train.py"
    assert visible_findings(tab) == 2  # train.py only, not train_v2_old.py
    tab.click('#folder-table a[data-path="pipeline/"]')
    assert visible_findings(tab) == 4


def column(tab: Any, table: str, index: int) -> list[str]:
    cells: list[str] = tab.eval_on_selector_all(
        f"#{table} tbody tr td:nth-child({index})",
        "cells => cells.map(c => c.dataset.v ?? c.textContent.trim())",
    )
    return cells


def test_sorting_by_clicking_a_heading(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    lines_button = tab.locator("#file-table thead th:nth-child(2) button")
    lines_button.click()
    lines = [int(v) for v in column(tab, "file-table", 2)]
    assert lines == sorted(lines, reverse=True)
    assert tab.get_attribute("#file-table thead th:nth-child(2)", "aria-sort") == "descending"
    lines_button.click()
    lines = [int(v) for v in column(tab, "file-table", 2)]
    assert lines == sorted(lines)
    assert tab.get_attribute("#file-table thead th:nth-child(2)", "aria-sort") == "ascending"
    assert tab.get_attribute("#file-table thead th:nth-child(4)", "aria-sort") == "none"


def test_sorting_and_filtering_work_from_the_keyboard(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    tab.focus("#file-table thead th:nth-child(1) button")
    tab.keyboard.press("Enter")
    paths = column(tab, "file-table", 1)
    assert paths == sorted(paths)
    tab.keyboard.press("Space")
    assert column(tab, "file-table", 1) == sorted(paths, reverse=True)
    tab.focus("#f-search")
    tab.keyboard.type("HACK")
    expect(tab.locator("#finding-list article")).to_have_count(1)
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.id") == "f-reset"
    tab.keyboard.press("Enter")
    expect(tab.locator("#finding-list article")).to_have_count(13)


def test_a_rules_docs_are_a_click_away(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    first = tab.locator("#finding-list article.finding").first
    docs = first.locator("details.doc")
    assert not docs.locator(".doc-body").count()
    docs.locator("summary").click()
    expect(docs.locator(".doc-body h4", has_text="Why it is debt")).to_have_count(1)
    assert docs.locator(".doc-body pre.code").count() >= 1


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("hostile")
    (project / "<b>x<").mkdir()  # the "/" of "</b>" makes "<b>x<" a folder, as it must
    (project / "<b>x</b>.py").write_text(
        f"# TODO: {HOSTILE_CODE}\n"
        f'payload = "{HOSTILE_CODE}"\n'
        '# FIXME: <img src=x onerror="alert(2)"> here\n'
        "# x = '<svg onload=alert(3)>'\n"
        "# y = x.strip()\n",
        encoding="utf-8",
    )
    folder = project / "<svg onload=alert(4)>"
    folder.mkdir()
    (folder / "mod.py").write_text("# HACK: \u2028 -->< !-- <script>\n", encoding="utf-8")
    notebook = {
        "cells": [{"cell_type": "code", "source": [f"# TODO: {HOSTILE_CODE}\n", "x = 1\n"]}],
        "metadata": {"kernelspec": {"language": "python"}},
    }
    (project / "nb.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    output = project.parent / "hostile.html"
    write_report(
        project, "-o", output, "-j", "1", "--no-cache", "--churn-days", "0", "--select", DEMO_RULES
    )
    return output


def test_hostile_content_is_escaped_in_the_file(hostile_report: Path) -> None:
    html = hostile_report.read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "<b>x</b>" not in html
    assert "<img" not in html and "<svg onload" not in html
    assert "&lt;b&gt;x&lt;/b&gt;.py" in html  # in the tables, as text


def test_hostile_content_shows_as_text_and_never_runs(open_page: Any, hostile_report: Path) -> None:
    opened = open_page(hostile_report)
    tab = opened.page
    tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    tab.wait_for_timeout(100)
    assert opened.dialogs == []
    assert opened.errors == []
    injected = tab.evaluate(
        "() => document.querySelectorAll('b, img, [onerror], [onload], script:not([id])').length"
    )
    assert injected == 1  # the page's own script only
    assert tab.locator("script").count() == 2  # and its data
    text = tab.inner_text("body")
    assert HOSTILE_CODE in text  # in a message, a snippet and a notebook cell
    assert "<b>x</b>.py" in text
    assert '<img src=x onerror="alert(2)">' in text
    assert "<svg onload=alert(4)>/mod.py" in text
    assert tab.locator("#finding-list article.finding").count() == 5


def test_the_page_is_accessible(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    assert tab.get_attribute("html", "lang") == "en"
    unlabelled = tab.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.id)"""
    )
    assert unlabelled == []
    nameless = tab.evaluate(
        "() => [...document.querySelectorAll('button')]"
        ".filter(b => !b.hidden && !b.textContent.trim()).length"
    )
    assert nameless == 0
    levels = tab.evaluate(
        "() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => Number(h.tagName[1]))"
    )
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    sortable = tab.evaluate(
        "() => [...document.querySelectorAll('table.sortable th')]"
        ".every(th => th.querySelector('button') && th.hasAttribute('aria-sort'))"
    )
    assert sortable
    low = tab.evaluate(CONTRAST_CHECK)
    assert low == []


# Every visible piece of text against the background behind it: WCAG AA (4.5:1; 3:1 for large).
CONTRAST_CHECK = """() => {
  const parse = c => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(",").map(parseFloat);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const channel = v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const lum = c => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const bad = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("title, noscript, script, .visually-hidden")) continue;
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility === "hidden") continue;
    const inSvg = el.closest("svg") !== null;
    const fg = parse(inSvg ? style.fill : style.color);
    if (!fg) continue;
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const name = el.className.baseVal ?? el.className;
      bad.push([el.tagName, name, node.textContent.slice(0, 30), ratio.toFixed(2)]);
    }
  }
  return bad;
}"""


def test_printing_hides_the_filters_and_opens_every_section(
    open_page: Any, tmp_path: Path, demo_result: AnalysisResult
) -> None:
    # A report longer than one page of findings: every finding must print.
    many = [
        f
        for k in range(12)
        for f in (
            type(f)(**{**f.__dict__, "fingerprint": f"{f.fingerprint}-{k}", "line": f.line})
            for f in demo_result.findings
        )
    ]
    result = AnalysisResult(
        many,
        demo_result.summary,
        demo_result.config,
        demo_result.rules,
        demo_result.files,
        demo_result.graph,
    )
    output = tmp_path / "print.html"
    output.write_text(page(result, churn_days=None), encoding="utf-8")
    tab = open_page(output).page
    assert visible_findings(tab) == 100
    tab.emulate_media(media="print")
    assert tab.evaluate("getComputedStyle(document.getElementById('filters')).display") == "none"
    tab.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert visible_findings(tab) == 156
    assert tab.locator("details:not(.doc):not([open])").count() == 0
    assert tab.locator("details.rule-doc[open]").count() == 3
    tab.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert tab.locator("details.rule-doc[open]").count() == 0


def test_new_and_unchanged_badges_and_what_was_fixed(
    open_page: Any, tmp_path: Path, demo_result: AnalysisResult
) -> None:
    new, *unchanged = demo_result.findings
    gone = Entry("MLD701", "old <i>file</i>.py", "f" * 16, "TODO comment: gone", 2)
    baseline = tmp_path / "baseline.json"
    Baseline([*Baseline.of(unchanged).entries, gone]).save(baseline)
    output = tmp_path / "baseline.html"
    result = CliRunner().invoke(
        report,
        [
            str(DEMO),
            "-o",
            str(output),
            "-j",
            "1",
            "--select",
            DEMO_RULES,
            "--baseline",
            str(baseline),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 new and 12 unchanged findings" in result.output
    opened = open_page(output)
    tab = opened.page
    assert opened.errors == []
    assert visible_findings(tab) == 13
    assert tab.locator("#finding-list .status-new").count() == 1
    assert tab.locator("#finding-list .status-unchanged").count() == 12
    tab.select_option("#f-status", "new")
    assert visible_findings(tab) == 1
    assert new.message in tab.inner_text("#finding-list")
    fixed = tab.inner_text("#fixed")
    assert "old <i>file</i>.py" in fixed and "TODO comment: gone" in fixed
    assert "2 fixed" in tab.inner_text("#overview")


def test_new_since_a_git_ref_marks_the_findings_added_since(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("# TODO: old\nx = 1\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "a.py"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
    (project / "a.py").write_text("# TODO: old\nx = 1\n# FIXME: new\n", encoding="utf-8")
    output = tmp_path / "since.html"
    html = write_report(
        project, "-o", output, "-j", "1", "--new-since", "HEAD", "--select", DEMO_RULES
    )
    data = script_data(html)
    assert data["status"] is True
    assert sorted((f["m"], f["st"]) for f in data["findings"]) == [
        ("FIXME comment: FIXME: new", "new"),
        ("TODO comment: TODO: old", "unchanged"),
    ]


def test_a_bad_ref_or_baseline_is_a_message_and_exit_2(tmp_path: Path) -> None:
    output = str(tmp_path / "r.html")
    missing = CliRunner().invoke(report, [str(DEMO), "-o", output, "--baseline", "nope.json"])
    assert missing.exit_code == 2 and "baseline not found" in missing.output
    outside = CliRunner().invoke(report, [str(tmp_path), "-o", output, "--new-since", "HEAD"])
    assert outside.exit_code == 2 and "mldebt: error:" in outside.output
    assert not Path(output).exists()


def test_a_project_without_findings_or_files_still_opens_cleanly(
    open_page: Any, tmp_path: Path
) -> None:
    for name, files in (("empty", {}), ("clean", {"a.py": "x = 1\n"})):
        project = tmp_path / name
        project.mkdir()
        for path, text in files.items():
            (project / path).write_text(text, encoding="utf-8")
        output = tmp_path / f"{name}.html"
        write_report(
            project,
            "-o",
            output,
            "-j",
            "1",
            "--no-cache",
            "--churn-days",
            "0",
            "--select",
            DEMO_RULES,
        )
        opened = open_page(output)
        assert opened.errors == []
        assert opened.page.inner_text("#finding-count") == "No findings."
        assert "No debt found." in opened.page.inner_text("#overview")
    assert "1 file · 1 line of code" in opened.page.inner_text(".facts")


def test_without_a_baseline_there_is_no_status(open_page: Any, demo_report: Path) -> None:
    tab = open_page(demo_report).page
    assert tab.locator("#f-status").count() == 0
    assert tab.locator("#fixed").count() == 0
    assert tab.locator(".status").count() == 0


# a large project ----------------------------------------------------------------------------

LARGE_MODULE = '''"""Module {i}."""
import pandas as pd
from {other} import helper


def load_{i}(path):
    # TODO: validate the schema of the input before use
    df = pd.read_csv(path)
    # df = df.dropna()
    # df = df.reset_index(drop=True)
    return df


def helper(x):
    # FIXME: threshold {i} was tuned by hand
    return x > 0.5
'''


def test_a_2000_file_report_opens_in_under_3_seconds_and_stays_under_10_mb(
    open_page: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "large"
    for i in range(2000):
        folder = project / f"pkg{i % 40:02d}" / f"sub{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        other = f"pkg{(i + 1) % 40:02d}.sub{(i + 1) % 7}.mod{(i + 1) % 2000:04d}"
        (folder / f"mod{i:04d}.py").write_text(LARGE_MODULE.format(i=i, other=other), "utf-8")
    output = tmp_path / "large.html"
    started = time.perf_counter()
    write_report(project, "-o", output, "--no-cache", "-q", "--select", DEMO_RULES)
    written = time.perf_counter() - started
    size = output.stat().st_size

    opened = open_page(output)
    tab = opened.page
    with capsys.disabled():
        print(
            f"\n2,000-file report: {size / 1_000_000:.2f} MB, opened in {opened.seconds:.2f} s "
            f"(analysed and written in {written:.1f} s)"
        )
    assert size < 10_000_000
    assert opened.seconds < 3.0
    assert opened.errors == []
    assert "Showing 100 of 6,000" in tab.inner_text("#finding-count")
    assert tab.locator("#file-table tbody tr").count() == 2000
    assert 0 < tab.locator("svg.graph .node").count() <= 150
    tab.click("#more")
    assert visible_findings(tab) == 200
    started = time.perf_counter()
    tab.fill("#f-path", "pkg07/sub3/")
    expect(tab.locator("#finding-count")).to_contain_text("findings match")
    assert time.perf_counter() - started < 2.0
