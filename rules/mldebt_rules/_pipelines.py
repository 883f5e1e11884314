"""The data pipeline of a project, as the pipeline rules (MLD101-MLD104, MLD122, MLD131) see it.

* :func:`declared` - what the project declares as a pipeline: DVC stages (``dvc.yaml``), a
  Makefile's targets and recipes, Kedro catalogs, MLflow ``MLproject`` entry points, shell
  scripts that run the steps, and Python modules of an orchestrator (Airflow, Prefect, Luigi,
  Kedro, Dagster, Metaflow, ZenML, Flyte, Kubeflow) with the project modules they import.
  Files are read from the graph's root with real parsers (PyYAML, a small Makefile reader);
  the analysed code is never imported.
* :func:`hand_offs` - every artifact one step (a script or notebook) writes and another reads.
* helpers: which artifacts are raw inputs, models or final outputs; a natural order of
  numbered scripts (``02b_x.py`` after ``02_y.py``).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mldebt.graph import (
    ArtifactInfo,
    ArtifactUse,
    Derivation,
    FitSite,
    ModelInfo,
    ProjectGraph,
    is_test_path,
)

RAW_INPUTS = ("data/raw", "raw", "input")
ORCHESTRATORS = frozenset(
    {
        "airflow",
        "prefect",
        "luigi",
        "kedro",
        "dagster",
        "metaflow",
        "zenml",
        "flytekit",
        "kfp",
    }
)
MODEL_SUFFIXES = frozenset(
    {
        ".pt",
        ".pth",
        ".ckpt",
        ".onnx",
        ".safetensors",
        ".keras",
        ".joblib",
        ".h5",
        ".hdf5",
        ".tflite",
        ".pb",
        ".cbm",
        ".model",
        ".bin",
    }
)
MODEL_APIS = frozenset(
    {
        "torch.save",
        "torch.load",
        "torch.jit.save",
        "torch.jit.load",
        "save_model",
        "load_model",
        "save_pretrained",
        "from_pretrained",
        "save_weights",
        "load_weights",
        "lightgbm.Booster",
        "xgboost.Booster",
        "keras.models.load_model",
        "keras.saving.load_model",
        "tensorflow.saved_model.save",
        "tensorflow.saved_model.load",
        "safetensors.torch.save_file",
        "safetensors.torch.load_file",
    }
)
DATA_SUFFIXES = frozenset(
    {
        ".csv",
        ".tsv",
        ".parquet",
        ".pq",
        ".feather",
        ".arrow",
        ".pkl",
        ".pickle",
        ".npy",
        ".npz",
        ".h5",
        ".hdf5",
        ".hdf",
        ".json",
        ".jsonl",
        ".xlsx",
        ".xls",
        ".txt",
        ".orc",
        ".avro",
        ".zarr",
        ".gz",
        ".zip",
    }
)
#: Name parts of fitted objects (``models/``, ``scaler.pkl``, ``tfidf_vectorizer.joblib``).
MODEL_WORDS = frozenset(
    {
        "model",
        "models",
        "scaler",
        "encoder",
        "encoders",
        "vectorizer",
        "tokenizer",
        "clf",
        "classifier",
        "regressor",
        "estimator",
        "checkpoint",
        "checkpoints",
        "ckpt",
        "booster",
    }
)
DATA_ONLY_SUFFIXES = frozenset({".csv", ".tsv", ".parquet", ".feather", ".xlsx", ".jsonl"})
#: Folders and name parts that say "made on the way, to be read again".
INTERMEDIATE_WORDS = frozenset(
    {
        "interim",
        "intermediate",
        "processed",
        "staging",
        "stage",
        "tmp",
        "temp",
        "cache",
        "cached",
        "work",
        "working",
        "workdir",
        "prepared",
        "preprocessed",
        "features",
        "merged",
        "clean",
        "cleaned",
        "partial",
        "scratch",
    }
)
#: Name parts of outputs meant for people or other systems: never "intermediate".
FINAL_WORDS = frozenset(
    {
        "report",
        "reports",
        "summary",
        "metrics",
        "metric",
        "score",
        "scores",
        "result",
        "results",
        "eval",
        "evaluation",
        "submission",
        "submissions",
        "prediction",
        "predictions",
        "preds",
        "pred",
        "output",
        "outputs",
        "figure",
        "figures",
        "plot",
        "plots",
        "chart",
        "importance",
        "importances",
        "log",
        "logs",
        "history",
        "readme",
        "sample",
        "export",
        "exports",
        "dashboard",
        "docs",
    }
)
_WORDS = re.compile(r"[a-z]+")
_NUMBERED = re.compile(r"(\d+)([a-z]?)[_\-. ]")
_PY = re.compile(r"""(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.py)\b""")
_MODULE_RUN = re.compile(r"-m\s+([A-Za-z_][\w.]*)")
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "env",
        "__pycache__",
        ".mldebt_cache",
        ".tox",
        ".nox",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        ".dvc",
    }
)
_MAX_FILE = 1_000_000


# --- what a name says ------------------------------------------------------------------------


def suffix(label: str) -> str:
    name = label.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def words(label: str) -> set[str]:
    return set(_WORDS.findall(label.lower()))


def is_raw(label: str, raw_folders: Iterable[str]) -> bool:
    """Under a raw-input folder (``data/raw/x.csv``; a folder ``raw`` at any depth)."""
    for folder in raw_folders:
        folder = folder.strip("/")
        if not folder:
            continue
        if label.startswith(folder + "/") or f"/{folder}/" in f"/{label}":
            return True
    return False


def is_model_artifact(graph: ProjectGraph, info: ArtifactInfo) -> bool:
    """Saved from or loaded into a model, by a model API, or named like model weights."""
    if any(info.id in m.saved_to or info.id in m.loaded_from for m in graph.models.values()):
        return True
    if words(info.label) & MODEL_WORDS and suffix(info.label) not in DATA_ONLY_SUFFIXES:
        return True
    if any(
        u.api in MODEL_APIS or u.api.endswith((".save_model", ".load_model")) for u in info.uses
    ):
        return True
    return suffix(info.label) in MODEL_SUFFIXES and suffix(info.label) not in (".h5", ".hdf5")


def is_final(label: str) -> bool:
    """Named like an output for people or other systems (a report, submission, log...)."""
    return bool(words(label) & FINAL_WORDS)


def natural_key(path: str) -> tuple[str, float, str, str]:
    """Order of numbered scripts: folder, then number and letter (``03b`` after ``03``)."""
    folder, _, name = path.rpartition("/")
    match = _NUMBERED.match(name)
    if match:
        return folder, float(match.group(1)), match.group(2), name
    return folder, float("inf"), "", name


def number_of(path: str) -> tuple[str, float, str] | None:
    folder, _, name = path.rpartition("/")
    match = _NUMBERED.match(name)
    return (folder, float(match.group(1)), match.group(2)) if match else None


# --- hand-offs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandOff:
    """``writer`` writes ``artifact`` (at ``write``), ``reader`` reads it (at ``read``)."""

    artifact: str
    writer: str
    reader: str
    write: ArtifactUse
    read: ArtifactUse


def steps(use: ArtifactUse) -> tuple[str, ...]:
    """The scripts and notebooks that run a use (tests never are pipeline steps)."""
    return tuple(s for s in use.steps if not is_test_path(s))


def hand_offs(
    graph: ProjectGraph,
    raw_folders: Iterable[str] = RAW_INPUTS,
    models: bool = False,
) -> list[HandOff]:
    """Every (writer, artifact, reader) with two different steps: known artifacts only,
    raw inputs left out, model files too unless ``models``."""
    raw = tuple(raw_folders)
    found: list[HandOff] = []
    for info in graph.artifacts.values():
        if not info.known or info.kind == "url" or is_raw(info.label, raw):
            continue
        if not models and is_model_artifact(graph, info):
            continue
        writes = [(w, s) for w in info.writes for s in steps(w)]
        reads = [(r, s) for r in info.reads for s in steps(r)]
        writers = {s for _, s in writes}
        for write, writer in writes:
            for read, reader in reads:
                # A step that writes the file itself reads its own output, not another's
                # (two driver scripts running the same helpers are alternatives, not steps).
                if writer != reader and reader not in writers:
                    found.append(HandOff(info.id, writer, reader, write, read))
    found.sort(key=lambda h: (natural_key(h.writer), natural_key(h.reader), h.artifact))
    return found


# --- declarations ----------------------------------------------------------------------------


@dataclass
class Declared:
    """What the project declares: artifacts (as regexes over root-relative paths) and the
    scripts declared steps run; ``sources`` names the files that say so."""

    sources: list[str] = field(default_factory=list)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    scripts: set[str] = field(default_factory=set)

    def artifact(self, label: str) -> bool:
        return any(p.match(label) for p in self.patterns)

    def hand_off(self, hand_off: HandOff, label: str) -> bool:
        return self.artifact(label) or (
            hand_off.writer in self.scripts and hand_off.reader in self.scripts
        )

    def add_path(self, text: str, base: str = "") -> None:
        """A path as a declaration spells it (``$``-templates and globs as wildcards)."""
        text = text.strip().strip("'\"")
        if not text or text.startswith(("-", "$(", "http://", "https://", "s3://", "gs://")):
            return
        text = re.sub(r"\$\{[^}]*\}|\$\([^)]*\)|\$\w+|%|\*+|\?", "\x00", text)
        joined = f"{base}/{text}" if base and not text.startswith("/") else text
        normal = _normalise(joined)
        if normal is None:
            return
        pattern = "".join(".*" if c == "\x00" else re.escape(c) for c in normal)
        # A declared folder covers what is inside it.
        self.patterns.append(re.compile(pattern + r"(?:/.*)?\Z", re.DOTALL))

    def add_scripts(self, command: str, base: str, graph: ProjectGraph) -> None:
        """The Python files and ``-m`` modules a shell command runs."""
        cwd = base
        for part in re.split(r"&&|;|\|\||\n", command):
            words_ = _split(part)
            if len(words_) >= 2 and words_[0] == "cd":
                cwd = _normalise(f"{cwd}/{words_[1]}" if cwd else words_[1]) or cwd
                continue
            for script in _PY.findall(part):
                found = _normalise(f"{cwd}/{script}" if cwd else script)
                if found and found in graph.by_path:
                    self.scripts.add(found)
                elif found:  # a script named from another folder: match by its tail
                    tail = "/" + found.rpartition("/")[2] if "/" not in script else "/" + script
                    self.scripts.update(p for p in graph.by_path if ("/" + p).endswith(tail))
            for module in _MODULE_RUN.findall(part):
                facts = graph.resolve_module(module)
                if facts is not None:
                    self.scripts.add(facts.path)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _normalise(path: str) -> str | None:
    out: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(segment)
    return "/".join(out) if out else None


_CACHE_KEY = "_mldebt_declared"


def declared(graph: ProjectGraph) -> Declared:
    """The project's declared pipeline (computed once per graph)."""
    known = graph.__dict__.get(_CACHE_KEY)
    if isinstance(known, Declared):
        return known
    found = Declared()
    root = graph.root
    if root is not None and root.is_dir():
        for rel, path in _project_files(root):
            name = rel.rpartition("/")[2]
            base = rel.rpartition("/")[0]
            try:
                if name in ("dvc.yaml", "dvc.yml"):
                    _dvc(found, _read(path), base, graph, rel)
                elif name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
                    _makefile(found, _read(path), base, graph, rel)
                elif name == "MLproject":
                    _mlproject(found, _read(path), base, graph, rel)
                elif name.startswith("catalog") and name.endswith((".yml", ".yaml")):
                    _catalog(found, _read(path), rel)
                elif name.endswith(".sh"):
                    _shell(found, _read(path), base, graph, rel)
            except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError):
                continue  # a file we cannot read declares nothing
    _orchestrated(found, graph)
    graph.__dict__[_CACHE_KEY] = found
    return found


