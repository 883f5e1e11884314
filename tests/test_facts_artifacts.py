"""Artifacts read and written through the common I/O APIs, with what flows into writes."""

from __future__ import annotations

from test_facts_support import ml_facts

from mldebt.facts.model import ModuleFacts


def _seen(facts: ModuleFacts) -> list[tuple[str, str, str]]:
    return [(a.mode, a.template, a.api) for a in facts.artifacts]


def test_pandas_readers_and_any_frames_writers() -> None:
    facts = ml_facts("""
        import pandas as pd
        df = pd.read_parquet("in.parquet")
        df.to_csv("out.csv", index=False)
        text = df.to_csv()
    """)
    assert _seen(facts) == [
        ("r", "in.parquet", "pandas.read_parquet"),
        ("w", "out.csv", "to_csv"),
    ]
    read, written = facts.artifacts
    assert read.var == "df" and written.var == "df"
    assert written.inputs == ("a:0",)


def test_numpy_joblib_torch_and_safetensors() -> None:
    facts = ml_facts("""
        import numpy as np, joblib, torch
        from safetensors.torch import save_file
        x = np.load("x.npy")
        np.savez_compressed("arrays.npz", x=x)
        np.savetxt("x.txt", x)
        joblib.dump(x, "x.joblib")
        torch.save(x, "x.pt")
        y = torch.load("y.pt")
        save_file({"w": y}, "w.safetensors")
    """)
    assert [(a.mode, a.template) for a in facts.artifacts] == [
        ("r", "x.npy"),
        ("w", "arrays.npz"),
        ("w", "x.txt"),
        ("w", "x.joblib"),
        ("w", "x.pt"),
        ("r", "y.pt"),
        ("w", "w.safetensors"),
    ]
    assert all(a.inputs == ("a:0",) for a in facts.artifacts[1:5])
    assert facts.artifacts[6].inputs == ("a:5",)


def test_open_mode_decides_and_handles_carry_what_is_dumped() -> None:
    facts = ml_facts("""
        import json, pickle, yaml
        with open("params.yaml") as fh:
            params = yaml.safe_load(fh)
        with open("model.pkl", "rb") as fh:
            model = pickle.load(fh)
        with open("out/params.json", "w") as out:
            json.dump(params, out)
        with open("log.txt", "a") as log:
            log.write(str(params))
    """)
    assert [(a.mode, a.template, a.var) for a in facts.artifacts] == [
        ("r", "params.yaml", "fh"),
        ("r", "model.pkl", "fh"),
        ("w", "out/params.json", None),
        ("w", "log.txt", None),
    ]
    assert facts.artifacts[2].inputs == ("a:0",)
    assert facts.artifacts[3].inputs == ("a:0",)


def test_pathlib_reads_writes_and_open() -> None:
    facts = ml_facts("""
        from pathlib import Path
        out = Path("runs") / "r1"
        cfg = (out / "cfg.json").read_text()
        (out / "copy.json").write_text(cfg)
        with (out / "log.csv").open("w") as fh:
            fh.write("x")
    """)
    assert _seen(facts) == [
        ("r", "runs/r1/cfg.json", "read_text"),
        ("w", "runs/r1/copy.json", "write_text"),
        ("w", "runs/r1/log.csv", "pathlib.Path.open"),
    ]
    assert facts.artifacts[1].inputs == ("a:0",)


def test_h5py_pyarrow_shutil_and_glob() -> None:
    facts = ml_facts("""
        import glob, shutil
        import h5py
        import pyarrow.parquet as pq
        f = h5py.File("feats.h5", "w")
        g = h5py.File("feats.h5")
        t = pq.read_table("t.parquet")
        pq.write_table(t, "t2.parquet")
        shutil.copy("a.bin", "b.bin")
        files = glob.glob("shards/*.npy")
    """)
    assert _seen(facts) == [
        ("w", "feats.h5", "h5py.File"),
        ("r", "feats.h5", "h5py.File"),
        ("r", "t.parquet", "pyarrow.parquet.read_table"),
        ("w", "t2.parquet", "pyarrow.parquet.write_table"),
        ("r", "a.bin", "shutil.copy"),
        ("w", "b.bin", "shutil.copy"),
        ("r", "shards/{}.npy", "glob.glob"),
    ]
    assert facts.artifacts[5].inputs == ("a:4",)


def test_sql_table_names_in_queries_and_to_sql() -> None:
    facts = ml_facts("""
        import sqlite3
        import pandas as pd
        con = sqlite3.connect("shop.db")
        df = pd.read_sql("SELECT * FROM orders o JOIN customers c ON o.cid = c.id", con)
        df.to_sql("order_features", con)
        con.execute("INSERT INTO audit SELECT * FROM order_features")
    """)
    assert [(a.mode, a.template) for a in facts.artifacts] == [
        ("r", "shop.db"),
        ("r", "table:customers"),
        ("r", "table:orders"),
        ("w", "table:order_features"),
        ("r", "table:order_features"),
        ("w", "table:audit"),
    ]
    assert facts.artifacts[5].inputs == ("a:4",)


def test_from_pretrained_counts_only_for_local_paths() -> None:
    facts = ml_facts("""
        from transformers import AutoModel
        a = AutoModel.from_pretrained("bert-base-uncased")
        b = AutoModel.from_pretrained("./checkpoints/best")
        b.save_pretrained("models/final")
    """)
    assert _seen(facts) == [
        ("r", "./checkpoints/best", "from_pretrained"),
        ("w", "models/final", "save_pretrained"),
    ]


def test_generic_method_names_need_a_known_path() -> None:
    facts = ml_facts("""
        def persist(thing, target):
            thing.save(target)
            thing.save("exports/thing.bin")
            json.loads(target)
    """)
    assert _seen(facts) == [("w", "exports/thing.bin", "save")]


def test_code_without_io_has_no_artifacts() -> None:
    facts = ml_facts("""
        import os
        def f(x):
            d = {"a": 1}
            return os.path.join("a", x), d["a"]
    """)
    assert facts.artifacts == [] and facts.models == [] and facts.returns == {}
