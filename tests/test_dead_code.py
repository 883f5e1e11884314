"""The dead-experimental-code rules across files: MLD211 always-off-flag, MLD212
unused-definition, MLD213 orphan-module, MLD214 versioned-copy.

Each rule's BAD/GOOD examples run in test_rule_examples; these tests pin the conservative
cases (what must keep a flag, a definition or a module alive) and the demo project.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mldebt_rules._usage import (
    FACTS_KEY,
    extract,
    project_usage,
    usage_from_json,
    usage_to_json,
)
from mldebt_rules.dead_flags import AlwaysOffFlag
from mldebt_rules.orphan_modules import OrphanModule
from mldebt_rules.unused_definitions import UnusedDefinition
from mldebt_rules.versioned_copies import VersionedCopy, normalised_lines, parse_name

from mldebt.api import analyse
from mldebt.config import Config
from mldebt.findings import Finding
from mldebt.graph import ProjectGraph
from mldebt.rule import Rule
from mldebt.testing import run_rule as run_files

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


def run_rule(rule: type[Rule], files: dict[str, str], **options: Any) -> list[Finding]:
    """The rule's findings on a tree of (dedented) files."""
    tree = {path: textwrap.dedent(text).lstrip("\n") for path, text in files.items()}
    return run_files(rule, tree, options)


def lines(findings: list[Finding]) -> list[tuple[str, int]]:
    return sorted((f.path, f.line) for f in findings)


# MLD211 always-off-flag ----------------------------------------------------------------------

FLAG_CONFIG = "USE_MIXUP = False\nLR = 0.1\n"
FLAG_USE = """
import config

def train(x):
    if config.USE_MIXUP:
        x = x[::-1]
    return x
"""


def test_a_flag_read_through_its_module_is_always_off() -> None:
    found = run_rule(AlwaysOffFlag, {"config.py": FLAG_CONFIG, "train.py": FLAG_USE})
    assert lines(found) == [("train.py", 4)]
    assert found[0].end_line == 5
    assert "set once at config.py:1" in found[0].message
    assert [(r.path, r.line) for r in found[0].related] == [("config.py", 1)]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"main.py": "import config\nconfig.USE_MIXUP = True\n"}, "assigned from outside"),
        (
            {"main.py": "import config\nsetattr(config, 'USE_MIXUP', True)\n"},
            "setattr by name",
        ),
        (
            {"main.py": "import config\nfor k, v in {}.items():\n    setattr(config, k, v)\n"},
            "attributes set from computed names",
        ),
        (
            {"test_train.py": "from unittest import mock\nmock.patch('config.USE_MIXUP', True)\n"},
            "patched in a test",
        ),
        (
            {
                "main.py": (
                    "import argparse\np = argparse.ArgumentParser()\n"
                    "p.add_argument('--use-mixup', action='store_true')\n"
                )
            },
            "an argparse option of the same name",
        ),
        ({"conf/train.yaml": "use_mixup: true\n"}, "a key of a config file"),
    ],
)
def test_a_flag_that_something_may_change_is_left_alone(extra: dict[str, str], why: str) -> None:
    files = {"config.py": FLAG_CONFIG, "train.py": FLAG_USE, **extra}
    assert run_rule(AlwaysOffFlag, files) == [], why


def test_a_flag_rebound_through_global_is_left_alone() -> None:
    source = """
    DEBUG = False

    def enable():
        global DEBUG
        DEBUG = True

    def log(x):
        if DEBUG:
            print(x)
    """
    assert run_rule(AlwaysOffFlag, {"app.py": source}) == []


def test_the_else_branch_of_a_negated_flag_and_conjunctions_are_dead() -> None:
    source = """
    FAST = False
    LIMIT = None

    def run(x):
        if not FAST:
            x = x + 1
        else:
            x = x - 1
        if FAST and x > 3:
            print(x)
        if LIMIT is not None:
            x = x[:LIMIT]
        y = 1 if FAST else 2
        if FAST or x:
            print("kept: x decides")
        return x, y
    """
    found = run_rule(AlwaysOffFlag, {"app.py": source})
    assert lines(found) == [("app.py", 5), ("app.py", 9), ("app.py", 11), ("app.py", 13)]
    assert "its else branch never runs (line 8" in found[0].message