def _project_files(root: Path) -> Iterator[tuple[str, Path]]:
    seen = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        seen += 1
        if seen > 5000:
            return
        for name in sorted(names):
            if (
                name in ("dvc.yaml", "dvc.yml", "Makefile", "makefile", "GNUmakefile", "MLproject")
                or name.endswith((".mk", ".sh"))
                or (name.startswith("catalog") and name.endswith((".yml", ".yaml")))
            ):
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                yield path.relative_to(root).as_posix(), path


def _read(path: Path) -> str:
    if path.stat().st_size > _MAX_FILE:
        raise ValueError("too large")
    return path.read_text(encoding="utf-8")


def _entries(value: Any) -> list[str]:
    """Paths of a DVC deps/outs list: strings or one-key mappings ``{path: {options}}``."""
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.extend(str(k) for k in item)
    return out


def _dvc(found: Declared, text: str, base: str, graph: ProjectGraph, rel: str) -> None:
    data = yaml.safe_load(text)
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return
    found.sources.append(rel)
    for stage in stages.values():
        if not isinstance(stage, dict):
            continue
        if isinstance(stage.get("do"), dict):  # foreach ... do
            stage = stage["do"]
        wdir = str(stage.get("wdir") or "")
        where = _normalise(f"{base}/{wdir}" if base else wdir) or ""
        for key in ("deps", "outs", "metrics", "plots"):
            for entry in _entries(stage.get(key) or []):
                if entry.endswith(".py"):
                    script = _normalise(f"{where}/{entry}" if where else entry)
                    if script:
                        found.scripts.add(script)
                    continue
                found.add_path(entry, where)
        command = stage.get("cmd")
        commands = command if isinstance(command, list) else [command]
        for line in commands:
            if isinstance(line, str):
                found.add_scripts(line, where, graph)


