"""The project graph: one artifact node per file however it is spelt, models that are the same
across scripts, data that flows between artifacts, helpers' I/O owned by the scripts that call
them - all from the cached facts, fast enough for thousands of files."""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

import mldebt.graph as graph_module
from mldebt.api import analyse
from mldebt.config import Config
from mldebt.facts.model import Artifact, Call, Definition, Import, Model, ModuleFacts
from mldebt.graph import ProjectGraph, artifact_node, module_node, symbol_node
from mldebt.testing import write_tree


def graph_of(tmp_path: Path, files: Mapping[str, str]) -> ProjectGraph:
    write_tree(tmp_path, files)
    result = analyse([tmp_path], Config(root=tmp_path, select=[]), jobs=1, use_cache=False)
    assert result.graph is not None
    return result.graph


def uses(graph: ProjectGraph, node: str) -> list[tuple[str, str, int]]:
    return sorted((u.mode, u.path, u.line) for u in graph.artifacts[node].uses)


def edges(graph: ProjectGraph, kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, k in graph.nx.edges(data="kind") if k == kind}


# --- modules and imports ------------------------------------------------------------------------


def test_modules_imports_and_the_existing_api(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/io.py": "def load():\n    return 1\n",
            "pkg/train.py": "from pkg.io import load\nfrom . import io\nload()\n",
        },
    )
    assert set(graph.by_path) == {"pkg/__init__.py", "pkg/io.py", "pkg/train.py"}
    assert graph.by_module["pkg.io"].path == "pkg/io.py"
    assert [m.module for m in graph.importers("pkg.io")] == ["pkg.train"]
    assert [m.module for m in graph.imported_modules("pkg.train")] == ["pkg.io"]
    assert graph.resolve_import("pkg", "io") is graph.by_module["pkg.io"]
    assert (module_node("pkg.train"), symbol_node("pkg.io", "load")) in edges(graph, "calls")


def test_a_script_imports_its_sibling_by_its_bare_name(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "pipeline/settings.py": 'OUT = "data/out.csv"\n',
            "pipeline/step.py": "import settings\nprint(settings.OUT)\n",
        },
    )
    assert [m.path for m in graph.imported_modules("pipeline.step")] == ["pipeline/settings.py"]


def test_calls_between_functions_are_edges_with_a_count(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "util.py": "def clean(x):\n    return x\n",
            "run.py": (
                "from util import clean\n\ndef main():\n    clean(1)\n    clean(2)\n\nmain()\n"
            ),
        },
    )
    counts = {
        (u, v): data["count"] for u, v, data in graph.nx.edges(data=True) if data["kind"] == "calls"
    }
    assert counts[(symbol_node("run", "main"), symbol_node("util", "clean"))] == 2
    assert counts[(module_node("run"), symbol_node("run", "main"))] == 1


# --- artifact identity ---------------------------------------------------------------------------

CONFIG = """
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA_DIR = "data"
INTERIM = DATA_DIR + "/interim"
CLEAN = ROOT / "data" / "interim" / "clean.parquet"
"""


def test_one_file_through_constants_folders_and_spellings_is_one_node(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "config.py": CONFIG,
            "pipeline/clean.py": (
                "import pandas as pd\nfrom config import CLEAN\npd.DataFrame().to_parquet(CLEAN)\n"
            ),
            "pipeline/features.py": (
                "import os\nimport pandas as pd\nimport config as cfg\n"
                'df = pd.read_parquet(os.path.join(cfg.INTERIM, "clean.parquet"))\n'
            ),
            "train.py": (
                "import pandas as pd\n"
                'df = pd.read_parquet("./data//interim/../interim/clean.parquet")\n'
            ),
            "notebooks/look.ipynb": (
                '# %%\nimport pandas as pd\ndf = pd.read_parquet("../data/interim/clean.parquet")\n'
            ),
        },
    )
    node = artifact_node("data/interim/clean.parquet")
    assert uses(graph, node) == [
        ("r", "notebooks/look.ipynb", 2),
        ("r", "pipeline/features.py", 4),
        ("r", "train.py", 2),
        ("w", "pipeline/clean.py", 3),
    ]
    assert [n for n in graph.artifacts if "clean.parquet" in n] == [node]


