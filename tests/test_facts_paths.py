"""Path templates: each form a path is written in, resolved as far as the file tells."""

from __future__ import annotations

import pytest
from test_facts_support import ml_facts, template_of

from mldebt.facts import paths


def test_a_literal_path() -> None:
    assert template_of('import pandas as pd\ndf = pd.read_csv("data/raw.csv")') == "data/raw.csv"


def test_concatenation_of_module_constants() -> None:
    source = """
        import pandas as pd
        DATA_DIR = "data"
        RAW = DATA_DIR + "/raw/customers.csv"
        df = pd.read_csv(RAW)
    """
    assert template_of(source) == "data/raw/customers.csv"


def test_a_module_constant_defined_after_the_function_that_uses_it() -> None:
    source = """
        import pandas as pd
        def load():
            return pd.read_csv(PATH)
        PATH = "data/late.csv"
    """
    assert template_of(source) == "data/late.csv"


def test_an_imported_constant_is_kept_as_a_reference() -> None:
    source = """
        import pandas as pd
        from config import DATA_DIR
        df = pd.read_csv(DATA_DIR + "/x.csv")
    """
    assert template_of(source) == "{ref:config.DATA_DIR}/x.csv"


def test_a_constant_of_an_imported_module_and_a_relative_import() -> None:
    source = """
        import pandas as pd
        import config as cfg
        from .settings import OUT
        df = pd.read_parquet(cfg.WORK_DIR / "train.parquet")
        df.to_csv(OUT)
    """
    assert [a.template for a in ml_facts(source, "pkg/job.py").artifacts] == [
        "{ref:config.WORK_DIR}/train.parquet",
        "{ref:pkg.settings.OUT}",
    ]


def test_os_path_join_and_pathlib_division() -> None:
    source = """
        import os
        from pathlib import Path
        import numpy as np
        a = np.load(os.path.join("data", "interim", "x.npy"))
        b = np.load(Path("data") / "interim" / "y.npy")
    """
    facts = ml_facts(source)
    assert [x.template for x in facts.artifacts] == ["data/interim/x.npy", "data/interim/y.npy"]


@pytest.mark.parametrize(
    "expression",
    [
        'Path(__file__).parent / "data" / "x.csv"',
        'Path(__file__).resolve().parent / "data/x.csv"',
        'os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "x.csv")',
    ],
)
def test_the_scripts_own_folder_is_here(expression: str) -> None:
    source = f"""
        import os
        from pathlib import Path
        import pandas as pd
        df = pd.read_csv({expression})
    """
    assert template_of(source) == "{here}/data/x.csv"


@pytest.mark.parametrize(
    "expression",
    [
        'Path(__file__).resolve().parents[1] / "data" / "x.csv"',
        'Path(__file__).parent.parent / "data/x.csv"',
        'os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "x.csv")',
    ],
)
def test_the_folder_above_the_script_is_here_and_up(expression: str) -> None:
    source = f"""
        import os
        from pathlib import Path
        import pandas as pd
        df = pd.read_csv({expression})
    """
    assert template_of(source) == "{here}/../data/x.csv"


def test_f_strings_format_and_percent_with_known_and_unknown_parts() -> None:
    source = """
        import pandas as pd
        OUT = "out"
        def save(df, fold, name="preds"):
            df.to_csv(f"{OUT}/fold{fold}.csv")
            df.to_csv("{}/{}.csv".format(OUT, name))
            df.to_csv("%s/%d.csv" % (OUT, fold))
            df.to_csv(f"{OUT}/{fold:03d}.csv")
    """
    facts = ml_facts(source)
    assert [a.template for a in facts.artifacts] == [
        "out/fold{arg:fold}.csv",
        "out/preds.csv",
        "out/{arg:fold}.csv",
        "out/{}.csv",
    ]


def test_parameters_with_literal_or_constant_defaults() -> None:
    source = """
        import pandas as pd
        from config import RAW
        def load(path=RAW, other="data/b.csv", unknown=None):
            pd.read_csv(path)
            pd.read_csv(other)
            pd.read_csv(unknown)
    """
    facts = ml_facts(source)
    assert [a.template for a in facts.artifacts] == [
        "{ref:config.RAW}",
        "data/b.csv",
        "{arg:unknown}",
    ]


