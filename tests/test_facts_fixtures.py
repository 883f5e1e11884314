"""ML facts of the realistic fixture projects: what a graph of each needs to see."""

from __future__ import annotations

import json

from test_facts_support import fixture_facts, templates

from mldebt.facts.model import ModuleFacts


def test_demo_pipeline_hands_off_through_config_paths() -> None:
    ingest = fixture_facts("demo/pipeline/01_ingest.py")
    assert templates(ingest, "r") == ["{ref:config.RAW_CUSTOMERS}", "{ref:config.RAW_USAGE}"]
    assert templates(ingest, "w") == ["{ref:config.DATA_DIR}/interim/customers_merged.csv"]
    assert {"a:0", "a:1"} <= set(ingest.artifacts[2].inputs)
    clean = fixture_facts("demo/pipeline/02_clean.py")
    assert templates(clean) == [
        "{ref:config.INTERIM_DIR}/customers_merged.csv",
        "{ref:config.CLEAN_CUSTOMERS}",
    ]
    features = fixture_facts("demo/pipeline/03_features.py")
    assert templates(features) == [
        "{ref:config.PREDICTIONS_CSV}",
        "data/interim/customers_clean.parquet",
        "{ref:config.PROCESSED_DIR}/features.csv",
    ]
    written = features.artifacts[2]
    assert {"a:0", "a:1", "k:config.FEATURES"} <= set(written.inputs)  # the feedback input


def test_demo_config_constants_resolve_to_plain_paths() -> None:
    config = fixture_facts("demo/config.py")
    assert config.constants["PREDICTIONS_CSV"] == "data/processed/predictions.csv"
    assert config.constants["MODEL_PATH"] == "models/churn_model.joblib"
    assert config.constants["FEATURES"][-1] == "prev_churn_score"


def test_demo_train_and_predict_close_the_feedback_loop() -> None:
    train = fixture_facts("demo/train.py")
    model = next(m for m in train.models if m.var == "model")
    assert model.cls == "sklearn.ensemble.RandomForestClassifier"
    assert train.artifacts[model.saved_to[0]].template == "{ref:config.MODEL_PATH}"
    (fit,) = model.fits
    assert {"a:0", "k:config.FEATURES"} <= set(fit.inputs)
    assert train.artifacts[0].template == "data/processed/features.csv"
    scaler = next(m for m in train.models if m.var == "scaler")
    assert scaler.kind == "transformer"
    predict = fixture_facts("demo/predict.py")
    loaded = next(m for m in predict.models if m.loaded_from)
    assert predict.artifacts[loaded.loaded_from[0]].template == "{ref:config.MODEL_PATH}"
    out = next(a for a in predict.artifacts if a.mode == "w")
    assert out.template == "{ref:config.PREDICTIONS_CSV}"
    assert f"m:{predict.models.index(loaded)}" in out.inputs


def test_kaggle_scripts_chain_through_the_working_folder() -> None:
    config = fixture_facts("tabular_churn_kaggle/config.py")
    assert config.constants["WORK_DIR"] == "{here}/working"
    lgbm = fixture_facts("tabular_churn_kaggle/03_train_lgbm.py")
    assert templates(lgbm, "w") == [
        "{ref:config.WORK_DIR}/lgb_fold{}.txt",
        "{ref:config.WORK_DIR}/oof_lgb.npy",
    ]
    (model,) = lgbm.models
    assert model.cls == "lightgbm.LGBMClassifier" and model.saved_to == (1,)
    assert "f:utils.load_features" in model.fits[0].inputs
    predict = fixture_facts("tabular_churn_kaggle/04_predict.py")
    assert "{ref:config.WORK_DIR}/lgb_fold{}.txt" in templates(predict, "r")
    assert templates(predict, "w") == ["{ref:config.SUB_DIR}/submission_{}.csv"]
    utils = fixture_facts("tabular_churn_kaggle/utils.py")
    assert utils.returns["load_features"] == ["a:1"]
    assert templates(utils) == [
        "{ref:config.WORK_DIR}/features.json",
        "{ref:config.WORK_DIR}/features.json",
        "{ref:config.WORK_DIR}/scores.jsonl",
    ]


def test_kaggle_baselines_share_one_feature_list() -> None:
    baselines = fixture_facts("tabular_churn_kaggle/06_baselines.py")
    fitted = [m for m in baselines.models if m.kind == "estimator" and m.fits]
    assert len(fitted) >= 4
    assert all({"s:tenure", "s:n_services"} <= set(m.fits[0].inputs) for m in fitted)


def test_torch_research_argparse_defaults_and_checkpoints() -> None:
    train = fixture_facts("torch_research/train.py")
    assert train.cli_defaults["data"] == "data/har" and train.cli_defaults["out"] is None
    assert templates(train, "w") == ["runs/tcn_{}/args.json", "runs/tcn_{}/history.json"]
    model = next(m for m in train.models if m.scope == "main")
    assert [f.api for f in model.fits] == ["backward"]
    assert "f:data.dataset.make_loaders" in model.fits[0].inputs
    sweep = fixture_facts("torch_research/sweep.py")
    assert templates(sweep, "w") == ["runs/sweep.jsonl"]
    checkpoint = fixture_facts("torch_research/utils/checkpoint.py")
    assert templates(checkpoint) == ["{arg:path}", "{arg:path}", "{arg:path}"]
    saver = next(m for m in checkpoint.models if m.saved_to)
    assert saver.kind == "parameter" and saver.scope == "save_checkpoint"
    dataset = fixture_facts("torch_research/data/dataset.py")
    assert templates(dataset) == ["{arg:root}/train_signals.npy", "{arg:root}/train_meta.csv"]
    assert dataset.artifacts[0].var == "self.signals"


def test_notebooks_read_helpers_data_and_save_models() -> None:
    eda = fixture_facts("notebook_analytics/01_sales_eda.ipynb")
    assert templates(eda) == [
        "{ref:helpers.DATA}/sales_2023.csv",
        "{ref:helpers.DATA}/stores.csv",
        "{ref:helpers.DATA}/sales_sample_for_agency.csv",
        "{ref:helpers.DATA}/store_segments.parquet",
    ]
    rf = next(m for m in eda.models if m.var == "rf")
    assert {"s:discount", "s:promo_share"} <= set(rf.fits[0].inputs)
    keras_nb = fixture_facts("notebook_analytics/02_demand_forecast_keras.ipynb")
    export = next(m for m in keras_nb.models if m.var == "export")
    assert keras_nb.artifacts[export.saved_to[0]].template == "models/demand_lstm.keras"
    assert keras_nb.constants["FEATURES"] == ["units", "discount", "promo_share", "is_holiday"]
    sentiment = fixture_facts("notebook_analytics/03_review_sentiment.ipynb")
    assert templates(sentiment) == ["{ref:helpers.DATA}/reviews.csv"]  # hub ids are not files
    helpers = fixture_facts("notebook_analytics/helpers.py")
    assert helpers.constants["DATA"] == "{here}/data"
    assert helpers.returns["load_weekly_demand"] == ["a:0"]


def test_facts_survive_the_cache_as_compact_json() -> None:
    facts = fixture_facts("demo/train.py")
    data = json.loads(json.dumps(facts.to_dict()))
    assert ModuleFacts.from_dict(data) == facts
    assert "scope" not in data["artifacts"][0] or data["artifacts"][0]["scope"]
    assert all("write" not in s for s in data["signals"] if not s.get("write"))