def test_a_relative_path_confirmed_by_another_module_takes_that_spelling(tmp_path: Path) -> None:
    """Run from the root or from its own folder, a script's relative path is read the way
    another module also names the file."""
    graph = graph_of(
        tmp_path,
        {
            "jobs/export.py": 'import pandas as pd\npd.DataFrame().to_csv("scores.csv")\n',
            "jobs/report.py": 'import pandas as pd\ndf = pd.read_csv("jobs/scores.csv")\n',
        },
    )
    assert uses(graph, artifact_node("jobs/scores.csv")) == [
        ("r", "jobs/report.py", 2),
        ("w", "jobs/export.py", 2),
    ]


def test_a_notebook_path_is_relative_to_its_folder_unless_confirmed_otherwise(
    tmp_path: Path,
) -> None:
    graph = graph_of(
        tmp_path,
        {"nb/eda.ipynb": '# %%\nimport pandas as pd\npd.DataFrame().to_csv("summary.csv")\n'},
    )
    assert artifact_node("nb/summary.csv") in graph.artifacts


def test_notebooks_in_two_folders_writing_one_name_write_two_files(tmp_path: Path) -> None:
    cell = '# %%\nimport json\njson.dump({}, open("expected_columns.json", "w"))\n'
    graph = graph_of(tmp_path, {"rf/train.ipynb": cell, "linear/train.ipynb": cell})
    assert sorted(n for n in graph.artifacts) == [
        artifact_node("linear/expected_columns.json"),
        artifact_node("rf/expected_columns.json"),
    ]


def test_paths_that_differ_only_in_case_are_one_file(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "clean.py": 'import pandas as pd\npd.DataFrame().to_csv("Data_Clean/out.csv")\n',
            "use.py": 'import pandas as pd\ndf = pd.read_csv("data_clean/OUT.csv")\n',
        },
    )
    assert uses(graph, artifact_node("Data_Clean/out.csv")) == [
        ("r", "use.py", 2),
        ("w", "clean.py", 2),
    ]


def test_wildcards_match_the_concrete_paths_they_stand_for(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "export.py": (
                "import pandas as pd\n"
                "def export(year):\n"
                '    pd.DataFrame().to_csv(f"data/{year}/sales.csv")\n'
            ),
            "fixed.py": 'import pandas as pd\npd.DataFrame().to_csv("data/2024/sales.csv")\n',
            "load.py": 'import glob\nfiles = glob.glob("data/*/sales.csv")\n',
        },
    )
    node = artifact_node("data/2024/sales.csv")
    assert uses(graph, node) == [
        ("r", "load.py", 2),
        ("w", "export.py", 3),
        ("w", "fixed.py", 2),
    ]
    assert all(u.matched for u in graph.artifacts[node].uses if u.path != "fixed.py")


def test_a_glob_reaches_wildcard_writes_and_equal_wildcards_share_a_node(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "train.py": (
                "import joblib\n"
                "for fold in range(5):\n"
                '    joblib.dump(fold, f"work/fold{fold}.pkl")\n'
            ),
            "predict.py": (
                "import glob\nimport joblib\n"
                'models = [joblib.load(p) for p in glob.glob("work/fold*.pkl")]\n'
                'first = joblib.load(f"work/fold{0 + 0}.pkl")\n'
            ),
        },
    )
    node = artifact_node("work/fold{}.pkl")
    assert graph.artifacts[node].kind == "pattern"
    assert ("w", "train.py", 3) in uses(graph, node)
    assert ("r", "predict.py", 4) in uses(graph, node)
    assert any(u.path == "predict.py" and u.api == "glob.glob" for u in graph.artifacts[node].uses)


