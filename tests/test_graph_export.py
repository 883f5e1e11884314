"""`mldebt graph`: the project graph as JSON, GraphML, DOT and Mermaid, in three views, each
format checked by what reads it (networkx, Graphviz, a Mermaid grammar check)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from mldebt.api import analyse
from mldebt.config import Config
from mldebt.export import export, select_view
from mldebt.export.command import graph as graph_command
from mldebt.export.graph_export import (
    dot_string,
    mermaid_text,
    mermaid_too_big,
    to_dot,
    to_mermaid,
)
from mldebt.graph import ProjectGraph
from mldebt.testing import write_tree

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
NASTY = 'a "quoted" [bracket] |pipe| <script>alert(1)</script> {x} #35; end'


@pytest.fixture(scope="module")
def demo() -> ProjectGraph:
    result = analyse([DEMO], Config(root=DEMO, select=[]), jobs=1, use_cache=False)
    assert result.graph is not None
    return result.graph


@pytest.fixture(scope="module")
def nasty(tmp_path_factory: pytest.TempPathFactory) -> ProjectGraph:
    """A project whose artifact names hold every character the formats treat specially."""
    root = tmp_path_factory.mktemp("nasty")
    path = NASTY.replace('"', '\\"')
    write_tree(
        root,
        {
            "make.py": f'import pandas as pd\npd.DataFrame().to_csv("out/{path}.csv")\n',
            "use.py": f'import pandas as pd\ndf = pd.read_csv("out/{path}.csv")\n',
            "ctl.py": 'import pandas as pd\ndf = pd.read_csv("bell\\a\\x00.csv")\n',
        },
    )
    result = analyse([root], Config(root=root, select=[]), jobs=1, use_cache=False)
    assert result.graph is not None
    return result.graph


# --- views ---------------------------------------------------------------------------------------


def test_the_pipeline_view_is_the_scripts_and_the_files_they_hand_on(demo: ProjectGraph) -> None:
    view = select_view(demo, "pipeline")
    kinds = {data["kind"] for _, data in view.nodes(data=True)}
    assert kinds == {"module", "artifact"}
    labels = {data["label"] for _, data in view.nodes(data=True)}
    assert {"pipeline/01_ingest.py", "data/interim/customers_merged.csv", "predict.py"} <= labels
    edge_kinds = {data["kind"] for _, _, data in view.edges(data=True)}
    assert edge_kinds == {"reads", "writes"}
    assert nx.is_directed_acyclic_graph(view) is False  # predictions.csv feeds the features


def test_the_models_view_shows_what_models_eat_and_make(demo: ProjectGraph) -> None:
    view = select_view(demo, "models")
    model = "model:artifact:models/churn_model.joblib"
    assert view.nodes[model]["kind"] == "model"
    assert view.nodes[model]["label"] == "RandomForestClassifier (models/churn_model.joblib)"
    out = {(v, data["kind"]) for _, v, data in view.out_edges(model, data=True)}
    assert ("artifact:data/processed/predictions.csv", "predicts-to") in out
    into = {(u, data["kind"]) for u, _, data in view.in_edges(model, data=True)}
    assert ("signal:constant:config.FEATURES", "trains-on") in into
    flows = {(u, v) for u, v, data in view.edges(data=True) if data["kind"] == "flows-to"}
    assert (
        "artifact:data/processed/predictions.csv",
        "artifact:data/processed/features.csv",
    ) in flows


def test_the_full_view_has_every_node_kind(demo: ProjectGraph) -> None:
    view = select_view(demo, "full")
    kinds = {data["kind"] for _, data in view.nodes(data=True)}
    assert {"module", "function", "artifact", "model", "signal"} <= kinds
    assert view.number_of_nodes() == demo.nx.number_of_nodes()


def test_an_unknown_view_or_format_is_refused(demo: ProjectGraph) -> None:
    with pytest.raises(ValueError, match="unknown view"):
        select_view(demo, "everything")
    with pytest.raises(ValueError, match="unknown format"):
        export(demo, "svg")


# --- JSON and GraphML ----------------------------------------------------------------------------


def test_json_is_node_link_data_that_networkx_reads_back(demo: ProjectGraph) -> None:
    text = export(demo, "json", "pipeline")
    data = json.loads(text)
    back = nx.node_link_graph(data, edges="edges")
    view = select_view(demo, "pipeline")
    assert sorted(back.nodes) == sorted(view.nodes)
    assert back.number_of_edges() == view.number_of_edges()
    assert [n["id"] for n in data["nodes"]] == sorted(n["id"] for n in data["nodes"])


def test_the_same_project_gives_the_same_bytes(demo: ProjectGraph) -> None:
    again = analyse([DEMO], Config(root=DEMO, select=[]), jobs=1, use_cache=False).graph
    assert again is not None
    for fmt in ("json", "graphml", "dot", "mermaid"):
        assert export(demo, fmt, "full") == export(again, fmt, "full")


@pytest.mark.parametrize("view", ["full", "pipeline", "models"])
def test_graphml_loads_in_networkx_with_typed_attributes(demo: ProjectGraph, view: str) -> None:
    text = export(demo, "graphml", view)
    back = nx.parse_graphml(text)
    expected = select_view(demo, view)
    assert back.number_of_nodes() == expected.number_of_nodes()
    assert back.number_of_edges() == expected.number_of_edges()
    for _, _, data in back.edges(data=True):
        if "line" in data:
            assert isinstance(data["line"], int)
    root = ET.fromstring(text.encode())
    keys = root.findall("{http://graphml.graphdrawing.org/xmlns}key")
    assert len({(k.get("attr.name"), k.get("for")) for k in keys}) == len(keys)
    edge_ids = [e.get("id") for e in root.iter("{http://graphml.graphdrawing.org/xmlns}edge")]
    assert len(edge_ids) == len(set(edge_ids))


def test_graphml_and_json_survive_control_characters(nasty: ProjectGraph) -> None:
    text = export(nasty, "graphml", "full")
    back = nx.parse_graphml(text)
    labels = [data.get("label", "") for _, data in back.nodes(data=True)]
    assert any("\ufffd" in label for label in labels)
    assert any(NASTY in label for label in labels)
    assert json.loads(export(nasty, "json", "full"))


# --- DOT -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash\\", '"back\\\\slash\\\\"'),
        ("two\nlines", '"two\\nlines"'),
        ("left\\l", '"left\\\\l"'),
    ],
)
def test_dot_strings_escape_quotes_backslashes_and_line_breaks(text: str, quoted: str) -> None:
    assert dot_string(text) == quoted


def _render(dot: str, fmt: str = "svg") -> str:
    executable = shutil.which("dot")
    if executable is None:
        pytest.skip("Graphviz `dot` is not installed (.ci/run installs it)")
    done = subprocess.run(
        [executable, f"-T{fmt}"], input=dot, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Error" not in done.stderr, done.stderr
    return done.stdout


@pytest.mark.parametrize("view", ["full", "pipeline", "models"])
def test_dot_renders_with_graphviz(demo: ProjectGraph, view: str) -> None:
    svg = _render(export(demo, "dot", view))
    assert "<svg" in svg
    if view == "pipeline":
        assert "pipeline/01_ingest.py" in svg


def test_dot_keeps_odd_labels_intact_through_graphviz(nasty: ProjectGraph) -> None:
    plain = _render(export(nasty, "dot", "pipeline"), "plain")
    assert dot_string(f"out/{NASTY}.csv") in plain  # `-Tplain` quotes labels as DOT does
    assert plain.count("\nnode ") == 5  # 3 scripts and 2 files: nothing split or lost
    view = nx.MultiDiGraph()
    for label in ("back\\slash\\", "a\\lb\\nc", 'say "hi"\nthere'):
        view.add_node(label, kind="module", label=label)
    plain = _render(to_dot(view), "plain")
    assert '"back\\\\slash\\\\"' in plain and '"a\\\\lb\\\\nc"' in plain


# --- Mermaid ---------------------------------------------------------------------------------

_LABEL = r"(?:[A-Za-z0-9 _.,:/@+=*?!-]|#\d+;)*"
_SHAPES = [
    r'\["' + _LABEL + r'"\]',
    r'\[\("' + _LABEL + r'"\)\]',
    r'\{\{"' + _LABEL + r'"\}\}',
    r'\(\["' + _LABEL + r'"\]\)',
    r'\("' + _LABEL + r'"\)',
]
_MERMAID_LINE = re.compile(
    r"  (?:"
    r"n\d+(?:" + "|".join(_SHAPES) + r")"  # a node
    r'|n\d+ -->\|"' + _LABEL + r'"\| n\d+'  # a labelled data edge
    r"|n\d+ -\.-> n\d+"  # a structure edge
    r"|classDef [a-z]+ [a-z:#0-9,]+"
    r"|class n\d+(?:,n\d+)* [a-z]+"
    r")\Z"
)


def check_mermaid(text: str) -> list[str]:
    """A small grammar of the Mermaid we write: every line must be one of its forms, every
    node used by an edge must be declared, labels hold only safe characters and entities."""
    lines = text.splitlines()
    problems = [] if lines and lines[0] == "flowchart LR" else ["no flowchart LR header"]
    declared: set[str] = set()
    used: set[str] = set()
    for number, line in enumerate(lines[1:], 2):
        if not _MERMAID_LINE.match(line):
            problems.append(f"line {number}: {line!r}")
            continue
        names = re.findall(r"\bn\d+\b", line.split('"')[0] + line.rsplit('"', 1)[-1])
        if line.startswith("  n") and ("-->" in line or "-.->" in line):
            used.update(names)
        elif line.startswith("  n"):
            declared.add(names[0])
    problems += [f"{name} used but not declared" for name in sorted(used - declared)]
    return problems


@pytest.mark.parametrize("view", ["full", "pipeline", "models"])
def test_mermaid_is_well_formed(demo: ProjectGraph, view: str) -> None:
    text = export(demo, "mermaid", view)
    assert check_mermaid(text) == []
    assert not mermaid_too_big(text)


def test_mermaid_labels_escape_quotes_brackets_pipes_and_markup(nasty: ProjectGraph) -> None:
    text = export(nasty, "mermaid", "full")
    assert check_mermaid(text) == []
    assert "<script>" not in text and '"quoted"' not in text and "|pipe|" not in text
    assert mermaid_text(NASTY).startswith("a #34;quoted#34; #91;bracket#93; #124;pipe#124; #60;")
    assert mermaid_text("50#") == "50#35;"  # '#' starts an entity: escaped too
    view = nx.MultiDiGraph()
    view.add_node("module:x", kind="module", label="x")
    view.add_node("module:y", kind="module", label="y")
    view.add_edge("module:x", "module:y", key="e0", kind='odd|"kind"')
    assert '-->|"odd#124;#34;kind#34;"|' in to_mermaid(view)


def test_the_grammar_check_catches_a_broken_diagram() -> None:
    assert check_mermaid('flowchart LR\n  n0["a"b"]\n') != []
    assert check_mermaid('flowchart LR\n  n0 -->|"x"| n1\n') == [
        "n0 used but not declared",
        "n1 used but not declared",
    ]


# --- the command ---------------------------------------------------------------------------------


def test_the_command_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "graph.graphml"
    result = CliRunner().invoke(
        graph_command,
        [
            str(DEMO),
            "--format",
            "graphml",
            "--view",
            "pipeline",
            "-o",
            str(target),
            "-j",
            "1",
            "--no-cache",
        ],
    )
    assert result.exit_code == 0, result.output
    assert nx.read_graphml(target).number_of_nodes() > 10


def test_the_command_prints_mermaid(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": 'import pandas as pd\npd.read_csv("x.csv")\n'})
    result = CliRunner().invoke(
        graph_command, [str(tmp_path), "-f", "mermaid", "--view", "pipeline", "--no-cache"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("flowchart LR\n")
    assert check_mermaid(result.output) == []


def test_the_command_defaults_to_json_of_the_full_graph(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "import b\n", "b.py": "X = 1\n"})
    result = CliRunner().invoke(graph_command, [str(tmp_path), "--no-cache", "-j", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["graph"]["view"] == "full"
    assert {"source": "module:a", "target": "module:b"}.items() <= data["edges"][0].items()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing-folder"], "no such file or folder"),
        ([".", "--format", "svg"], "Invalid value for '-f' / '--format'"),
        ([".", "--view", "all"], "Invalid value for '--view'"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(graph_command, arguments)
    assert result.exit_code == 2
    assert message in result.output


def test_an_unwritable_output_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(
        graph_command, [str(tmp_path), "-o", str(blocker / "graph.json"), "--no-cache"]
    )
    assert result.exit_code == 2
    assert "mldebt: error:" in result.output and "graph.json" in result.output
