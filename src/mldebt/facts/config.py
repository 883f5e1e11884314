"""Configuration facts: the settings a project defines and the keys its code reads.

Two sources, both plain data:

* :func:`python_config_facts` reads one Python module (with Python's own ``ast``, only when the
  text can hold something of interest) into the config objects it holds (loaded with
  ``yaml.safe_load`` / ``json.load`` / ``OmegaConf.load``, a ``@hydra.main`` function's
  ``cfg``, ``args = parser.parse_args()``), the keys read from them (``cfg.model.lr`` and
  ``cfg["model"]["lr"]`` as ``model.lr``, ``cfg.get("k")``), where they are passed on whole,
  the keys it defines (argparse / click options, and in a configuration module its dict
  literals, constants and dataclass / pydantic fields) and the hyper-parameters it writes as
  literals (``Adam(lr=1e-3)``, ``EPOCHS = 10``, ``proba > 0.7``).
* :func:`parse_config_file` reads one YAML / TOML / JSON settings file with a real parser
  into dotted keys with their values and lines.

Never imports or runs the analysed code.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

FACTS_KEY = "config"
MAX_CONFIG_FILE = 512 * 1024

#: Hyper-parameter names as code and configs spell them, by the setting they name.
_ALIASES = {
    "learning_rate": "lr",
    "num_epochs": "epochs",
    "n_epochs": "epochs",
    "nb_epochs": "epochs",
    "nb_epoch": "epochs",
    "num_train_epochs": "epochs",
}
HYPERPARAMETERS = frozenset(
    {
        "lr",
        "learning_rate",
        "epochs",
        "num_epochs",
        "n_epochs",
        "nb_epochs",
        "nb_epoch",
        "num_train_epochs",
        "max_epochs",
        "batch_size",
        "train_batch_size",
        "eval_batch_size",
        "n_estimators",
        "max_depth",
        "min_samples_leaf",
        "min_samples_split",
        "num_leaves",
        "min_child_weight",
        "subsample",
        "colsample_bytree",
        "reg_alpha",
        "reg_lambda",
        "eta",
        "c",
        "alpha",
        "l1_ratio",
        "l2",
        "l2_reg",
        "weight_decay",
        "dropout",
        "dropout_rate",
        "drop_rate",
        "test_size",
        "train_size",
        "val_size",
        "validation_split",
        "threshold",
        "decision_threshold",
        "embedding_dim",
        "embed_dim",
        "embedding_size",
        "hidden_dim",
        "hidden_size",
        "hidden_units",
        "num_layers",
        "n_layers",
        "num_heads",
        "momentum",
        "max_iter",
        "n_neighbors",
        "n_components",
        "warmup_steps",
        "gradient_accumulation_steps",
        "patience",
        "label_smoothing",
        "latent_dim",
    }
)
#: Text that can hold a config object or an option (the module is then read).
_CONFIG_MARKERS = re.compile(
    r"yaml|json\.load|toml|OmegaConf|DictConfig|hydra|ArgumentParser|parse_args|click\."
)
#: Environment reads, for a module read for nothing else (they have no rule yet, only nodes):
#: ``os.environ["K"]``, ``os.environ.get("K", d)``, ``os.getenv("K", d)``.
_ENV_READ = re.compile(
    r"""environ\s*\[\s*["']([A-Za-z_]\w*)["']\s*\]"""
    r"""|(?:environ\.get|getenv)\s*\(\s*["']([A-Za-z_]\w*)["']\s*(,)?"""
)
#: Training or pipeline code: a model fit or trained, an optimiser, a loader, a split, a
#: search, a probability threshold. Only there do literal hyper-parameters count.
TRAINING_MARKERS = (
    "fit(",
    "optim",
    "DataLoader",
    "train_test_split",
    "Trainer",
    "predict_proba",
    ".compile(",
    "cross_val",
    "SearchCV",
    ".train(",
)
#: What a configuration module's settings look like: a dataclass or pydantic model, or a
#: module-level name bound to a literal number, string or dict.
_SETTINGS_TEXT = re.compile(
    r"@dataclass|BaseModel|BaseSettings|^[A-Za-z_]\w*\s*(?::[^=\n]+)?=\s*(?:[{\d\"'-]|dict\()",
    re.M,
)
_HYPER_LITERAL = re.compile(
    r"\bC\s*=\s*[-\d.]|\b(?i:"
    + "|".join(sorted(h for h in HYPERPARAMETERS if h != "c"))
    + r")\b[\"']?\s*[:=]\s*-?[\d.]|predict_proba"
)
_WORDS = re.compile(r"""(?:\.\s*|["'])([A-Za-z_]\w*)""")
#: config.py, configs.py, config_train.py, train_config.py, settings.py, params.py, hparams.py
#: (not a library's configuration_utils.py or configuration_bert.py: classes, not settings)
_CONFIG_MODULE = re.compile(
    r"(?:^|/)(?:\w+_)?(?:configs?|settings|params|hparams|hyperparams)(?:_\w+)?\.py$"
)
_CONFIG_FOLDERS = ("conf", "config", "configs", "settings")

_LOADERS = {
    "yaml.safe_load": "yaml",
    "yaml.load": "yaml",
    "yaml.full_load": "yaml",
    "yaml.unsafe_load": "yaml",
    "json.load": "json",
    "json.loads": "json",
    "toml.load": "toml",
    "tomllib.load": "toml",
    "tomli.load": "toml",
    "omegaconf.OmegaConf.load": "omegaconf",
}
_DYNAMIC_MAKERS = frozenset(
    {
        "omegaconf.OmegaConf.create",
        "omegaconf.OmegaConf.merge",
        "omegaconf.OmegaConf.structured",
        "omegaconf.OmegaConf.from_cli",
        "hydra.compose",
    }
)
#: Methods of a mapping that hand over every key below them.
_WHOLE_METHODS = frozenset(
    {"items", "keys", "values", "copy", "to_dict", "to_container", "__dict__", "dict"}
)
_SET_METHODS = frozenset({"update", "setdefault", "pop", "merge_with", "__setitem__"})
_NOT_KEYS = frozenset({"get", *_WHOLE_METHODS, *_SET_METHODS})
_HARMLESS_CALLEES = frozenset(
    {"print", "len", "str", "repr", "isinstance", "type", "id", "bool", "logging.info"}
)


def normalise(name: str) -> str:
    """The setting a key names: lower case, its last dotted part, aliases merged."""
    leaf = name.rsplit(".", 1)[-1].lower().lstrip("_")
    return _ALIASES.get(leaf, leaf)


def is_config_module(path: str) -> bool:
    """``config.py``, ``settings.py``, ``params.py``, ``hparams.py``, or any module under a
    ``conf/`` / ``config/`` / ``configs/`` folder."""
    if _CONFIG_MODULE.search(path):
        return True
    return any(part in _CONFIG_FOLDERS for part in path.split("/")[:-1])


# ---------------------------------------------------------------------------------- Python


@dataclass
class _Holder:
    """A name bound to a configuration object."""

    kind: str  # "file" | "hydra" | "argparse" | "dynamic" | "env"
    source: str = ""  # the file's path, "config_path|config_name", the parser's name
    prefix: str = ""  # dotted key the name stands for (``mcfg = cfg.model``: "model")
    ident: int = 0


@dataclass
class _Facts:
    holders: list[list[Any]] = field(default_factory=list)  # [id, kind, source, line, scope]
    reads: list[list[Any]] = field(default_factory=list)  # [holder id, key, line, has default]
    whole: list[list[Any]] = field(default_factory=list)  # [holder id, prefix, callee, line]
    sets: list[list[Any]] = field(default_factory=list)  # [holder id, key, line]
    defines: list[list[Any]] = field(default_factory=list)  # [kind, key, value, line, owner]
    settings: list[list[Any]] = field(default_factory=list)  # [name, value, line, api, kind]
    env: list[list[Any]] = field(default_factory=list)  # [name, line, has default]
    parsers: dict[str, dict[str, Any]] = field(default_factory=dict)
    click_unread: list[list[Any]] = field(default_factory=list)  # [dest, line, function]
    passed: set[str] = field(default_factory=set)  # names handed over whole (Model(P))
    splats: set[str] = field(default_factory=set)  # Model(**x.P), P.items(): P's keys all go
    dumps: bool = False  # asdict(...), vars(...), model_dump(): every field goes somewhere
    functions: set[str] = field(default_factory=set)
    mentions: set[str] = field(default_factory=set)  # strings naming .yaml/.json/.toml files


_FILE_NAME = re.compile(r"[\w./-]*\.(?:ya?ml|json|toml)$")


def python_config_facts(text: str, path: str) -> dict[str, Any]:
    """The configuration facts of one module (plain JSON types). ``words``: the attribute
    names and the strings' leading identifiers (what can name a key), always; the rest only
    when the text can hold a config object, an option or a hyper-parameter (one ``ast``
    parse then)."""
    words = sorted({w for w in _WORDS.findall(text) if len(w) < 60})
    out: dict[str, Any] = {"words": words}
    if "environ" in text or "getenv" in text:
        env = [
            [m.group(1) or m.group(2), text.count("\n", 0, m.start()) + 1, bool(m.group(3))]
            for m in _ENV_READ.finditer(text)
        ]
        if env:
            out["env"] = env
    if not (
        (is_config_module(path) and _SETTINGS_TEXT.search(text))
        or _CONFIG_MARKERS.search(text)
        or (any(m in text for m in TRAINING_MARKERS) and _HYPER_LITERAL.search(text))
    ):
        return out
    tree = parse_python(text)
    if tree is None:
        return out
    walker = _Walker(path)
    walker.overridable_globals = bool(_OVERRIDABLE_GLOBALS.search(text))
    try:
        walker.run(tree)
    except RecursionError:
        return out
    facts = walker.facts
    out.pop("env", None)  # the syntax tree's reads replace the text's
    out.update(
        holders=facts.holders,
        reads=facts.reads,
        whole=facts.whole,
        sets=facts.sets,
        defines=facts.defines,
        settings=facts.settings,
        env=facts.env,
        parsers=facts.parsers,
        click_unread=facts.click_unread,
        passed=sorted(facts.passed),
        splats=sorted(facts.splats),
        dumps=facts.dumps,
        functions=sorted(facts.functions),
        mentions=sorted(facts.mentions),
    )
    return {k: v for k, v in out.items() if v}


def parse_python(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _literal(node: ast.expr | None) -> tuple[bool, Any]:
    """(True, value) for a number, string, bool or None literal (also ``-1e-3``)."""
    if isinstance(node, ast.Constant) and isinstance(
        node.value, (int, float, str, bool, type(None))
    ):
        return True, node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
        and not isinstance(node.operand.value, bool)
    ):
        return True, -node.operand.value
    return False, None


#: Names that are settings only as a keyword of an estimator or optimiser: a local ``alpha``
#: is as often a plot's transparency or a loss's constant.
AMBIGUOUS = frozenset({"alpha", "threshold", "momentum", "c", "eta", "l2", "subsample"})


def _number(node: ast.expr | None) -> tuple[bool, Any]:
    """(True, value) for a literal number that chooses a setting; 0 switches one off
    (``weight_decay=0.0`` for a parameter group, ``dropout=0``) and is not a choice."""
    ok, value = _literal(node)
    if ok and isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
        if isinstance(value, float) and not math.isfinite(value):
            return False, None
        return True, value
    return False, None


_OVERRIDABLE_GLOBALS = re.compile(
    r"\bexec\(\s*open\(|\bglobals\(\)\s*\[|\bglobals\(\)\.(?:update|items)\("
)


class _Walker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.config_module = is_config_module(path)
        #: Module-level names the script lets a configurator override (nanoGPT's
        #: ``exec(open("configurator.py").read())``, a ``globals()`` sweep): its defaults.
        self.overridable_globals = False
        self.facts = _Facts()
        self.aliases: dict[str, str] = {}  # local name -> dotted module / object
        self.holders: dict[tuple[str, str], _Holder] = {}
        self.scope: list[str] = []
        self.opened: dict[tuple[str, str], str] = {}  # file handle name -> path
        self.strings: dict[str, str] = {}  # module constant -> its string (a path)
        self.proba: set[tuple[str, str]] = set()
        self.next_id = 0

    # --- helpers -----------------------------------------------------------------------

    def run(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    self.aliases[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.facts.functions.add(node.name)
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                text = self._path_text(stmt.value)
                if isinstance(target, ast.Name) and text:
                    self.strings[target.id] = text
        self._body(tree.body, module_level=True)

    def _scope(self) -> str:
        return ".".join(self.scope)

    def dotted(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id, node.id)
        return ".".join([head, *reversed(parts)])

    def _path_text(self, node: ast.expr | None) -> str | None:
        """A literal file path: "x.yaml", Path("x.yaml"), open("x.yaml"), a constant."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.strings.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self._path_text(node.left)
            right = self._path_text(node.right)
            return f"{left}/{right}" if left and right else None
        if isinstance(node, ast.Call):
            name = self.dotted(node.func) or ""
            if name in ("open", "io.open", "pathlib.Path", "Path") and node.args:
                return self._path_text(node.args[0])
            if isinstance(node.func, ast.Attribute) and node.func.attr in (
                "open",
                "read_text",
            ):
                return self._path_text(node.func.value)
        return None

    def holder(self, name: str) -> _Holder | None:
        scopes = self.scope[:]
        while True:
            found = self.holders.get((".".join(scopes), name))
            if found is not None:
                return found
            if not scopes:
                return None
            scopes.pop()

    def bind(self, name: str, holder: _Holder, line: int) -> None:
        if not holder.ident:
            self.next_id += 1
            holder.ident = self.next_id
            self.facts.holders.append(
                [holder.ident, holder.kind, holder.source, line, self._scope()]
            )
        self.holders[(self._scope(), name)] = holder

    # --- statements --------------------------------------------------------------------

    def _body(self, body: list[ast.stmt], module_level: bool = False) -> None:
        for stmt in body:
            self._stmt(stmt, module_level)

    def _stmt(self, stmt: ast.stmt, module_level: bool) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._function(stmt)
            return
        if isinstance(stmt, ast.ClassDef):
            self._class(stmt, module_level)
            return
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                opened = self._path_text(item.context_expr)
                if isinstance(item.optional_vars, ast.Name) and opened:
                    self.opened[(self._scope(), item.optional_vars.id)] = opened
        if isinstance(stmt, ast.Assign):
            self._assign(stmt.targets, stmt.value, stmt.lineno, module_level)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self._assign([stmt.target], stmt.value, stmt.lineno, module_level)
        skipped: list[ast.AST] = []
        if isinstance(stmt, ast.Assign):
            skipped = list(stmt.targets)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            skipped = [stmt.target]
        elif isinstance(stmt, ast.Delete):
            return
        for target in skipped:
            if isinstance(target, ast.Subscript):
                self._expr(target.slice)
        for child in ast.iter_child_nodes(stmt):
            if child in skipped:
                continue
            if isinstance(child, ast.stmt):
                self._stmt(child, module_level=False)
            elif isinstance(child, ast.expr):
                self._expr(child)
            else:
                for sub in ast.iter_child_nodes(child):
                    if isinstance(sub, ast.stmt):
                        self._stmt(sub, module_level=False)
                    elif isinstance(sub, ast.expr):
                        self._expr(sub)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        hydra = None
        clicks: list[tuple[str, int]] = []
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            name = self.dotted(call.func if call else decorator) or ""
            if name.endswith("hydra.main") and call is not None:
                hydra = self._hydra_source(call)
            elif name in ("click.option", "click.argument") and call is not None:
                dest = _click_dest(call)
                if dest:
                    default = _keyword(call, "default")
                    ok, value = _literal(default)
                    self.facts.defines.append(
                        ["click", dest, value if ok else None, call.lineno, node.name]
                    )
                    clicks.append((dest, call.lineno))
            elif call is not None:
                self._expr(call)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self._expr(default)
        self.scope.append(node.name)
        params = [a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]]
        if hydra is not None and params:
            self.bind(params[0], _Holder("hydra", hydra), node.lineno)
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            annotation = self.dotted(arg.annotation) if arg.annotation is not None else None
            if annotation and annotation.endswith("DictConfig") and hydra is None:
                self.bind(arg.arg, _Holder("dynamic", "DictConfig"), node.lineno)
        if clicks:
            loaded = {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
            splat = node.args.kwarg is not None
            for dest, line in clicks:
                if dest not in loaded and not splat and dest in params:
                    self.facts.click_unread.append([dest, line, node.name])
        self._body(node.body)
        self.scope.pop()

    def _hydra_source(self, call: ast.Call) -> str:
        values = []
        for key in ("config_path", "config_name"):
            node = _keyword(call, key)
            ok, value = _literal(node)
            values.append(value if ok and isinstance(value, str) else ("" if node is None else "?"))
        return "|".join(values)

    def _class(self, node: ast.ClassDef, module_level: bool) -> None:
        bases = {self.dotted(b) or "" for b in node.bases}
        decorators = {
            self.dotted(d.func if isinstance(d, ast.Call) else d) or "" for d in node.decorator_list
        }
        settings_class = any(d.endswith("dataclass") for d in decorators) or any(
            b.endswith(("BaseModel", "BaseSettings")) for b in bases
        )
        if self.config_module and module_level and settings_class:
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    ok, value = _literal(stmt.value)
                    if stmt.value is not None and not ok and not isinstance(stmt.value, ast.Call):
                        continue
                    self.facts.defines.append(
                        ["field", stmt.target.id, value if ok else None, stmt.lineno, node.name]
                    )
        self.scope.append(node.name)
        for stmt in node.body:
            if isinstance(stmt, (ast.AnnAssign, ast.Assign)):
                # a class attribute is a definition (a default), not a literal in code
                if stmt.value is not None:
                    self._expr(stmt.value)
                continue
            self._stmt(stmt, module_level=False)
        self.scope.pop()
        for base in node.bases:
            self._expr(base)

    def _assign(
        self, targets: list[ast.expr], value: ast.expr, line: int, module_level: bool
    ) -> None:
        target = targets[0] if len(targets) == 1 else None
        name = target.id if isinstance(target, ast.Name) else None
        if (
            name is not None
            and isinstance(value, ast.Call)
            and (self.dotted(value.func) or "") in ("argparse.ArgumentParser", "ArgumentParser")
        ):
            self._parser(name)["made"] = True
        if name is not None:
            holder = self._holder_of(value)
            if holder is not None:
                self.bind(name, holder, line)
            elif self.holder(name) is not None:
                self.holders.pop((self._scope(), name), None)
            if self._is_proba(value):
                self.proba.add((self._scope(), name))
        if self.config_module and module_level and name is not None:
            self._config_value(name, value, line)
            return
        if (
            name is not None
            and _variable_setting(name)
            and not (module_level and self.overridable_globals)
        ):
            ok, number = _number(value)
            if ok and not (number == 1 and normalise(name) == "batch_size"):
                kind = "constant" if module_level and name.isupper() else "variable"
                self.facts.settings.append([name, number, line, "", kind])
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and _variable_setting(target.attr)
        ):
            ok, number = _number(value)
            if ok and not (number == 1 and normalise(target.attr) == "batch_size"):
                self.facts.settings.append([target.attr, number, line, "", "variable"])
        for item in targets:
            self._store(item, line)

    def _config_value(self, name: str, value: ast.expr, line: int) -> None:
        """A module-level binding of a configuration module: a setting it defines."""
        ok, literal = _literal(value)
        if ok:
            self.facts.defines.append(["constant", name, literal, line, ""])
            return
        if isinstance(value, ast.Dict):
            for key, item in _flatten_dict(value, ""):
                ok, literal = _literal(item)
                self.facts.defines.append(["dict", key, literal if ok else None, item.lineno, name])
        elif isinstance(value, ast.Call) and (self.dotted(value.func) or "").endswith("dict"):
            for keyword in value.keywords:
                if keyword.arg:
                    ok, literal = _literal(keyword.value)
                    self.facts.defines.append(
                        ["dict", keyword.arg, literal if ok else None, keyword.value.lineno, name]
                    )

    def _store(self, target: ast.expr, line: int) -> None:
        """``cfg["k"] = v`` / ``args.k = v``: a key set at run time."""
        if isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                self._store(item, line)
            return
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            root, key, _ = self._chain(target)
            if root is not None:
                self.facts.sets.append([root.ident, key, line])

    def _holder_of(self, value: ast.expr) -> _Holder | None:
        if isinstance(value, ast.Call):
            name = self.dotted(value.func) or ""
            loader = _LOADERS.get(name)
            if loader is not None:
                argument = value.args[0] if value.args else None
                path = self._loader_path(argument)
                return _Holder("file", path or "")
            if name in _DYNAMIC_MAKERS:
                return _Holder("dynamic", name)
            if isinstance(value.func, ast.Attribute) and value.func.attr in (
                "parse_args",
                "parse_known_args",
            ):
                parser = self.dotted(value.func.value) or "?"
                if value.func.attr == "parse_known_args" or value.args:
                    return _Holder("dynamic", "argparse")
                return _Holder("argparse", parser)
            if name in ("os.environ.copy", "dict") and value.args:
                return None
        if isinstance(value, ast.Attribute) and self.dotted(value) == "os.environ":
            return _Holder("env")
        if isinstance(value, (ast.Attribute, ast.Subscript)):
            root, key, complete = self._chain(value)
            if root is not None and complete:
                return _Holder(root.kind, root.source, key, 0)
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Call):
            inner = self._holder_of(value.value)
            sub = _string(value.slice)
            if inner is not None and sub:
                return _Holder(inner.kind, inner.source, sub)
            if inner is not None:
                return _Holder("dynamic", inner.source)
        return None

    def _loader_path(self, argument: ast.expr | None) -> str | None:
        if isinstance(argument, ast.Name):
            opened = self._opened(argument.id)
            if opened:
                return opened
        return self._path_text(argument)

    def _opened(self, name: str) -> str | None:
        scopes = self.scope[:]
        while True:
            found = self.opened.get((".".join(scopes), name))
            if found or not scopes:
                return found
            scopes.pop()

    def _is_proba(self, value: ast.expr) -> bool:
        for node in ast.walk(value):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "predict_proba"
            ):
                return True
        return False

    # --- expressions -------------------------------------------------------------------

    def _chain(self, node: ast.expr) -> tuple[_Holder | None, str, bool]:
        """The holder an attribute / subscript chain starts at, the dotted key it reads,
        and whether every step is a literal name (``cfg[k]``: incomplete)."""
        parts: list[str] = []
        complete = True
        while True:
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Subscript):
                key = _string(node.slice)
                if key is None:
                    parts.clear()
                    complete = False
                else:
                    parts.append(key)
                node = node.value
            else:
                break
        if not isinstance(node, ast.Name):
            if isinstance(node, ast.Call):
                return None, "", False
            return None, "", False
        holder = self.holder(node.id)
        if holder is None:
            return None, "", False
        parts.reverse()
        if holder.kind == "env":
            return holder, ".".join(parts), complete
        key = ".".join([p for p in [holder.prefix, *parts] if p])
        return holder, key, complete

    def _expr(self, node: ast.expr) -> None:
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            self._access(node)
            return
        if isinstance(node, ast.Call):
            self._call(node)
            return
        if isinstance(node, ast.Compare):
            self._compare(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _FILE_NAME.search(node.value) and len(node.value) < 200:
                self.facts.mentions.add(node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=False):
                name = _string(key) if key is not None else None
                if name and _variable_setting(name) and not self.config_module:
                    ok, number = _number(value)
                    if ok:
                        self.facts.settings.append([name, number, value.lineno, "", "dict"])
        elif isinstance(node, (ast.Lambda,)):
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
            elif isinstance(child, ast.comprehension):
                for sub in ast.iter_child_nodes(child):
                    if isinstance(sub, ast.expr):
                        self._expr(sub)

    def _access(self, node: ast.Attribute | ast.Subscript) -> None:
        """An attribute or subscript chain: a key read when it starts at a config object."""
        if isinstance(node, ast.Subscript) and self.dotted(node.value) == "os.environ":
            name = _string(node.slice)
            if name:
                self.facts.env.append([name, node.lineno, False])
            self._expr(node.slice)
            return
        holder, key, complete = self._chain(node)
        if holder is not None:
            last = node.attr if isinstance(node, ast.Attribute) else None
            if holder.kind == "env":
                if key and "." not in key and isinstance(node, ast.Subscript):
                    self.facts.env.append([key, node.lineno, False])
            elif key and complete and (last is None or last not in _NOT_KEYS):
                self.facts.reads.append([holder.ident, key, node.lineno, False])
            elif not complete:
                self.facts.whole.append([holder.ident, key, "[]", node.lineno])
        # visit what is not part of the chain: subscript indexes and the chain's root call
        current: ast.expr = node
        while isinstance(current, (ast.Attribute, ast.Subscript)):
            if isinstance(current, ast.Subscript):
                self._expr(current.slice)
            current = current.value
        if not isinstance(current, ast.Name):
            self._expr(current)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        name = self.dotted(func) or ""
        method = func.attr if isinstance(func, ast.Attribute) else ""
        if isinstance(func, ast.Attribute):
            holder, key, complete = (
                self._chain(func.value)
                if isinstance(func.value, (ast.Attribute, ast.Subscript, ast.Name))
                else (None, "", False)
            )
            if holder is not None and complete:
                self._method_on_config(node, holder, key, method)
        if method in _WHOLE_METHODS and isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name):
                self.facts.passed.add(func.value.id)
                self.facts.splats.add(func.value.id)
            elif isinstance(func.value, ast.Attribute):
                self.facts.splats.add(func.value.attr)
        if name in ("os.getenv", "os.environ.get"):
            env = _string(node.args[0]) if node.args else None
            if env:
                self.facts.env.append([env, node.lineno, len(node.args) > 1])
        if method in ("add_argument",):
            self._argument(node, func)
        elif method == "set_defaults":
            receiver = self.dotted(func.value) if isinstance(func, ast.Attribute) else None
            for keyword in node.keywords:
                ok, literal = _literal(keyword.value)
                if keyword.arg:
                    self.facts.defines.append(
                        ["argparse", keyword.arg, literal if ok else None, node.lineno, receiver]
                    )
                else:
                    self._parser(receiver or "?")["dynamic"] = True
        if (
            name in ("argparse.ArgumentParser", "ArgumentParser")
            and _keyword(node, "parents") is not None
        ):
            self._parser("*")["dynamic"] = True
        if name in ("dataclasses.asdict", "asdict", "vars", "dataclasses.fields") or method in (
            "model_dump",
            "dict",
            "to_dict",
            "from_argparse_args",
        ):
            self.facts.dumps = True
        self._settings(node, name)
        self._handed_over(node, name)
        callee: ast.expr = func
        if isinstance(func, ast.Attribute) and isinstance(
            func.value, (ast.Attribute, ast.Subscript)
        ):
            callee = func.value  # the method's name is no key: cfg.model.items() reads model
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            callee = func.value
        for child in [callee, *node.args, *(k.value for k in node.keywords)]:
            self._expr(child)

    def _method_on_config(self, node: ast.Call, holder: _Holder, key: str, method: str) -> None:
        if holder.kind == "env":
            return
        if method == "get" and node.args:
            sub = _string(node.args[0])
            full = ".".join(p for p in (key, sub) if p)
            if sub:
                has_default = len(node.args) > 1 or bool(node.keywords)
                self.facts.reads.append([holder.ident, full, node.lineno, has_default])
            else:
                self.facts.whole.append([holder.ident, key, ".get", node.lineno])
        elif method in _WHOLE_METHODS or method == "__iter__":
            self.facts.whole.append([holder.ident, key, f".{method}", node.lineno])
        elif method in _SET_METHODS:
            self.facts.sets.append([holder.ident, key or "*", node.lineno])

    def _handed_over(self, node: ast.Call, name: str) -> None:
        """Config objects passed to a call whole: their keys may be read there."""
        arguments = [*node.args, *(k.value for k in node.keywords)]
        for argument in arguments:
            inner = argument.value if isinstance(argument, ast.Starred) else argument
            if isinstance(inner, ast.Name) and name not in _HARMLESS_CALLEES:
                self.facts.passed.add(inner.id)
            elif isinstance(inner, ast.Attribute) and isinstance(argument, ast.Starred):
                self.facts.passed.add(inner.attr)
            if isinstance(inner, (ast.Name, ast.Attribute, ast.Subscript)):
                holder, key, complete = self._chain(inner)
                if holder is None and isinstance(inner, ast.Name):
                    holder, key, complete = self.holder(inner.id), "", True
                    if holder is not None:
                        key = holder.prefix
                if holder is not None and complete and name not in _HARMLESS_CALLEES:
                    callee = "" if name == "vars" else name
                    self.facts.whole.append([holder.ident, key, callee, node.lineno])
        for keyword in node.keywords:
            if keyword.arg is None:
                holder, key, complete = (
                    self._chain(keyword.value)
                    if isinstance(keyword.value, (ast.Attribute, ast.Subscript))
                    else (None, "", False)
                )
                if isinstance(keyword.value, ast.Name):
                    found = self.holder(keyword.value.id)
                    holder, key, complete = found, found.prefix if found else "", True
                if holder is not None:
                    self.facts.whole.append([holder.ident, key, "**", node.lineno])
                if isinstance(keyword.value, ast.Name):
                    self.facts.passed.add(keyword.value.id)
                    self.facts.splats.add(keyword.value.id)
                elif isinstance(keyword.value, ast.Attribute):
                    self.facts.passed.add(keyword.value.attr)
                    self.facts.splats.add(keyword.value.attr)
                else:
                    splat = (
                        _string(keyword.value.slice)
                        if isinstance(keyword.value, ast.Subscript)
                        else None
                    )
                    if splat:
                        self.facts.splats.add(splat)
        if name == "vars" and node.args and isinstance(node.args[0], ast.Name):
            holder = self.holder(node.args[0].id)
            if holder is not None:
                self.facts.whole.append([holder.ident, holder.prefix, "", node.lineno])

    def _argument(self, node: ast.Call, func: ast.expr) -> None:
        receiver = self.dotted(func.value) if isinstance(func, ast.Attribute) else None
        parser = self._parser(receiver or "?")
        names = []
        for argument in node.args:
            text = _string(argument)
            if text is None:
                parser["dynamic"] = True
                return
            names.append(text)
        dest_node = _keyword(node, "dest")
        dest = _string(dest_node) if dest_node is not None else None
        if dest_node is not None and dest is None:
            parser["dynamic"] = True
            return
        if dest is None:
            longs = [n for n in names if n.startswith("--")]
            shorts = [n for n in names if n.startswith("-") and not n.startswith("--")]
            chosen = longs[0] if longs else shorts[0] if shorts else names[0] if names else ""
            dest = chosen.lstrip("-").replace("-", "_")
        if not dest or any(k.arg is None for k in node.keywords):
            parser["dynamic"] = True
            return
        default = _keyword(node, "default")
        ok, literal = _literal(default)
        action = _string(_keyword(node, "action")) if _keyword(node, "action") else None
        if action == "help" or action == "version":
            return
        self.facts.defines.append(
            [
                "argparse",
                dest,
                literal if ok and default is not None else None,
                node.lineno,
                receiver or "?",
            ]
        )

    def _parser(self, name: str) -> dict[str, Any]:
        return self.facts.parsers.setdefault(name, {"dynamic": False})

    def _settings(self, node: ast.Call, name: str) -> None:
        """Hyper-parameters given as literal keyword arguments."""
        if self.config_module:
            return
        api = name or (node.func.attr if isinstance(node.func, ast.Attribute) else "")
        if api.endswith(("add_argument", "option", "set_defaults", "get", "getenv")):
            return
        for keyword in node.keywords:
            if (
                keyword.arg
                and normalise(keyword.arg) in HYPERPARAMETERS
                and (keyword.arg == "C" or keyword.arg.lower() != "c")
            ):
                ok, number = _number(keyword.value)
                if ok and not (number == 1 and normalise(keyword.arg) == "batch_size"):
                    # batch_size=1 walks the data one sample at a time: no tuning choice
                    self.facts.settings.append(
                        [keyword.arg, number, keyword.value.lineno, api, "keyword"]
                    )

    def _compare(self, node: ast.Compare) -> None:
        """``proba > 0.7``: a decision threshold on predicted probabilities."""
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Gt, ast.GtE, ast.Lt, ast.LtE)):
            return
        left, right = node.left, node.comparators[0]
        for side, other in ((left, right), (right, left)):
            ok, number = _number(other)
            if ok and 0 < number < 1 and self._probabilities(side):
                self.facts.settings.append(
                    ["threshold", number, other.lineno, "predict_proba", "threshold"]
                )
                return

    def _probabilities(self, node: ast.expr) -> bool:
        if self._is_proba(node):
            return True
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        if isinstance(node, ast.Name):
            scopes = self.scope[:]
            while True:
                if (".".join(scopes), node.id) in self.proba:
                    return True
                if not scopes:
                    return False
                scopes.pop()
        return False


def _variable_setting(name: str) -> bool:
    """Is a variable or dict key of this name a hyper-parameter (``EPOCHS``, ``"lr"``)?"""
    setting = normalise(name)
    return setting in HYPERPARAMETERS and setting not in AMBIGUOUS


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _click_dest(call: ast.Call) -> str | None:
    names = [_string(a) for a in call.args]
    if not names or any(n is None for n in names):
        return None
    plain = [n for n in names if n and not n.startswith("-")]
    if plain:
        return plain[0]
    longs = [n for n in names if n and n.startswith("--")]
    chosen = (longs or names)[0] or ""
    return chosen.split("/")[0].lstrip("-").replace("-", "_").lower() or None


def _flatten_dict(node: ast.Dict, prefix: str) -> Iterator[tuple[str, ast.expr]]:
    """The entries of a settings dict literal by dotted key; a dict whose keys are not all
    identifiers (a map of model names to URLs, of labels to ids) is data, not settings."""
    names = [_string(key) if key is not None else None for key in node.keys]
    if not names or not all(n is not None and n.isidentifier() for n in names):
        return
    for name, value in zip(names, node.values, strict=False):
        if name is None:
            continue
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(value, ast.Dict):
            yield from _flatten_dict(value, full)
        else:
            yield full, value


# ------------------------------------------------------------------------ configuration files

_NOT_SETTINGS = frozenset(
    {
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "jsconfig.json",
        "environment.yml",
        "environment.yaml",
        "conda.yaml",
        "conda.yml",
        "meta.yaml",
        "mkdocs.yml",
        "mkdocs.yaml",
        "codecov.yml",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
        ".readthedocs.yaml",
        ".readthedocs.yml",
        "readthedocs.yml",
        "dvc.lock",
        "citation.cff",
        ".gitlab-ci.yml",
        "mldebt.toml",
        "labels.toml",
        "pixi.toml",
        "cargo.toml",
        "ruff.toml",
        ".ruff.toml",
        "setup.cfg",
        "_config.yml",
        "dependabot.yml",
        "action.yml",
        "action.yaml",
    }
)
_JSON_NAMES = re.compile(r"config|param|setting|hparam|hyper|args", re.I)


def config_file_kind(rel: str) -> str | None:
    """What a YAML / TOML / JSON file is to the analysis: "settings" (run configuration),
    "dvc" (a DVC pipeline, whose ``params`` name the settings its stages read), or None."""
    parts = rel.lower().split("/")
    name = parts[-1]
    folders = parts[:-1]
    if not name.endswith((".yaml", ".yml", ".toml", ".json")):
        return None
    if name in ("dvc.yaml", "dvc.yml"):
        return "dvc"
    if name in _NOT_SETTINGS or name.startswith(("docker-compose", "compose.")):
        return None
    if any(f.startswith(".") for f in folders) or name.startswith("."):
        return None  # .github/, .circleci/, .vscode/ ...: tools' files
    if name == "pyproject.toml":
        return None  # build metadata and tools' settings, not the runs' configuration
    if name.endswith(".json"):
        if _JSON_NAMES.search(name) or any(f in _CONFIG_FOLDERS for f in folders):
            return "settings"
        return None
    if name.endswith(".toml") and not (
        _JSON_NAMES.search(name) or any(f in _CONFIG_FOLDERS for f in folders)
    ):
        return None
    return "settings"


@dataclass
class ConfigFile:
    """One parsed settings file: dotted keys with their values and lines."""

    path: str
    kind: str
    keys: dict[str, tuple[Any, int]] = field(default_factory=dict)  # key -> (value, line)
    mappings: dict[str, int] = field(default_factory=dict)  # key of a mapping -> its line
    error: str | None = None
    defaults: list[Any] = field(default_factory=list)  # hydra's defaults list
    package_global: bool = False  # ``# @package _global_``
    interpolations: set[str] = field(default_factory=set)  # ${a.b} references
    params: list[str] = field(default_factory=list)  # dvc.yaml: keys its stages read
    digest: str = ""  # of the file's bytes: a changed settings file changes the project pass

    def leaf(self, key: str) -> tuple[Any, int] | None:
        return self.keys.get(key)


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


def parse_config_file(rel: str, data: bytes, kind: str) -> ConfigFile:
    """Parse a settings file; a file that does not parse gets ``error`` and no keys."""
    result = ConfigFile(rel, kind)
    if len(data) > MAX_CONFIG_FILE:
        result.error = f"larger than {MAX_CONFIG_FILE // 1024} KB: not read"
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.error = "not UTF-8 text"
        return result
    try:
        if rel.lower().endswith((".yaml", ".yml")):
            _read_yaml(text, result)
        elif rel.lower().endswith(".json"):
            _read_mapping(json.loads(text), "", result, _line_finder(text))
        else:
            _read_mapping(tomllib.loads(text), "", result, _line_finder(text))
    except (yaml.YAMLError, ValueError, tomllib.TOMLDecodeError, RecursionError) as exc:
        result.keys.clear()
        result.mappings.clear()
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        result.error = f"does not parse: {detail}"
        return result
    result.package_global = "@package _global_" in text[:500]
    result.interpolations = set(_INTERPOLATION.findall(text))
    if kind == "dvc":
        result.params = _dvc_params(result)
    return result


def _line_finder(text: str) -> Any:
    def find(key: str) -> int:
        match = re.search(rf"""^[ \t]*(?:\[[^\]\n]*)?["']?{re.escape(key)}\b""", text, re.M)
        return text.count("\n", 0, match.start()) + 1 if match else 1

    return find


def _read_mapping(value: Any, prefix: str, result: ConfigFile, line: Any) -> None:
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if not isinstance(key, str):
            continue
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict):
            result.mappings[full] = line(key)
            _read_mapping(item, full, result, line)
        else:
            result.keys[full] = (_jsonable(item), line(key))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str, result: ConfigFile) -> None:
    documents = list(yaml.compose_all(text, Loader=_LOADER))
    for document in documents[:1]:
        _yaml_node(document, "", result)


def _yaml_node(node: Any, prefix: str, result: ConfigFile) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = str(key_node.value)
        full = f"{prefix}.{key}" if prefix else key
        line = key_node.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            result.mappings[full] = line
            _yaml_node(value, full, result)
        else:
            loaded = _yaml_value(value)
            if full == "defaults" and isinstance(loaded, list):
                result.defaults = loaded
            result.keys[full] = (loaded, line)


_EXPONENT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _yaml_value(node: Any) -> Any:
    """A scalar or sequence as loaded; ``1e-3`` is a number (YAML 1.1 wants ``1.0e-3``, but
    OmegaConf and Hydra, which read most ML configs, take it as a float)."""
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag.endswith(":str")
        and not node.style
        and _EXPONENT.fullmatch(node.value)
    ):
        return float(node.value)
    try:
        return _jsonable(yaml.safe_load(yaml.serialize(node)))
    except yaml.YAMLError:
        return None