def test_files_under_a_folder_known_only_at_run_time_are_still_matched(tmp_path: Path) -> None:
    """``args.root / "data" / "x.pkl"`` in two scripts: the same file under an unknown root."""
    script = (
        "import argparse\nimport pandas as pd\n"
        "parser = argparse.ArgumentParser()\n"
        'parser.add_argument("--root", required=True)\n'
        "root = parser.parse_args().root\n"
    )
    graph = graph_of(
        tmp_path,
        {
            "build.py": script + 'pd.DataFrame().to_pickle(root / "data" / "X_train.pkl")\n',
            "train.py": script + 'X = pd.read_pickle(root / "data" / "X_train.pkl")\n',
            "other.py": 'import pandas as pd\nX = pd.read_pickle("data/X_train.pkl")\n',
        },
    )
    node = artifact_node("data/X_train.pkl")
    assert uses(graph, node) == [("r", "other.py", 2), ("r", "train.py", 6), ("w", "build.py", 6)]


def test_a_constant_from_outside_the_analysis_names_one_unknown_file(tmp_path: Path) -> None:
    """``config`` is not analysed: ``config.MODEL_PATH`` is one file, not any file."""
    graph = graph_of(
        tmp_path,
        {
            "train.py": (
                "import joblib\nimport pandas as pd\nfrom config import MODEL_PATH, OUT\n"
                'df = pd.read_csv("data/train.csv")\n'
                "joblib.dump(df, MODEL_PATH)\n"
                'df.to_csv(OUT + "/copy.csv")\n'
            ),
            "predict.py": (
                "import joblib\nfrom config import MODEL_PATH\nm = joblib.load(MODEL_PATH)\n"
            ),
        },
    )
    assert uses(graph, artifact_node("{config.MODEL_PATH}")) == [
        ("r", "predict.py", 3),
        ("w", "train.py", 5),
    ]
    assert uses(graph, artifact_node("data/train.csv")) == [("r", "train.py", 4)]
    assert artifact_node("{config.OUT}/copy.csv") in graph.artifacts


def test_unknown_paths_are_never_merged(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "a.py": "import sys\nimport pandas as pd\npd.read_csv(sys.argv[1])\n",
            "b.py": "import sys\nimport pandas as pd\npd.DataFrame().to_csv(sys.argv[1])\n",
            "c.py": 'import sys\nimport pandas as pd\npd.read_csv(sys.argv[1] + ".csv")\n',
        },
    )
    unknown = [info for info in graph.artifacts.values() if not info.known]
    assert len(unknown) == 3
    assert all(len(info.uses) == 1 for info in unknown)


def test_sql_tables_are_artifacts(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "load.py": (
                "import sqlite3\nimport pandas as pd\ncon = sqlite3.connect('db')\n"
                "pd.DataFrame().to_sql('events', con)\n"
            ),
            "report.py": (
                "import sqlite3\nimport pandas as pd\ncon = sqlite3.connect('db')\n"
                "df = pd.read_sql('SELECT user, n FROM events JOIN users ON id = uid', con)\n"
            ),
        },
    )
    assert uses(graph, artifact_node("table:events")) == [
        ("r", "report.py", 4),
        ("w", "load.py", 4),
    ]
    assert artifact_node("table:users") in graph.artifacts


def test_a_helpers_io_belongs_to_the_scripts_that_call_it(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "io_utils.py": (
                "import pandas as pd\n"
                "def save(df):\n"
                '    df.to_parquet("work/table.parquet")\n'
                "def load():\n"
                '    return pd.read_parquet("work/table.parquet")\n'
            ),
            "make.py": "import io_utils\n\ndef main():\n    io_utils.save(None)\n\nmain()\n",
            "use.py": "from io_utils import load\ndf = load()\n",
            "tests/test_io.py": "from io_utils import load\n\ndef test_load():\n    load()\n",
        },
    )
    steps = {u.mode: u.steps for u in graph.artifacts[artifact_node("work/table.parquet")].uses}
    assert steps == {"w": ("make.py",), "r": ("use.py",)}