def test_a_dead_branch_inside_a_dead_branch_is_reported_once() -> None:
    source = """
    OLD = False

    if OLD:
        if OLD:
            print("twice dead")
    """
    assert lines(run_rule(AlwaysOffFlag, {"app.py": source})) == [("app.py", 3)]


def test_a_parameter_flag_passed_positionally_or_by_splat_is_alive() -> None:
    library = """
    def train_model(x, augment=False):
        if augment:
            x = x * 2
        return x
    """
    positional = "from lib import train_model\ntrain_model([1], True)\n"
    splat = "from lib import train_model\nkw = {}\ntrain_model([1], **kw)\n"
    as_value = "from lib import train_model\nsteps = [train_model]\n"
    never = "from lib import train_model\ntrain_model([1])\n"
    assert run_rule(AlwaysOffFlag, {"lib.py": library, "run.py": positional}) == []
    assert run_rule(AlwaysOffFlag, {"lib.py": library, "run.py": splat}) == []
    assert run_rule(AlwaysOffFlag, {"lib.py": library, "run.py": as_value}) == []
    found = run_rule(AlwaysOffFlag, {"lib.py": library, "run.py": never})
    assert lines(found) == [("lib.py", 2)]
    assert "parameter `augment` of `train_model` defaults to False" in found[0].message


def test_a_config_class_field_never_set_is_an_always_off_flag() -> None:
    files = {
        "config.py": """
        from dataclasses import dataclass

        @dataclass
        class TrainConfig:
            lr: float = 1e-3
            use_ema: bool = False
        """,
        "train.py": """
        from config import TrainConfig

        cfg = TrainConfig(lr=3e-4)
        if cfg.use_ema:
            print("ema")
        """,
    }
    assert lines(run_rule(AlwaysOffFlag, files)) == [("train.py", 4)]
    files["sweep.py"] = "from config import TrainConfig\nTrainConfig(use_ema=True)\n"
    assert run_rule(AlwaysOffFlag, files) == []


def test_literal_tests_and_their_idioms() -> None:
    source = """
    if False:
        from typing import List
    if 0:
        print("off")
    while True:
        break
    if True:
        pass
    else:
        print("never")

    def gen():
        if False:
            yield
    """
    assert lines(run_rule(AlwaysOffFlag, {"app.py": source})) == [("app.py", 3), ("app.py", 7)]


def test_a_notebook_flag_is_placed_in_its_cell() -> None:
    notebook = "# %%\nimport pandas as pd\n# %%\nSAMPLE = False\nif SAMPLE:\n    print(1)\n"
    found = run_rule(AlwaysOffFlag, {"eda.ipynb": notebook})
    assert [(f.cell, f.line) for f in found] == [(2, 2)]
    assert "set once at eda.ipynb cell 2:1" in found[0].message


# MLD212 unused-definition --------------------------------------------------------------------


def test_names_reached_by_strings_prefixes_exports_and_configs_are_used() -> None:
    files = {
        "losses.py": """
        __all__ = ["exported"]

        def exported(): ...
        def by_getattr(): ...
        def on_epoch_end(): ...
        def handle_csv(): ...
        def from_config(): ...
        def dead(): ...
        """,
        "train.py": """
        import losses

        kind = "csv"
        getattr(losses, "by_getattr")()
        getattr(losses, f"handle_{kind}")()
        """,
        "conf/model.yaml": "_target_: losses.from_config\n",
    }
    found = run_rule(UnusedDefinition, files)
    assert [f.message.split(" is ")[0] for f in found] == ["function `dead`"]


