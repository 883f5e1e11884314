"""Configuration facts: what a module reads and defines, settings files, the graph's keys."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from mldebt.api import analyse
from mldebt.config import Config
from mldebt.facts.config import (
    config_file_kind,
    parse_config_file,
    python_config_facts,
)
from mldebt.testing import write_tree


def facts(source: str, path: str = "train.py") -> dict:
    return python_config_facts(textwrap.dedent(source), path)


def reads(data: dict) -> list[str]:
    return [r[1] for r in data.get("reads", [])]


# --- Python --------------------------------------------------------------------------------


def test_a_yaml_file_loaded_by_path_is_a_config_object_with_dotted_reads() -> None:
    data = facts(
        """
        import yaml
        with open("params.yaml") as fh:
            params = yaml.safe_load(fh)
        train = params["train"]
        print(params["train"]["lr"], train["epochs"], train.get("seed", 0))
        """
    )
    assert [h[1:3] for h in data["holders"]] == [["file", "params.yaml"], ["file", "params.yaml"]]
    # binding train = params["train"] reads the mapping; later reads go through the alias
    assert reads(data) == ["train", "train.lr", "train.epochs", "train.seed"]
    assert data["reads"][-1][3] is True  # read with a default


def test_a_hydra_function_parameter_is_its_configuration() -> None:
    data = facts(
        """
        import hydra

        @hydra.main(config_path="conf", config_name="config", version_base=None)
        def main(cfg):
            model = instantiate(cfg.model)
            print(cfg.train.lr)
        """
    )
    assert data["holders"][0][1:3] == ["hydra", "conf|config"]
    assert "train.lr" in reads(data)
    assert ["model", "instantiate"] in [w[1:3] for w in data["whole"]]


def test_argparse_options_are_defined_with_their_destinations_and_read_from_the_namespace() -> None:
    data = facts(
        """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--learning-rate", type=float, default=1e-3)
        parser.add_argument("-b", "--batch-size", dest="bs", type=int, default=32)
        parser.add_argument("data")
        args = parser.parse_args()
        print(args.learning_rate, args.bs)
        """
    )
    defined = {d[1]: d[2] for d in data["defines"] if d[0] == "argparse"}
    assert defined == {"learning_rate": 1e-3, "bs": 32, "data": None}
    assert reads(data) == ["learning_rate", "bs"]
    assert data["parsers"]["parser"] == {"dynamic": False, "made": True}


def test_click_options_nobody_reads_are_noted() -> None:
    data = facts(
        """
        import click

        @click.command()
        @click.option("--epochs", default=3)
        @click.option("--dropout", default=0.1)
        def main(epochs, dropout):
            return epochs
        """
    )
    assert [u[0] for u in data["click_unread"]] == ["dropout"]


def test_environment_reads() -> None:
    data = facts(
        """
        import os
        token = os.environ["API_TOKEN"]
        home = os.getenv("HOME", "/tmp")
        """
    )
    assert data["env"] == [["API_TOKEN", 3, False], ["HOME", 4, True]]


def test_literal_hyper_parameters_in_training_code_but_not_signature_defaults() -> None:
    data = facts(
        """
        import torch
        EPOCHS = 10

        def fit(model, lr=1e-3):
            opt = torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=0.0)
            return opt
        """
    )
    settings = [(s[0], s[1], s[4]) for s in data["settings"]]
    assert settings == [("EPOCHS", 10, "constant"), ("lr", 3e-4, "keyword")]


def test_a_configuration_module_defines_its_dicts_constants_and_dataclass_fields() -> None:
    data = facts(
        """
        from dataclasses import dataclass
        LR = 0.01
        TRAIN = {"epochs": 5, "optim": {"momentum": 0.9}}
        URLS = {"bert-base": "https://example.org/bert"}

        @dataclass
        class Serve:
            threshold: float = 0.4
        """,
        path="config.py",
    )
    defined = [(d[0], d[1], d[2]) for d in data["defines"]]
    assert defined == [
        ("constant", "LR", 0.01),
        ("dict", "epochs", 5),
        ("dict", "optim.momentum", 0.9),
        ("field", "threshold", 0.4),
    ]


def test_a_module_without_config_text_is_not_parsed() -> None:
    data = facts("def add(a, b):\n    return a + b\n", path="maths.py")
    assert set(data) == {"words"}


def test_a_module_that_does_not_parse_keeps_its_words() -> None:
    data = facts("import yaml\ncfg = yaml.safe_load(open('a.yaml')\n")
    assert "safe_load" in data["words"] and "holders" not in data


# --- settings files ------------------------------------------------------------------------


def test_yaml_keys_are_flattened_with_their_lines() -> None:
    parsed = parse_config_file(
        "conf/config.yaml", b"defaults:\n  - model: small\ntrain:\n  lr: 1e-3\n", "settings"
    )
    assert parsed.keys["train.lr"] == (1e-3, 4)
    assert parsed.mappings == {"train": 3}
    assert parsed.defaults == [{"model": "small"}]


def test_toml_and_json_settings() -> None:
    toml = parse_config_file("configs/run.toml", b"[train]\nepochs = 3\n", "settings")
    assert toml.keys == {"train.epochs": (3, 2)}
    data = parse_config_file("hparams.json", b'{\n "model": {\n  "dim": 64\n }\n}', "settings")
    assert data.keys == {"model.dim": (64, 3)}


def test_a_broken_settings_file_keeps_a_message_and_no_keys() -> None:
    parsed = parse_config_file("params.yaml", b"train: [1, 2\n", "settings")
    assert parsed.keys == {} and parsed.error and parsed.error.startswith("does not parse")
    huge = parse_config_file("params.yaml", b"a: 1\n" * 200_000, "settings")
    assert huge.error and "KB" in huge.error


def test_which_files_are_settings() -> None:
    assert config_file_kind("params.yaml") == "settings"
    assert config_file_kind("conf/model/small.yaml") == "settings"
    assert config_file_kind("configs/exp.json") == "settings"
    assert config_file_kind("dvc.yaml") == "dvc"
    for tool_file in (
        "pyproject.toml",
        ".pre-commit-config.yaml",
        ".github/workflows/ci.yml",
        "docker-compose.yml",
        "environment.yml",
        "mkdocs.yml",
        "data/train.json",
        "package.json",
    ):
        assert config_file_kind(tool_file) is None, tool_file


# --- the graph -----------------------------------------------------------------------------


def test_the_graph_joins_settings_files_and_modules_through_config_keys(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "params.yaml": "train:\n  lr: 0.1\n",
            "broken.yaml": "a: [\n",
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    params: [train.lr]\n",
            "train.py": (
                "import yaml\np = yaml.safe_load(open('params.yaml'))\nprint(p['train']['lr'])\n"
            ),
        },
    )
    config = Config(root=tmp_path, extend_select=["MLD305"])
    graph = analyse([tmp_path], config, jobs=1, use_cache=False).graph
    key = "config-key:train.lr"
    assert graph.nx.nodes[key]["kind"] == "config-key"
    kinds = {(u, v, d["kind"]) for u, v, d in graph.nx.edges(data=True) if key in (u, v)}
    assert kinds == {
        ("config-file:params.yaml", key, "defines"),
        (key, "module:train", "reads-config"),
        (key, "config-file:dvc.yaml", "reads-config"),
    }
    assert graph.nx.nodes["config-file:broken.yaml"]["error"].startswith("does not parse")
    json.dumps([d for _, d in graph.nx.nodes(data=True)])  # plain data, exportable