# --- models and flows ---------------------------------------------------------------------------

TRAIN = """
import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

FEATURES = ["age", "income"]
df = pd.read_csv("data/train.csv")
model = RandomForestClassifier(random_state=0)
model.fit(df[FEATURES], df["label"])
joblib.dump(model, "models/rf.joblib")
"""

PREDICT = """
import joblib
import pandas as pd

model = joblib.load("models/rf.joblib")
df = pd.read_csv("data/new.csv")
df["score"] = model.predict(df[["age", "income"]])
df.to_csv("data/scored.csv")
"""


def test_a_model_saved_and_loaded_elsewhere_is_one_model(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, {"train.py": TRAIN, "predict.py": PREDICT})
    model = graph.models["model:" + artifact_node("models/rf.joblib")]
    assert model.cls == "sklearn.ensemble.RandomForestClassifier"
    assert sorted(path for path, _ in model.sites) == ["predict.py", "train.py"]
    assert model.trains_on == {artifact_node("data/train.csv")}
    assert "signal:constant:train.FEATURES" in model.fits[0].signals
    assert [(u.path, u.line) for u in model.predicts_to] == [("predict.py", 8)]
    assert (model.id, artifact_node("data/scored.csv")) in edges(graph, "predicts-to")
    assert (artifact_node("data/train.csv"), model.id) in edges(graph, "trains-on")
    assert (model.id, artifact_node("models/rf.joblib")) in edges(graph, "saves")
    assert (artifact_node("models/rf.joblib"), model.id) in edges(graph, "loads")
    assert graph.feature_list("signal:constant:train.FEATURES") == ["age", "income"]


def test_models_built_from_one_settings_file_stay_distinct(tmp_path: Path) -> None:
    script = """
import yaml
from sklearn.ensemble import RandomForestClassifier
with open("params.yaml") as fh:
    params = yaml.safe_load(fh)
model = RandomForestClassifier(**params["rf"])
model.fit([[0]], [0])
"""
    graph = graph_of(tmp_path, {"a.py": script, "b.py": script})
    assert sorted(graph.models) == ["model:a.py:model@6", "model:b.py:model@6"]
    assert not edges(graph, "loads")


def test_data_flows_from_what_a_module_reads_to_what_it_writes(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        {
            "step.py": (
                "import pandas as pd\n"
                'a = pd.read_csv("a.csv")\n'
                'b = pd.read_csv("b.csv")\n'
                'a.merge(b).to_csv("ab.csv")\n'
                'b.to_csv("b_copy.csv")\n'
            )
        },
    )
    assert set(graph.flows[artifact_node("a.csv")]) == {artifact_node("ab.csv")}
    assert set(graph.flows[artifact_node("b.csv")]) == {
        artifact_node("ab.csv"),
        artifact_node("b_copy.csv"),
    }
    assert (artifact_node("a.csv"), artifact_node("ab.csv")) in edges(graph, "flows-to")


def test_the_demo_feedback_loop_is_in_the_graph() -> None:
    demo = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
    result = analyse([demo], Config(root=demo, select=[]), jobs=1, use_cache=False)
    graph = result.graph
    assert graph is not None
    model = graph.models["model:" + artifact_node("models/churn_model.joblib")]
    written = [u.nodes for u in model.predicts_to]
    assert written == [(artifact_node("data/processed/predictions.csv"),)]
    back = graph.flows[artifact_node("data/processed/predictions.csv")]
    assert artifact_node("data/processed/features.csv") in back
    assert artifact_node("data/processed/features.csv") in model.trains_on


# --- speed ---------------------------------------------------------------------------------------