def _dvc_params(result: ConfigFile) -> list[str]:
    """The keys a DVC pipeline's stages declare in ``params`` (of params.yaml or a file)."""
    found: list[str] = []
    for key, (value, _line) in result.keys.items():
        if not key.endswith(".params") or not isinstance(value, list):
            continue
        for item in value:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict):
                for names in item.values():
                    if isinstance(names, list):
                        found.extend(str(n) for n in names)
    return found


MAX_CONFIG_FILES = 2000


def read_config_files(sources: Iterator[Any] | list[Any]) -> list[ConfigFile]:
    """Parse the settings and DVC files among discovered ``SourceFile``-like entries (with
    ``rel`` and ``read()``); a file that cannot be read or parsed keeps an ``error``."""
    found: list[ConfigFile] = []
    for source in sources:
        if getattr(source, "problem", None) is not None:
            continue
        kind = config_file_kind(source.rel)
        if kind is None:
            continue
        try:
            data = source.read()
        except OSError as exc:
            found.append(ConfigFile(source.rel, kind, error=f"cannot read: {exc.strerror or exc}"))
            continue
        parsed = parse_config_file(source.rel, data, kind)
        parsed.digest = hashlib.sha256(data).hexdigest()
        found.append(parsed)
        if len(found) >= MAX_CONFIG_FILES:
            break
    return found