def test_argparse_defaults_through_args_attributes() -> None:
    source = """
        import argparse
        import numpy as np
        def main():
            args = parse()
            np.save(args.out_dir + "/emb.npy", 1)
            np.load(args.input)
            np.load(args.run or f"runs/{args.model}")
        def parse():
            p = argparse.ArgumentParser()
            p.add_argument("--out-dir", default="runs/x")
            p.add_argument("input")
            p.add_argument("--model", default="tcn")
            p.add_argument("--run", default=None)
            return p.parse_args()
    """
    facts = ml_facts(source)
    assert [a.template for a in facts.artifacts] == ["runs/x/emb.npy", "{}", "runs/tcn"]
    assert facts.cli_defaults == {"out_dir": "runs/x", "input": None, "model": "tcn", "run": None}


def test_the_latest_assignment_before_the_use_wins() -> None:
    source = """
        import pandas as pd
        path = "a.csv"
        df = pd.read_csv(path)
        path = "b.csv"
        df.to_csv(path)
        path = "c.csv"
    """
    facts = ml_facts(source)
    assert [(a.mode, a.template) for a in facts.artifacts] == [("r", "a.csv"), ("w", "b.csv")]


def test_unknown_parts_become_wildcards() -> None:
    source = """
        import os, sys
        from datetime import datetime
        import pandas as pd
        stamp = datetime.now().strftime("%Y")
        pd.read_csv(os.path.join("data", stamp, "x.csv"))
        pd.read_csv(sys.argv[1])
        pd.read_csv(os.environ.get("DATA", "data/default.csv"))
    """
    facts = ml_facts(source)
    assert [a.template for a in facts.artifacts] == ["data/{}/x.csv", "{}", "data/default.csv"]


def test_glob_patterns_and_loops_over_their_matches() -> None:
    source = """
        import glob
        from pathlib import Path
        import pandas as pd
        for p in sorted(glob.glob("data/raw/*.csv")):
            pd.read_csv(p)
        frames = [pd.read_parquet(q) for q in Path("data").glob("part-*.parquet")]
    """
    facts = ml_facts(source)
    assert sorted(a.template for a in facts.artifacts) == sorted(
        ["data/raw/{}.csv", "data/raw/{}.csv", "data/part-{}.parquet", "data/part-{}.parquet"]
    )


def test_a_path_held_by_a_dict_constant_and_pathlib_helpers() -> None:
    source = """
        from pathlib import Path
        import pandas as pd
        PATHS = {"train": "data/train.csv"}
        MODEL = Path("models") / "m.pkl"
        pd.read_csv(PATHS["train"])
        pd.read_csv(MODEL.with_suffix(".csv"))
        pd.read_csv(MODEL.parent / MODEL.stem)
    """
    facts = ml_facts(source)
    assert [a.template for a in facts.artifacts] == ["data/train.csv", "models/m.csv", "models/m"]


def test_template_helpers() -> None:
    template = "{ref:config.DIR}/a{{b}}/{}.csv"
    assert paths.parts(template) == [
        ("ref", "config.DIR"),
        ("text", "/a{b}/"),
        ("wild", ""),
        ("text", ".csv"),
    ]
    assert paths.to_regex("data/{}/x.csv").match("data/2024/x.csv")
    assert not paths.to_regex("data/{}/x.csv").match("data/2024/y.csv")
    assert paths.unescape(paths.literal("a{b}")) == "a{b}"
    assert paths.from_glob("x/*_[0-9].csv") == "x/{}_{}.csv"
    assert paths.join("a", "/abs", "b") == "/abs/b"
    assert paths.dirname("{here}/x.py") == "{here}"
    assert not paths.is_known("{}/{arg:p}")


def test_long_chains_of_rebinding_stay_within_the_stack() -> None:
    lines = ["import pandas as pd", 'p = "data"', 'df = pd.read_csv("a.csv")']
    lines += ['p = p + "/x"\ndf = df.dropna()' for _ in range(3000)]
    lines += ["df.to_csv(p)"]
    facts = ml_facts("\n".join(lines))
    written = facts.artifacts[-1]
    assert written.mode == "w" and written.template.endswith("/x/x")