def _synthetic(count: int) -> list[ModuleFacts]:
    """Facts like a large project's: imports, definitions, calls, a few artifacts and models."""
    found = []
    for index in range(count):
        name = f"pkg.m{index}"
        other = f"pkg.m{(index * 7 + 1) % count}"
        facts = ModuleFacts(path=f"pkg/m{index}.py", module=name, lines_of_code=200)
        facts.imports = [Import(other, f"f{j}", None, 1) for j in range(3)] + [
            Import("numpy", None, "np", 2)
        ]
        facts.definitions = [
            Definition(f"f{j}", f"f{j}", "function", 10 * j + 5) for j in range(12)
        ]
        facts.calls = [
            Call(
                f"f{j % 12}", f"{other}.f{j % 12}" if j % 3 else f"f{j % 12}", 10 * j, f"f{j % 12}"
            )
            for j in range(60)
        ] + [Call("np.zeros", "numpy.zeros", 3, "") for _ in range(20)]
        if index % 10 == 0:
            facts.artifacts = [
                Artifact("r", f"data/in{index % 50}.csv", "pandas.read_csv", 20, "f1", "df"),
                Artifact("w", f"data/out{index}_{{}}.csv", "to_csv", 30, "f2", "df", ("a:0",)),
            ]
            facts.models = [Model("m", 25, "f1", "sklearn.svm.SVC", "estimator")]
        found.append(facts)
    return found


def test_building_the_graph_of_3000_modules_takes_well_under_two_seconds() -> None:
    """CPU time, with the garbage collector paused as the engine pauses it (wall time on a
    shared machine says more about the neighbours); about 0.5 s on the development machine."""
    facts = _synthetic(3000)
    gc.disable()
    try:
        started = time.process_time()
        graph = ProjectGraph(facts)
        elapsed = time.process_time() - started
    finally:
        gc.enable()
    assert len(graph.by_path) == 3000
    assert graph.nx.number_of_edges() > 30_000
    assert elapsed < 2.0, f"graph build took {elapsed:.2f} s of CPU"


@pytest.mark.parametrize("template", ["{}", "{arg:path}", "{}.csv", "{}/{}.parquet"])
def test_templates_that_say_nothing_stay_unknown(template: str) -> None:
    facts = ModuleFacts(path="a.py", module="a")
    facts.artifacts = [Artifact("r", template, "pandas.read_csv", 1)]
    graph = ProjectGraph([facts])
    assert [info.kind for info in graph.artifacts.values()] == ["unknown"]


def test_bulk_insertion_builds_what_networkx_itself_would(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = _synthetic(60)
    fast = ProjectGraph(facts).nx
    monkeypatch.setattr(graph_module, "_add_nodes", lambda g, nodes: g.add_nodes_from(nodes))
    monkeypatch.setattr(graph_module, "_add_keyed_edges", lambda g, edges: g.add_edges_from(edges))
    slow = ProjectGraph(facts).nx
    assert dict(fast.nodes(data=True)) == dict(slow.nodes(data=True))
    assert sorted(fast.edges(keys=True, data="kind")) == sorted(slow.edges(keys=True, data="kind"))
    assert {n: sorted(fast.predecessors(n)) for n in fast} == {
        n: sorted(slow.predecessors(n)) for n in slow
    }


@pytest.mark.parametrize(
    ("template", "folder", "spellings"),
    [
        ("data/./x.csv", "src", ["data/x.csv", "src/data/x.csv"]),
        ("../data//x.csv", "notebooks", ["data/x.csv"]),
        ("/srv//shared/./x.csv", "src", ["/srv/shared/x.csv"]),
        ("~/data/x.csv", "", ["~/data/x.csv"]),
        ("C:/Users/me/../data/x.csv", "src", ["C:/Users/data/x.csv"]),
        ("s3://bucket//x.csv", "", ["s3://bucket//x.csv"]),
        ("table:events", "src", ["table:events"]),
        ("{}", "src", []),
    ],
)
def test_the_spellings_a_path_may_stand_for(
    template: str, folder: str, spellings: list[str]
) -> None:
    assert graph_module._candidates(template, folder) == spellings