_MAKE_VAR = re.compile(
    r"^(?:export\s+|override\s+)?([A-Za-z_][\w.-]*)\s*(?::{1,3}=|\?=|\+=|!=|=)(.*)$"
)
_MAKE_RULE = re.compile(r"^([^:=#\t][^:=]*?)\s*::?(?!=)\s*(.*)$")
_MAKE_REF = re.compile(r"\$[({]([A-Za-z_][\w.-]*)[)}]")


def _makefile(found: Declared, text: str, base: str, graph: ProjectGraph, rel: str) -> None:
    """Targets, prerequisites and recipes of a Makefile (simple variables expanded)."""
    lines = text.replace("\\\n", " ").splitlines()
    variables: dict[str, str] = {}

    def expand(value: str, depth: int = 0) -> str:
        if depth > 8 or "$" not in value:
            return value
        return expand(
            _MAKE_REF.sub(lambda m: variables.get(m.group(1), m.group(0)), value), depth + 1
        )

    rules = 0
    for line in lines:
        if line.startswith("\t"):
            if rules:
                found.add_scripts(expand(line.strip().lstrip("@-+")), base, graph)
            continue
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        assignment = _MAKE_VAR.match(stripped)
        if assignment:
            variables[assignment.group(1)] = assignment.group(2).strip()
            continue
        rule = _MAKE_RULE.match(stripped)
        if rule is None:
            continue
        rules += 1
        targets = expand(rule.group(1)).split()
        prerequisites, _, recipe = expand(rule.group(2)).partition(";")
        for name in [*targets, *prerequisites.replace("|", " ").split()]:
            if name.startswith(".") and "/" not in name:
                continue  # .PHONY, .SUFFIXES
            if name.endswith(".py"):
                script = _normalise(f"{base}/{name}" if base else name)
                if script:
                    found.scripts.add(script)
            elif "/" in name or "." in name:
                found.add_path(name, base)
        if recipe.strip():
            found.add_scripts(recipe, base, graph)
    if rules:
        found.sources.append(rel)