def test_methods_overriding_a_framework_are_kept() -> None:
    files = {
        "model.py": """
        import torch.nn as nn

        class Net(nn.Module):
            def forward(self, x):
                return x

            def _init_weights(self, module):
                pass

            def __repr__(self):
                return "Net"

            def unused_helper(self):
                return 1

        class Plain:
            def _private_unused(self):
                return 2
        """,
        "train.py": "from model import Net, Plain\nNet()\nPlain()\n",
    }
    found = run_rule(UnusedDefinition, files)
    assert [f.message.split(" is ")[0] for f in found] == [
        "method `Net.unused_helper`",
        "method `Plain._private_unused`",
    ]


def test_a_function_used_only_in_a_notebook_is_used() -> None:
    files = {
        "helpers.py": "def plot_churn(df):\n    return df\n",
        "eda.ipynb": "# %%\nfrom helpers import plot_churn\n# %%\nplot_churn(None)\n",
    }
    assert run_rule(UnusedDefinition, files) == []


def test_a_librarys_public_api_is_not_reported_but_its_private_helpers_are() -> None:
    files = {
        "pyproject.toml": '[project]\nname = "mylib"\nversion = "1.0"\n',
        "mylib/__init__.py": "__all__ = []\n",
        "mylib/core.py": "def public_api():\n    pass\n\ndef _helper():\n    pass\n",
        "mylib/_impl.py": "def used():\n    pass\n",
        "main.py": "from mylib._impl import used\nused()\nimport mylib.core\n",
    }
    found = run_rule(UnusedDefinition, files)
    assert [(f.path, f.message.split(" is ")[0]) for f in found] == [
        ("mylib/core.py", "function `_helper`")
    ]


def test_tests_and_vendored_code_are_not_reported() -> None:
    files = {
        "tests/test_model.py": "def helper():\n    pass\n\ndef test_x():\n    pass\n",
        "externals/six.py": "def unused_shim():\n    pass\n",
        "main.py": "import externals.six\nprint(1)\n",
    }
    assert run_rule(UnusedDefinition, files) == []


# MLD213 orphan-module ------------------------------------------------------------------------

HELPER = "def clean(df):\n    return df.dropna()\n"


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"pipeline/run.py": "import helper\nhelper.clean(None)\n"}, "a script's bare import"),
        ({"Makefile": "clean:\n\tpython -m helper\n"}, "python -m in a Makefile"),
        ({"dvc.yaml": "stages:\n  clean:\n    cmd: python pipeline/helper.py\n"}, "a DVC stage"),
        (
            {"loader.py": "import importlib\nimportlib.import_module('pipeline.helper')\n"},
            "a string",
        ),
        (
            {
                "pipeline/__init__.py": (
                    "import importlib\ndef load(n):\n    importlib.import_module(n)\n"
                )
            },
            "a package that loads its modules by name",
        ),
    ],
)
def test_a_module_reached_some_other_way_is_not_orphaned(extra: dict[str, str], why: str) -> None:
    files = {"pipeline/helper.py": HELPER, "pipeline/main.py": "print('main')\n", **extra}
    found = [f for f in run_rule(OrphanModule, files) if f.path == "pipeline/helper.py"]
    assert found == [], why


def test_a_src_layout_module_imported_as_src_dot_name_is_used() -> None:
    """Cookiecutter layouts run scripts from the root: ``from src.data import clean``."""
    files = {
        "src/__init__.py": "",
        "src/data.py": HELPER,
        "train.py": "from src.data import clean\n\nif __name__ == '__main__':\n    clean(None)\n",
    }
    assert run_rule(OrphanModule, files) == []
    assert run_rule(UnusedDefinition, files) == []


def test_a_module_nothing_imports_or_runs_is_orphaned() -> None:
    files = {
        "pipeline/helper.py": HELPER,
        "pipeline/main.py": "print('main')\n",
        "pipeline/script.py": "import pandas as pd\npd.read_csv('x.csv').describe()\n",
        "tests/test_helper.py": "def test_clean():\n    pass\n",
        "setup.py": "from setuptools import setup\n",
    }
    found = run_rule(OrphanModule, files)
    assert lines(found) == [("pipeline/helper.py", 1)]
    assert "`clean`" in found[0].message


