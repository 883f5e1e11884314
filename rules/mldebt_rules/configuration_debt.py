"""Configuration debt (Sculley et al., "Configuration Debt"): MLD301-MLD305.

Hyper-parameters hard-coded where the project has a configuration, the same setting with
different values in different places, the same literal copied across files, keys read that
nothing defines and keys defined that nothing reads.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mldebt.facts.config import is_config_module
from mldebt.findings import Location, Severity
from mldebt.graph import is_test_path
from mldebt.rule import BAD, GOOD

from ._config import (
    FRAMEWORK_KEYS,
    LAUNCHER_OPTIONS,
    ConfigRule,
    Place,
    defined,
)

_SCULLEY = (
    'Sculley et al. ("Hidden Technical Debt in Machine Learning Systems", §"Configuration '
    "Debt\") observe that a mature system's configuration can outgrow its code, and that "
)

_LOADER_SCRIPT = """\
from torch.utils.data import DataLoader

BATCH_SIZE = 64
loader = DataLoader([], batch_size=BATCH_SIZE)
"""

_PARAMS_YAML = """\
    train:
      n_estimators: 300
      max_depth: 6
      learning_rate: 0.05
    """


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return bool(a == b)


def _loc(place: Place, message: str) -> Location:
    return Location(place.path, place.line, message=message)


class HardCodedHyperparameter(ConfigRule):
    code = "MLD301"
    name = "hard-coded-hyperparameter"
    severity = Severity.INFO
    debt_minutes = 10.0
    tags = ("configuration", "cross-file")
    summary = "A hyper-parameter written as a literal in training code of a configured project."
    what = (
        "A learning rate, number of epochs, batch size, tree count or depth, regularisation "
        "strength, dropout, test split, decision threshold on `predict_proba` or embedding "
        "size written as a literal in training or pipeline code (a file that imports an ML "
        "framework), in a project that has a configuration source: settings files "
        "(YAML / TOML / JSON), a configuration module (`config.py`, `settings.py`, `conf/`), "
        "or the script's own argparse / click options or Hydra configuration. Configuration "
        "modules, notebooks, tests and function-signature defaults are not reported."
    )
    why = _SCULLEY + (
        "settings scattered through code are hard to modify and to reason about: a run can no "
        "longer be described by its configuration, and changing one value means finding every "
        "file that hard-codes it."
    )
    limits = (
        "Only names in a fixed vocabulary of hyper-parameters are recognised (`lr`, "
        "`learning_rate`, `epochs`, `batch_size`, `n_estimators`, `max_depth`, `C`, `alpha`, "
        "`dropout`, `test_size`, `embedding_dim`, ...); `alpha`, `C`, `momentum` and "
        "`threshold` count only as arguments of a class or a scikit-learn / boosting API (a "
        "plot's `alpha` is not a setting). Positional literals (`nn.Dropout(0.1)`) are not "
        "seen. A threshold counts only when compared with `predict_proba` output."
    )
    examples = (
        BAD(
            {
                "params.yaml": _PARAMS_YAML,
                "train.py": """\
                import yaml
                from sklearn.ensemble import GradientBoostingClassifier

                params = yaml.safe_load(open("params.yaml"))["train"]
                model = GradientBoostingClassifier(
                    n_estimators=params["n_estimators"], max_depth=4, learning_rate=0.1
                )
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "train.py": """\
                import argparse
                import torch

                parser = argparse.ArgumentParser()
                parser.add_argument("--epochs", type=int, default=10)
                args = parser.parse_args()
                model = torch.nn.Linear(8, 1)
                optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
                for epoch in range(args.epochs):
                    optimizer.step()
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "config.py": """\
                DATA = "data/train.csv"
                THRESHOLD = 0.5
                """,
                "score.py": """\
                import joblib
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                from config import DATA

                model: LogisticRegression = joblib.load("model.joblib")
                proba = model.predict_proba(pd.read_csv(DATA))[:, 1]
                flagged = proba > 0.8
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "params.yaml": _PARAMS_YAML,
                "train.py": """\
                import yaml
                from sklearn.ensemble import GradientBoostingClassifier

                params = yaml.safe_load(open("params.yaml"))["train"]
                model = GradientBoostingClassifier(**params)
                """,
            }
        ),
        GOOD(
            {
                "train.py": """\
                import torch


                def train(model, data, lr=3e-4, epochs=10):
                    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
                    for _ in range(epochs):
                        optimizer.step()
                """,
            }
        ),
        GOOD(
            {
                "conf/config.yaml": "batch_size: 64\n",
                "explore.ipynb": """\
                # %%
                import torch
                loader = torch.utils.data.DataLoader([], batch_size=16)
                # %%
                import matplotlib.pyplot as plt
                plt.plot([1, 2], alpha=0.5)
                """,
                "tests/test_train.py": """\
                from sklearn.tree import DecisionTreeClassifier

                def test_depth():
                    assert DecisionTreeClassifier(max_depth=2).max_depth == 2
                """,
            }
        ),
        GOOD(
            {
                "train.py": """\
                from sklearn.ensemble import RandomForestClassifier

                model = RandomForestClassifier(n_estimators=200)
                """,
            }
        ),
        GOOD(
            {
                "config/finetune.py": "learning_rate = 3e-5\nbatch_size = 8\n",
                "train.py": """\
                import torch

                # defaults, overridden by a config file or the command line
                learning_rate = 6e-4
                batch_size = 12
                exec(open("configurator.py").read())
                optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
                """,
            }
        ),
    )

    def check(self) -> None:
        config = self.config
        declared: dict[str, list[Place]] = defaultdict(list)
        for place in config.places():
            if place.kind in ("config", "module"):
                declared[place.setting].append(place)
        for path in sorted(config.facts):
            module = self.graph.by_path[path]
            if (
                module.notebook
                or is_test_path(path)
                or is_config_module(path)
                or not config.ml_code(path)
            ):
                continue
            local = config.local_source(path)
            project = config.sources_for(path)
            if not project and not local:
                continue
            consumed = config.consumed_by(path)
            calls: dict[tuple[int, str], list[Place]] = defaultdict(list)
            for place in config.places_of(path):
                if all(p.name != place.name for p in calls[(place.line, place.api)]):
                    calls[(place.line, place.api)].append(place)
            for (line, api), places in sorted(calls.items()):
                self._one(path, line, api, places, declared, consumed, local, project)

    def _one(
        self,
        path: str,
        line: int,
        api: str,
        places: list[Place],
        declared: dict[str, list[Place]],
        consumed: set[str],
        local: str,
        project: list[str],
    ) -> None:
        known = [
            d
            for p in places
            for d in sorted(
                (d for d in declared.get(p.setting, ()) if d.path in project),
                key=lambda d: (d.path not in consumed, d.path),
            )[:1]
        ]
        if known:
            first = known[0]
            where = f"{first.path} defines `{first.name}`: read it from there"
            related = [_loc(d, f"`{d.name}` is defined here") for d in known]
        elif local:
            where = f"this script already takes settings from {local}: add it there"
            related = []
        else:
            project = sorted(project, key=lambda p: (p not in consumed, p))
            shown_sources = ", ".join(project[:2])
            where = f"the project's settings live in {shown_sources}: move it there"
            related = [Location(p, 1, message="a configuration source") for p in project[:1]]
        if api == "predict_proba":
            what = f"decision threshold `{places[0].value}` on predict_proba output is"
        else:
            literals = ", ".join(f"`{p.name}={p.value}`" for p in places)
            owner = f" of `{places[0].short_api}`" if api else ""
            plural = "s" if len(places) > 1 else ""
            verb = "are" if len(places) > 1 else "is"
            what = f"hyper-parameter{plural} {literals}{owner} {verb}"
        self.report(
            path,
            line,
            f"{what} hard-coded; {where}",
            key=",".join(f"{p.name}={p.value}" for p in places),
            related=related,
        )