def _mlproject(found: Declared, text: str, base: str, graph: ProjectGraph, rel: str) -> None:
    data = yaml.safe_load(text)
    points = data.get("entry_points") if isinstance(data, dict) else None
    if not isinstance(points, dict):
        return
    found.sources.append(rel)
    for point in points.values():
        if isinstance(point, dict) and isinstance(point.get("command"), str):
            found.add_scripts(point["command"], base, graph)


def _catalog(found: Declared, text: str, rel: str) -> None:
    """A Kedro data catalog: every data set's ``filepath`` is declared."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return
    declared_any = False
    for entry in data.values():
        if isinstance(entry, dict) and isinstance(entry.get("filepath"), str):
            found.add_path(entry["filepath"])
            declared_any = True
    if declared_any:
        found.sources.append(rel)


def _shell(found: Declared, text: str, base: str, graph: ProjectGraph, rel: str) -> None:
    """A shell script that runs two or more of the project's scripts declares them."""
    before = set(found.scripts)
    probe = Declared()
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        probe.add_scripts(line, "", graph)
        if base:
            probe.add_scripts(line, base, graph)
    if len(probe.scripts) >= 2:
        found.scripts |= probe.scripts
        if found.scripts != before:
            found.sources.append(rel)


def _orchestrated(found: Declared, graph: ProjectGraph) -> None:
    """Modules of an orchestrator framework, the project modules they import and the
    scripts their text names (an Airflow ``BashOperator`` command) are declared steps."""
    for facts in graph.modules():
        if not any(i.module.partition(".")[0] in ORCHESTRATORS for i in facts.imports):
            continue
        found.sources.append(facts.path)
        found.scripts.add(facts.path)
        for imported in graph.imported_modules(facts.module):
            found.scripts.add(imported.path)
        root = graph.root
        if root is None:
            continue
        try:
            text = _read(root / facts.path)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        for match in re.finditer(r"""["']([^"'\n]*\.py\b[^"'\n]*)["']""", text):
            found.add_scripts(match.group(1), "", graph)