def test_only_private_modules_of_a_library_can_be_orphaned() -> None:
    files = {
        "setup.cfg": "[metadata]\nname = mylib\n",
        "mylib/__init__.py": "__all__ = []\n",
        "mylib/public.py": HELPER,
        "mylib/_private.py": HELPER,
    }
    assert lines(run_rule(OrphanModule, files)) == [("mylib/_private.py", 1)]


# MLD214 versioned-copy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "base"),
    [
        ("train_v2_old", "train"),
        ("model_v3_final", "model"),
        ("features-old", "features"),
        ("exp_lgbm_dart", "lgbm_dart"),
        ("Copy of eda", "eda"),
        ("train (1)", "train"),
        ("02_demand_forecast-Copy1", "02_demand_forecast"),
        ("utils_backup", "utils"),
    ],
)
def test_versioned_names_are_read_as_base_and_markers(stem: str, base: str) -> None:
    name = parse_name(stem)
    assert name is not None and name.base == base


@pytest.mark.parametrize("stem", ["03_train_lgbm", "train2", "resnet", "v2", "01_load"])
def test_plain_names_are_not_versions(stem: str) -> None:
    assert parse_name(stem) is None


def test_normalised_lines_ignore_layout_and_comments() -> None:
    assert normalised_lines(["  x  =  1  ", "", "# note", "    y = 2"]) == ["x = 1", "y = 2"]