class ConflictingSetting(ConfigRule):
    code = "MLD302"
    name = "conflicting-setting"
    severity = Severity.WARNING
    debt_minutes = 20.0
    tags = ("configuration", "cross-file")
    summary = "The same setting given different values in different places."
    what = (
        "A hyper-parameter (same name, `learning_rate` and `lr` or `num_epochs` and `epochs` "
        "taken as one) that a module gives a literal value (in code or as an option's "
        "default) different from the value in a configuration it reads itself: a settings file "
        "it loads by path, its Hydra configuration, a configuration module it imports, or its "
        "own option's default. A configuration module that loads a settings file is compared "
        "with it too. Two settings files that differ are variants (Hydra groups, experiments), "
        "and two scripts that choose different values for themselves are not compared. The "
        "finding is at the module's place, with the other places as related locations."
    )
    why = _SCULLEY + (
        "when the same setting lives in several places, which value a run used depends on "
        "which file won: changing the configuration silently changes nothing, or only half "
        "of the system."
    )
    limits = (
        "Settings are matched by name only (the last part of a dotted key), within the "
        "hyper-parameter vocabulary of MLD301; two unrelated settings of the same name (the "
        "dropout of two different layers) can be taken as one. To keep that rare, a dict or "
        "class of a configuration module counts only for modules that use it "
        "(`cfg.LGB_PARAMS`), and a settings file's key only for modules that read its "
        "section (`train.lr` for a module reading `train`). Values are literals only."
    )
    examples = (
        BAD(
            {
                "params.yaml": _PARAMS_YAML,
                "train.py": """\
                import yaml
                from sklearn.ensemble import GradientBoostingClassifier

                params = yaml.safe_load(open("params.yaml"))["train"]
                model = GradientBoostingClassifier(
                    n_estimators=params["n_estimators"], learning_rate=0.1
                )
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "config.py": "EPOCHS = 20\nBATCH_SIZE = 32\n",
                "train.py": """\
                import argparse

                import config

                parser = argparse.ArgumentParser()
                parser.add_argument("--epochs", type=int, default=50)
                parser.add_argument("--batch-size", type=int, default=config.BATCH_SIZE)
                args = parser.parse_args()
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "train.py": """\
                import argparse

                import torch

                parser = argparse.ArgumentParser()
                parser.add_argument("--lr", type=float, default=1e-3)
                args = parser.parse_args()
                net = torch.nn.Linear(4, 1)
                optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "conf/model/small.yaml": "hidden_dim: 128\ndropout: 0.1\n",
                "conf/model/large.yaml": "hidden_dim: 1024\ndropout: 0.3\n",
                "conf/config.yaml": "defaults:\n  - model: small\n",
            }
        ),
        GOOD(
            {
                "params.yaml": _PARAMS_YAML,
                "train.py": """\
                import yaml
                from sklearn.ensemble import GradientBoostingClassifier

                params = yaml.safe_load(open("params.yaml"))["train"]
                model = GradientBoostingClassifier(learning_rate=params["learning_rate"])
                """,
            }
        ),
        GOOD(
            {
                "config.py": "EPOCHS = 20\n",
                "train.py": """\
                import argparse

                import config

                parser = argparse.ArgumentParser()
                parser.add_argument("--epochs", type=int, default=config.EPOCHS)
                """,
                "finetune.py": "import torch\n\nEPOCHS = 3\n",
                "tests/test_train.py": "import config\n\nEPOCHS = 1\n",
            }
        ),
    )

    def check(self) -> None:
        config = self.config
        declared: dict[str, list[Place]] = defaultdict(list)  # by path: config files, modules
        local: dict[str, list[Place]] = defaultdict(list)  # by path: options and code
        for place in config.places():
            if place.kind in ("config", "module"):
                declared[place.path].append(place)
            elif place.api != "predict_proba":
                local[place.path].append(place)
        for path in sorted(set(local) | {p for p in declared if p.endswith(".py")}):
            sources = [p for p in sorted(config.consumed_by(path)) if p != path]
            theirs = [
                d for src in sources for d in declared.get(src, ()) if config.uses_setting(path, d)
            ]
            # a configuration module is compared with the settings files it loads
            ours = declared.get(path, []) if is_config_module(path) else local.get(path, [])
            by_setting: dict[str, list[Place]] = defaultdict(list)
            for place in ours:
                by_setting[place.setting].append(place)
            for setting, here in sorted(by_setting.items()):
                there = [d for d in theirs if d.setting == setting]
                options = [p for p in here if p.kind == "option"]
                others = there + (options if len(options) < len(here) else [])
                conflicting = [
                    (mine, other)
                    for mine in here
                    for other in others
                    if mine is not other and not _same(mine.value, other.value)
                ]
                if not conflicting:
                    continue
                at = min((m for m, _ in conflicting), key=lambda p: (p.kind == "option", p.line))
                against = sorted({id(o): o for _, o in conflicting}.values(), key=_order)
                names = "/".join(
                    f"`{n}`" for n in sorted({p.name.rsplit(".", 1)[-1] for p in [at, *against]})
                )
                shown = "; ".join(o.describe() for o in against)
                self.report(
                    path,
                    at.line,
                    f"{names} is {_fmt(at.value)} here but {shown}: one setting, two values",
                    key=f"{setting}={at.value}",
                    related=[_loc(o, o.describe()) for o in against],
                )


def _order(place: Place) -> tuple[str, int]:
    return place.path, place.line


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class DuplicatedSettingLiteral(ConfigRule):
    code = "MLD303"
    name = "duplicated-setting-literal"
    severity = Severity.INFO
    debt_minutes = 10.0
    tags = ("configuration", "cross-file")
    summary = "The same hyper-parameter literal copied into several files."
    what = (
        "The same hyper-parameter with the same literal value written in the code of two or "
        "more files (`Adam(lr=3e-4)` in train.py and finetune.py, `BATCH_SIZE = 64` in "
        "three scripts) in a project that has a configuration source. Reported once, at the "
        "first place, with the other places as related locations."
    )
    why = _SCULLEY + (
        "a value copied into several files has to be changed in all of them together; the "
        "day one copy is missed, the copies disagree (MLD302) and nothing says which is right."
    )
    limits = (
        "Only code literals are compared (a value repeated between a settings file and the "
        "code is MLD301's finding). Tests and notebooks are left out. Same vocabulary as "
        "MLD301."
    )
    examples = (
        BAD(
            {
                "conf/config.yaml": "data: data/train.csv\n",
                "train.py": """\
                from torch.utils.data import DataLoader

                BATCH_SIZE = 64
                loader = DataLoader(range(10), batch_size=BATCH_SIZE, shuffle=True)
                """,
                "evaluate.py": """\
                from torch.utils.data import DataLoader

                BATCH_SIZE = 64
                loader = DataLoader(range(10), batch_size=BATCH_SIZE)
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "config.py": "DATA = 'data.csv'\nSEED = 1\n",
                "train.py": """\
                import torch

                def fit(model):
                    return torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
                """,
                "finetune.py": """\
                import torch

                def fit(head):
                    return torch.optim.AdamW(head.parameters(), lr=3e-4)
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "params.yaml": "seed: 1\n",
                "a.py": "from sklearn.svm import SVC\nclf = SVC(C=10.0).fit([[0]], [0])\n",
                "b.py": "from sklearn.svm import SVC\nclf = SVC(C=10.0).fit([[1]], [1])\n",
                "c.py": "from sklearn.svm import SVC\nclf = SVC(C=10.0).fit([[2]], [2])\n",
            },
            expect=1,
        ),
        GOOD(
            {
                "train.py": _LOADER_SCRIPT,
                "evaluate.py": _LOADER_SCRIPT,
            }
        ),
        GOOD(
            {
                "config.py": "BATCH_SIZE = 64\n",
                "train.py": "import torch\nfrom config import BATCH_SIZE\n",
                "evaluate.py": "import torch\nfrom config import BATCH_SIZE\n",
            }
        ),
        GOOD(
            {
                "params.yaml": "batch_size: 64\n",
                "train.py": _LOADER_SCRIPT,
                "tests/test_train.py": _LOADER_SCRIPT,
                "explore.ipynb": "# %%\n" + _LOADER_SCRIPT,
            }
        ),
    )

    def check(self) -> None:
        config = self.config
        groups: dict[tuple[str, str, float], list[Place]] = defaultdict(list)
        for place in config.places():
            if place.kind != "code" or isinstance(place.value, bool):
                continue
            if not config.ml_code(place.path):
                continue
            groups[(place.setting, place.api, float(place.value))].append(place)
        merged: dict[tuple[tuple[str, int], ...], list[list[Place]]] = defaultdict(list)
        for (_setting, _api, _value), places in sorted(groups.items()):
            paths = sorted({p.path for p in places})
            if len(paths) < 2:
                continue
            shared = set.intersection(*(set(config.sources_for(p)) for p in paths))
            if not shared and not all(config.local_source(p) for p in paths):
                continue
            ordered = sorted(places, key=lambda p: (p.path, p.line))
            firsts = [next(p for p in ordered if p.path == path) for path in paths]
            # the keywords of one call copied together make one finding
            merged[tuple((p.path, p.line) for p in firsts)].append(firsts)
        for _where, copies in sorted(merged.items()):
            firsts = copies[0]
            at = firsts[0]
            paths = [p.path for p in firsts]
            literals = ", ".join(f"`{c[0].name}={c[0].value}`" for c in copies)
            owner = f" of `{at.short_api}`" if at.api else ""
            self.report(
                at.path,
                at.line,
                f"{literals}{owner} is written in {len(paths)} files ({', '.join(paths)}): "
                "define it once in the configuration",
                key=",".join(f"{c[0].name}={c[0].value}" for c in copies),
                related=[
                    _loc(p, "; ".join(c[i].describe() for c in copies))
                    for i, p in enumerate(firsts)
                    if i
                ],
            )


class UndefinedConfigKey(ConfigRule):
    code = "MLD304"
    name = "undefined-config-key"
    severity = Severity.WARNING
    debt_minutes = 15.0
    tags = ("configuration", "cross-file")
    summary = "A configuration key read that the configuration does not define."
    what = (
        "A key read from a configuration object whose source is known and wholly visible, "
        'which that source does not define: `cfg.x` / `cfg["x"]` on a settings file loaded '
        'by a literal path (`yaml.safe_load(open("params.yaml"))`), on a `@hydra.main` '
        "configuration (its primary file and every option of its groups), or `args.x` on the "
        "result of `parser.parse_args()` for a parser made in the same file."
    )
    why = _SCULLEY + (
        "configuration errors are among the costliest: a key nothing defines fails only when "
        "that line runs (a `KeyError` hours into training) or, read with a default somewhere "
        "else, silently uses a value nobody chose."
    )
    limits = (
        'Conservative: no finding for a read with a default (`cfg.get("k", 0)`), on a '
        "configuration merged or built at run time (`OmegaConf.merge`, Hydra defaults that "
        "cannot be resolved, `# @package _global_`, `_base_` includes), on a configuration "
        "that code writes to, on a parser with `parents=`, computed options or "
        "`parse_known_args`, or on a config object received as a plain parameter."
    )
    examples = (
        BAD(
            {
                "params.yaml": _PARAMS_YAML,
                "train.py": """\
                import yaml

                with open("params.yaml") as fh:
                    params = yaml.safe_load(fh)
                depth = params["train"]["max_depht"]
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "train.py": """\
                import argparse

                parser = argparse.ArgumentParser()
                parser.add_argument("--data", default="data/train.csv")
                parser.add_argument("--learning-rate", type=float, default=1e-3)
                args = parser.parse_args()
                print(args.data, args.lr)
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "conf/config.yaml": (
                    "defaults:\n  - model: small\n  - _self_\ntrain:\n  epochs: 5\n"
                ),
                "conf/model/small.yaml": "hidden_dim: 128\n",
                "conf/model/large.yaml": "hidden_dim: 1024\nlayers: 12\n",
                "train.py": """\
                import hydra
                from omegaconf import DictConfig


                @hydra.main(config_path="conf", config_name="config", version_base=None)
                def main(cfg: DictConfig) -> None:
                    print(cfg.model.hidden_dim, cfg.model.layers, cfg.train.epoch)
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "params.yaml": _PARAMS_YAML,
                "train.py": """\
                import yaml

                params = yaml.safe_load(open("params.yaml"))
                depth = params["train"].get("max_leaf_nodes", None)
                params["train"]["seed"] = 0
                print(params["train"]["seed"])
                """,
            }
        ),
        GOOD(
            {
                "train.py": """\
                import argparse

                from common import base_parser

                parser = argparse.ArgumentParser(parents=[base_parser()])
                parser.add_argument("--epochs", type=int, default=3)
                args = parser.parse_args()
                print(args.epochs, args.seed)
                """,
                "common.py": """\
                import argparse

                def base_parser():
                    parser = argparse.ArgumentParser(add_help=False)
                    parser.add_argument("--seed", type=int, default=0)
                    return parser
                """,
            }
        ),
        GOOD(
            {
                "conf/config.yaml": "train:\n  epochs: 5\n",
                "train.py": """\
                import yaml
                from omegaconf import OmegaConf

                cfg = OmegaConf.merge(OmegaConf.load("conf/config.yaml"), OmegaConf.from_cli())
                print(cfg.train.epochs, cfg.train.lr)
                local = yaml.safe_load(open("conf/config.yaml"))
                print(local["train"]["epochs"])
                """,
            }
        ),
    )

    def check(self) -> None:
        config = self.config
        for path, data in sorted(config.facts.items()):
            holders = config.holders(path)
            if not holders or not data.get("reads"):
                continue
            dirty = {
                (holders[s[0]][1], holders[s[0]][2])
                for s in data.get("sets", ())
                if s[0] in holders
            }
            for ident, key, line, has_default in data.get("reads", ()):
                holder = holders.get(ident)
                if holder is None or has_default or key.startswith("__"):
                    continue
                kind, source = holder[1], holder[2]
                if (kind, source) in dirty:
                    continue
                found = self._lookup(path, data, kind, source)
                if found is None:
                    continue
                keys, mappings, origin = found
                if kind == "argparse":
                    key = key.split(".")[0]
                if key.split(".")[0] in FRAMEWORK_KEYS or defined(key, keys, mappings):
                    continue
                close = _closest(key, keys | mappings)
                hint = f" (did you mean `{close}`?)" if close else ""
                shown = f"option `{key}`" if kind == "argparse" else f"config key `{key}`"
                self.report(
                    path,
                    line,
                    f"{shown} is read but {origin.label} does not define it{hint}",
                    key=key,
                    related=[Location(origin.path, origin.line, message=origin.label)],
                )

    def _lookup(
        self, path: str, data: dict[str, Any], kind: str, source: str
    ) -> tuple[set[str], set[str], _Origin] | None:
        config = self.config
        if kind == "file":
            found = config.resolve_file(path, source)
            if found is None or _merged(found):
                return None
            return set(found.keys), set(found.mappings), _Origin(found.path, 1, found.path)
        if kind == "hydra":
            primary, folder = config.hydra_files(path, source)
            if primary is None or primary.package_global:
                return None
            keys, mappings = set(primary.keys), set(primary.mappings)
            keys.discard("defaults")
            for entry in primary.defaults:
                if entry == "_self_":
                    continue
                if not isinstance(entry, dict) or len(entry) != 1:
                    return None
                group = str(next(iter(entry)))
                if group.startswith(("override", "optional")) or "/" in group or "@" in group:
                    return None
                prefix = f"{folder}/{group}/" if folder else f"{group}/"
                options = [f for p, f in config.files.items() if p.startswith(prefix)]
                if not options or any(f.package_global or _merged(f) for f in options):
                    return None
                mappings.add(group)
                for option in options:
                    keys.update(f"{group}.{k}" for k in option.keys)
                    mappings.update(f"{group}.{k}" for k in option.mappings)
            return (
                keys,
                mappings,
                _Origin(primary.path, 1, f"the Hydra configuration {primary.path}"),
            )
        if kind == "argparse":
            parsers = data.get("parsers", {})
            made = parsers.get(source, {})
            if not made.get("made") or any(p.get("dynamic") for p in parsers.values()):
                return None
            dests = {d[1] for d in data.get("defines", ()) if d[0] == "argparse"}
            line = min((d[3] for d in data.get("defines", ()) if d[0] == "argparse"), default=1)
            return dests, set(), _Origin(path, line, f"the argparse parser `{source}`")
        return None