# --- where a model's predictions go ----------------------------------------------------------


@dataclass(frozen=True)
class PredictionFlow:
    """Predictions of ``model`` written by ``write`` (to ``source``) reach artifact ``target``
    through ``steps`` (empty when ``target`` is ``source``)."""

    model: ModelInfo
    write: ArtifactUse
    source: str
    target: str
    steps: tuple[Derivation, ...]


def prediction_flows(
    graph: ProjectGraph, model: ModelInfo, limit: int = 12
) -> list[PredictionFlow]:
    """Every artifact the predictions of ``model`` flow into, by the shortest path."""
    found: list[PredictionFlow] = []
    for write in model.predicts_to:
        for source in write.nodes:
            info = graph.artifacts[source]
            if not info.known or is_model_artifact(graph, info):
                continue  # checkpoints and optimizer state are not predictions
            seen = {source}
            queue: list[tuple[str, tuple[Derivation, ...]]] = [(source, ())]
            while queue:
                node, path = queue.pop(0)
                found.append(PredictionFlow(model, write, source, node, path))
                if len(path) >= limit:
                    continue
                for target, derivations in sorted(graph.flows.get(node, {}).items()):
                    info = graph.artifacts[target]
                    if target not in seen and info.known and not is_model_artifact(graph, info):
                        seen.add(target)
                        first = min(derivations, key=lambda d: (d.read.path, d.read.line))
                        queue.append((target, (*path, first)))
    return found


def prediction_writes(graph: ProjectGraph) -> set[int]:
    """ids of the writes that write some model's predictions."""
    return {id(use) for model in graph.models.values() for use in model.predicts_to}


def entry(graph: ProjectGraph, flow: PredictionFlow, fit: FitSite) -> ArtifactUse:
    """Where predictions enter the data a fit trains on: the prediction write when it
    overwrites a file other steps make (it pushes them in), else the first read that takes
    them up (it pulls them in)."""
    info = graph.artifacts[flow.source]
    predicted = prediction_writes(graph)
    if any(id(w) not in predicted for w in info.writes):
        return flow.write
    if flow.steps:
        return flow.steps[0].read
    for read in fit.reads:
        if flow.source in read.nodes:
            return read
    return flow.write


def trains(model: ModelInfo) -> bool:
    """A model proper (not a scaler or encoder), trained somewhere in the project."""
    return bool(model.fits) and model.kind != "transformer"