TRAIN = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("train.csv")
X, y = df.drop(columns="churn"), df["churn"]
model = LogisticRegression(C=0.5)
model.fit(X, y)
print(model.score(X, y))
"""


def test_a_notebook_copy_is_compared_with_its_original() -> None:
    cells = "# %%\n" + TRAIN.replace("C=0.5", "C=1.0")
    files = {"eda.ipynb": "# %%\n" + TRAIN, "eda-Copy1.ipynb": cells}
    found = run_rule(VersionedCopy, files)
    assert lines(found) == [("eda-Copy1.ipynb", 1)]
    assert "versioned copy of eda.ipynb" in found[0].message
    assert [r.path for r in found[0].related] == ["eda.ipynb"]


def test_a_versioned_file_that_is_imported_or_run_by_the_pipeline_is_live() -> None:
    copy = TRAIN.replace("C=0.5", "C=0.1")
    assert run_rule(VersionedCopy, {"train.py": TRAIN, "train_v2.py": copy}) != []
    run_by_make = {
        "train.py": TRAIN,
        "train_v2.py": copy,
        "Makefile": "all:\n\tpython train_v2.py\n",
    }
    assert run_rule(VersionedCopy, run_by_make) == []


def test_the_newest_plain_version_is_the_live_one() -> None:
    files = {
        "model_v2.py": TRAIN,
        "model_v3.py": TRAIN.replace("0.5", "0.7"),
        "model_v1_old.py": TRAIN,
    }
    found = run_rule(VersionedCopy, files)
    assert [(f.path, f.related[0].path) for f in found] == [
        ("model_v1_old.py", "model_v3.py"),
        ("model_v2.py", "model_v3.py"),
    ]


# the demo and the plumbing -------------------------------------------------------------------


def test_the_demo_projects_dead_experiment_is_found() -> None:
    config = Config(root=DEMO, select=["MLD211", "MLD212", "MLD213", "MLD214"])
    result = analyse([DEMO], config, jobs=1, use_cache=False)
    found = {(f.rule, f.path, f.line) for f in result.findings}
    assert ("MLD211", "train_v2_old.py", 40) in found  # USE_NEW_FEATURES = False, line 15
    assert ("MLD214", "train_v2_old.py", 1) in found
    copy = next(f for f in result.findings if f.rule == "MLD214")
    assert "train.py" in copy.message and "%" in copy.message


def test_the_per_file_facts_need_no_root_and_no_disk(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("X = False\nif X:\n    print(1)\n")
    config = Config(root=tmp_path, select=["MLD211"])
    result = analyse([tmp_path], config, jobs=1, use_cache=False)
    assert result.graph is not None
    modules = list(result.graph.modules())
    assert all(FACTS_KEY in facts.extra for facts in modules)
    (tmp_path / "a.py").unlink()  # the project pass must not need the file any more
    rule = AlwaysOffFlag(ProjectGraph(modules), {})
    rule.check()
    assert [r.line for r in rule.reports] == [2]


def test_without_facts_or_a_root_the_rules_stay_silent(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("X = False\nif X:\n    print(1)\n")
    result = analyse([tmp_path], Config(root=tmp_path, select=["MLD701"]), jobs=1)
    assert result.graph is not None
    graph = ProjectGraph(list(result.graph.modules()))
    assert getattr(graph, "root", None) is None
    assert all(usage is None for usage in project_usage(graph).modules.values())
    rule = AlwaysOffFlag(graph, {})
    rule.check()
    assert rule.reports == []


def test_a_module_that_does_not_parse_gives_no_usage() -> None:
    assert extract("def broken(:\n", "m") is None
    usage = extract("import a.b as c\nif c.FLAG:\n    pass\n", "m")
    assert usage is not None and usage.guards[0].test == ("a", "a.b", "FLAG")


def test_a_module_a_notebook_runs_with_a_magic_is_not_orphaned() -> None:
    files = {
        "helpers.py": HELPER,
        "eda.ipynb": "# %%\n%run helpers.py\n# %%\nprint(1)\n",
    }
    assert run_rule(OrphanModule, files) == []


def test_config_attributes_filled_in_by_a_base_class_are_not_flags() -> None:
    files = {
        "configuration_utils.py": """
        class BaseConfig:
            def __init__(self, **kwargs):
                for key, value in kwargs.items():
                    setattr(self, key, value)
        """,
        "configuration_net.py": """
        from configuration_utils import BaseConfig

        class NetConfig(BaseConfig):
            is_hybrid = False
        """,
        "modeling_net.py": """
        def build(config):
            if config.is_hybrid:
                return "hybrid"
            return "plain"
        """,
    }
    assert run_rule(AlwaysOffFlag, files) == []


def test_methods_of_a_class_with_an_unknown_outside_base_are_kept() -> None:
    files = {
        "rules.py": """
        from typing import Protocol
        from onnxscript.rewriter import RewriteRuleClassBase

        class Fusion(RewriteRuleClassBase):
            def rewrite(self, op, x):
                return x

        class Logger(Protocol):
            def getChild(self, suffix): ...
        """,
        "main.py": "from rules import Fusion, Logger\nFusion()\nprint(Logger)\n",
    }
    assert run_rule(UnusedDefinition, files) == []


def test_a_top_level_package_declaring_an_api_is_a_library() -> None:
    files = {
        "mylib/__init__.py": '__all__ = ["public_api"]\nfrom mylib.core import public_api\n',
        "mylib/core.py": "def public_api():\n    pass\n",
        "scripts/run.py": "import mylib.core\nprint(mylib.__version__)\n",
    }
    assert run_rule(UnusedDefinition, files) == []
    files["mylib/__init__.py"] = ""
    assert [f.path for f in run_rule(UnusedDefinition, files)] == ["mylib/core.py"]


def test_a_packaged_application_is_not_a_library() -> None:
    files = {
        "pyproject.toml": '[project]\nname = "churn"\nversion = "0.1"\n',
        "src/churn/__init__.py": '__version__ = "0.1"\n',
        "src/churn/models.py": "class OldNet:\n    pass\n\nclass Net:\n    pass\n",
        "train.py": "from churn.models import Net\nNet()\n",
    }
    assert [f.message.split(" is ")[0] for f in run_rule(UnusedDefinition, files)] == [
        "class `OldNet`"
    ]


def test_definitions_looked_up_by_computed_names_are_kept() -> None:
    files = {
        "models.py": "class ResNet:\n    pass\n\nclass ViT:\n    pass\n",
        "heads.py": """
        class Head:
            def run(self, kind):
                return getattr(self, "head_" + kind)()

            def dispatch(self, name):
                return getattr(self, name)()

            def linear(self):
                return 1
        """,
        "train.py": """
        import sys

        import models
        from heads import Head

        model = getattr(models, sys.argv[1])()
        Head().run("x")
        """,
    }
    assert run_rule(UnusedDefinition, files) == []


def test_names_used_by_notebook_magics_are_used() -> None:
    files = {
        "features.py": "def featurize(df):\n    return df\n",
        "bench.ipynb": "# %%\nfrom features import *\n# %%\n%timeit featurize(None)\n",
    }
    assert run_rule(UnusedDefinition, files) == []


def test_numeric_comparisons_with_an_off_flag_are_followed() -> None:
    source = """
    VERBOSE = 0

    def log(msg):
        if VERBOSE > 1:
            print(msg)
        if VERBOSE >= 0:
            return msg
    """
    assert lines(run_rule(AlwaysOffFlag, {"app.py": source})) == [("app.py", 4)]


SETTINGS = "model:\n  hidden: 64\n  use_attention: false\ntrain:\n  epochs: 3\n"
READ_SETTINGS = """
import yaml