class _Origin:
    def __init__(self, path: str, line: int, label: str) -> None:
        self.path = path
        self.line = line
        self.label = label


def _merged(config: Any) -> bool:
    return (
        bool(config.defaults)
        or config.package_global
        or any(
            k.split(".")[0]
            in ("_base_", "base", "include", "includes", "imports", "extends", "inherit")
            for k in [*config.keys, *config.mappings]
        )
    )


def _closest(key: str, candidates: set[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.75)
    return matches[0] if matches else None


class UnusedConfigKey(ConfigRule):
    code = "MLD305"
    name = "unused-config-key"
    severity = Severity.INFO
    debt_minutes = 5.0
    tags = ("configuration", "cross-file")
    summary = "A configuration key or option that nothing reads."
    what = (
        "A key of a settings file the project loads (a YAML / TOML / JSON file the code or "
        "DVC names), an argparse or click option, a dict entry or dataclass / pydantic field "
        "of a configuration module, that no code reads: no attribute, string or key of that "
        "name anywhere in the project, no Hydra interpolation or DVC `params` naming it, and "
        "no code handing the object it belongs to over whole (`Model(**cfg.model)`, "
        "`instantiate(cfg.model)`, `vars(args)`, `cfg` passed to a library)."
    )
    why = _SCULLEY + (
        "a setting nobody reads still looks like a knob: people tune it, review it and copy it "
        "into new experiments, and the configuration stops describing what the system does."
    )
    limits = (
        "A key counts as read when its name appears anywhere in the code as an attribute or "
        "a string (deliberately generous: a key read under another object of the same name "
        "hides the finding). Files no code names are not reported (another tool may read "
        "them). Module constants are left to the dead-code rules. `--local_rank` is never "
        "reported (launchers pass it), nor any option of a module that hands a namespace or a "
        "dataclass over whole (`vars(args)`, `asdict(cfg)`, `Trainer.from_argparse_args`)."
    )
    examples = (
        BAD(
            {
                "params.yaml": "train:\n  n_estimators: 300\n  max_depth: 6\n  subsample: 0.8\n",
                "train.py": """\
                import yaml
                from sklearn.ensemble import GradientBoostingClassifier

                p = yaml.safe_load(open("params.yaml"))["train"]
                model = GradientBoostingClassifier(
                    n_estimators=p["n_estimators"], max_depth=p["max_depth"]
                )
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "train.py": """\
                import argparse

                parser = argparse.ArgumentParser()
                parser.add_argument("--epochs", type=int, default=5)
                parser.add_argument("--warmup-steps", type=int, default=100)
                args = parser.parse_args()
                for epoch in range(args.epochs):
                    pass
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "cli.py": """\
                import click


                @click.command()
                @click.option("--data", default="data.csv")
                @click.option("--dropout", default=0.1)
                def main(data, dropout):
                    print(data)
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "conf/config.yaml": "model:\n  _target_: model.Net\n  width: 64\n",
                "train.py": """\
                import hydra
                from hydra.utils import instantiate


                @hydra.main(config_path="conf", config_name="config", version_base=None)
                def main(cfg):
                    net = instantiate(cfg.model)
                """,
            }
        ),
        GOOD(
            {
                "params.yaml": "train:\n  n_estimators: 300\n  max_depth: 6\n",
                "train.py": """\
                import yaml
                from sklearn.ensemble import GradientBoostingClassifier

                params = yaml.safe_load(open("params.yaml"))
                model = GradientBoostingClassifier(**params["train"])
                """,
            }
        ),
        GOOD(
            {
                "experiments/old.yaml": "lr: 0.1\n",
                "train.py": """\
                import argparse

                from trainer import run

                parser = argparse.ArgumentParser()
                parser.add_argument("--local_rank", type=int, default=-1)
                parser.add_argument("--lr", type=float, default=0.1)
                run(parser.parse_args())
                """,
                "trainer.py": """\
                def run(args):
                    return args.lr
                """,
            }
        ),
    )

    def check(self) -> None:
        config = self.config
        words = config.words
        whole_everything, whole_prefixes, whole_args = self._whole()
        for file in sorted(config.files.values(), key=lambda f: f.path):
            if whole_everything or not config.consumed(file):
                continue
            targets = {k.rpartition("._target_")[0] for k in file.keys if k.endswith("_target_")}
            for key, (_value, line) in sorted(file.keys.items(), key=lambda kv: kv[1][1]):
                parts = key.split(".")
                if (
                    parts[0] in FRAMEWORK_KEYS
                    or parts[-1] in FRAMEWORK_KEYS
                    or parts[-1].startswith("_")
                ):
                    continue
                if parts[-1] in words or key in config.interpolations:
                    continue
                prefixes = {".".join(parts[:i]) for i in range(len(parts))}
                if prefixes & (whole_prefixes | targets | config.dvc_params | {key}):
                    continue
                if key in config.dvc_params or any(p in config.splats for p in parts[:-1]):
                    continue
                self.report(
                    file.path,
                    line,
                    f"config key `{key}` in {file.path} is never read by the code",
                    key=key,
                )
        for path, data in sorted(config.facts.items()):
            if is_test_path(path):
                continue
            for kind, key, _value, line, owner in data.get("defines", ()):
                if kind == "argparse":
                    if key in LAUNCHER_OPTIONS or path in whole_args or key in words:
                        continue
                    if data.get("dumps"):
                        continue  # vars(args), Trainer.from_argparse_args(args): all go on
                    what = f"command-line option `{key}`"
                elif kind == "dict" and is_config_module(path):
                    leaf = key.split(".")[-1]
                    if leaf in words or owner in config.passed or config.dumps:
                        continue
                    what = f"setting `{owner}[{key!r}]`"
                elif kind == "field":
                    if key in words or config.dumps or owner in config.passed:
                        continue
                    what = f"field `{owner}.{key}`"
                else:
                    continue
                self.report(path, line, f"{what} is defined but never read", key=f"{owner}.{key}")
            for dest, line, function in data.get("click_unread", ()):
                self.report(
                    path,
                    line,
                    f"click option `{dest}` of `{function}` is defined but never read",
                    key=f"{function}.{dest}",
                )

    def _whole(self) -> tuple[bool, set[str], set[str]]:
        """Config objects handed over whole: (a file-config of unknown source was, prefixes
        of settings handed over, files whose argparse namespace was)."""
        config = self.config
        prefixes: set[str] = set()
        args_files: set[str] = set()
        for path, data in config.facts.items():
            holders = config.holders(path)
            for ident, prefix, callee, _line in data.get("whole", ()):
                holder = holders.get(ident)
                if holder is None:
                    continue
                if holder[1] == "argparse":
                    if prefix:
                        continue  # args.lr handed on is a read of lr, not the namespace
                    short = callee.rsplit(".", 1)[-1]
                    if callee == "" or callee == "**" or short not in config.functions:
                        args_files.add(path)
                    continue
                if callee and callee not in ("**", "[]", ".get") and not callee.startswith("."):
                    short = callee.rsplit(".", 1)[-1]
                    if short in config.functions:
                        continue  # a project function: its reads are seen by name
                prefixes.add(prefix)
        return False, prefixes, args_files