cfg = yaml.safe_load(open("configs/train.yaml"))
if cfg["model"]["use_attention"]:
    print("attention")
if cfg["train"].get("epochs"):
    print("epochs")
"""


def test_a_setting_off_in_every_settings_file_is_an_always_off_flag() -> None:
    files = {"configs/train.yaml": SETTINGS, "train.py": READ_SETTINGS}
    found = run_rule(AlwaysOffFlag, files)
    assert lines(found) == [("train.py", 4)]
    assert "`use_attention` is False in configs/train.yaml:3" in found[0].message
    assert [(r.path, r.line) for r in found[0].related] == [("configs/train.yaml", 3)]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"configs/big.yaml": "model:\n  use_attention: true\n"}, "on in another settings file"),
        ({"Makefile": "big:\n\tpython train.py model.use_attention=true\n"}, "a command line"),
        ({"tune.py": "cfg = {}\ncfg['use_attention'] = True\n"}, "stored into the settings"),
    ],
)
def test_a_setting_that_something_turns_on_is_left_alone(extra: dict[str, str], why: str) -> None:
    files = {"configs/train.yaml": SETTINGS, "train.py": READ_SETTINGS, **extra}
    assert run_rule(AlwaysOffFlag, files) == [], why


def test_settings_of_a_hydra_project_belong_to_the_command_line() -> None:
    entry = """
    import hydra

    @hydra.main(config_path="configs", config_name="train")
    def main(cfg):
        pass
    """
    files = {"configs/train.yaml": SETTINGS, "train.py": READ_SETTINGS, "main.py": entry}
    assert run_rule(AlwaysOffFlag, files) == []


def test_generated_and_huge_modules_are_never_reported() -> None:
    protoc = "# Generated by the protocol buffer compiler.  DO NOT EDIT!\ndef unused():\n    pass\n"
    huge = "".join(f"def f_{i}(x):\n    return x + {i}\n\n\n" for i in range(40_000))
    files = {"model_pb2.py": protoc, "tables.py": huge, "main.py": "import model_pb2\n"}
    for rule in (UnusedDefinition, OrphanModule):
        assert run_rule(rule, files) == []


def test_usage_facts_survive_the_cache_round_trip() -> None:
    source = """
    import json
    import config as cfg

    __all__ = []
    FLAG = False

    class Net(Base):
        use_ema = False

        def forward(self, x, verbose=False):
            if verbose and cfg.DEBUG:
                print(x if FLAG else None)
            self.cache = None
            return getattr(self, x)

    def helper(path, strict=False):
        return json.loads(open(path).read())["key"]
    """
    usage = extract(textwrap.dedent(source), "pkg.model")
    assert usage is not None
    data = json.loads(json.dumps(usage_to_json(usage)))
    again = usage_from_json(data)
    for name in vars(usage):
        if name not in ("bindings", "aliases", "key_reads"):
            assert getattr(again, name) == getattr(usage, name), name
    assert again.exports == []


def test_a_helper_a_doctest_shows_is_used() -> None:
    """A doctest is documentation users copy and a test the runner executes."""
    module = '''
    def sample_negatives(features_shape, num_negatives):
        return [features_shape, num_negatives]

    def pretraining_loss(logits):
        """The contrastive loss.

        Example:

        >>> from pretrain import sample_negatives
        >>> negatives = sample_negatives((2, 50), num_negatives=10)
        """
        return logits

    def old_loss(logits):
        """The loss before the contrastive one; mentions sample_negatives in prose only."""
        return logits
    '''
    files = {"pretrain.py": module, "train.py": "from pretrain import pretraining_loss\n"}
    found = run_rule(UnusedDefinition, files)
    assert [f.message.split(" is ")[0] for f in found] == ["function `old_loss`"]


PY2_TRAIN = """
from utils.arrays import stack_predictions
from nnet.early_stopping import DivergenceError
import class_split

print 'training'
"""


def test_code_that_does_not_parse_still_uses_what_it_names() -> None:
    """A Python 2 script the analysis cannot parse imports modules and names definitions: they
    are not dead, and a flag it may set is not always off."""
    files = {
        "train_old.py": PY2_TRAIN,
        "utils/__init__.py": "",
        "utils/arrays.py": "def stack_predictions(p):\n    return p\n",
        "nnet/__init__.py": "",
        "nnet/early_stopping.py": "class DivergenceError(Exception):\n    pass\n",
        "class_split.py": "def split(x):\n    return x\n",
        "main.py": "import nnet.early_stopping\n",
    }
    for rule in (UnusedDefinition, OrphanModule):
        assert [f for f in run_rule(rule, files) if f.path != "class_split.py"] == [], rule.code
    assert run_rule(OrphanModule, files) == []
    alone = {k: v for k, v in files.items() if k != "train_old.py"}
    assert ("utils/arrays.py", 1) in lines(run_rule(OrphanModule, alone))


def test_helpers_a_usage_section_tells_readers_to_import_are_used() -> None:
    """A docstring's usage section (or a guide in the docs) that shows how to import a helper
    documents it as the package's API; prose that merely mentions a name does not."""
    files = {
        "analysis/stats.py": '''
            """Statistical tests.

            Usage::

                from analysis.stats import (
                    confidence_interval,
                    chi_squared_test,
                )
            """

            def confidence_interval(x):
                return x

            def chi_squared_test(x):
                return x

            def bootstrap_ci(x):
                """Unlike confidence_interval, resamples."""
                return x
            ''',
        "analysis/theme.py": "def apply_theme():\n    pass\n",
        "docs/charts.md": "```python\nfrom analysis.theme import apply_theme\napply_theme()\n```\n",
        "analysis/old_theme.py": "def apply_old_theme():\n    pass\n",
        "app.py": "import analysis.stats\n",
    }
    unused = run_rule(UnusedDefinition, files)
    assert [f.message.split(" is ")[0] for f in unused] == ["function `bootstrap_ci`"]
    assert lines(run_rule(OrphanModule, files)) == [("analysis/old_theme.py", 1)]


def test_single_place_findings_span_the_dead_code_and_copies_point_at_the_live_file() -> None:
    """An unused definition or an orphaned module is one place (no steps to show); a versioned
    copy shows the live file it copies as a related location."""
    [unused] = run_rule(UnusedDefinition, UnusedDefinition.examples[0].files)
    assert (unused.path, unused.line, unused.end_line) == ("features.py", 7, 9)
    assert not unused.related
    [orphan] = run_rule(OrphanModule, OrphanModule.examples[0].files)
    assert (orphan.path, len(orphan.related)) == ("losses.py", 0)
    [copy] = run_rule(VersionedCopy, VersionedCopy.examples[0].files)
    assert [(r.path, r.line, r.message) for r in copy.related] == [
        ("train.py", 1, "the live file it copies")
    ]
