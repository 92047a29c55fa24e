import pandas as pd
import pytest

from xltkit.core import io, results


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    class Boom:
        def to_parquet(self, *a, **k):
            raise RuntimeError("disk full")

    target = tmp_path / "m.parquet"
    with pytest.raises(RuntimeError):
        io._atomic(target, lambda tmp: Boom().to_parquet(tmp))
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_building_publishes_only_finished_folders(tmp_path):
    target = tmp_path / "stage" / "abc"
    with pytest.raises(KeyError):
        with io.building(target) as tmp:
            (tmp / "half.bin").write_text("x")
            raise KeyError("killed")
    assert not target.exists() and list((tmp_path / "stage").iterdir()) == []
    with io.building(target, {"ok": 1}) as tmp:
        (tmp / "model.bin").write_text("x")
    assert io.is_done(target) and (target / "model.bin").read_text() == "x"


def test_building_replaces_a_leftover_unfinished_folder(tmp_path):
    target = tmp_path / "abc"
    target.mkdir()
    (target / "partial").write_text("from a killed run")
    with io.building(target) as tmp:
        (tmp / "full").write_text("y")
    assert not (target / "partial").exists() and (target / "full").exists()


def _metrics(run_id, value):
    row = {c: "x" for c in results.METRIC_COLUMNS}
    row.update(run_id=run_id, value=value, n_examples=10, seed=0, noise_scale=0.0)
    return pd.DataFrame([row])


def test_collect_takes_only_finished_runs(tmp_path):
    for rid, status in (("a", "done"), ("b", "failed"), ("c", "running")):
        d = tmp_path / "runs" / rid
        io.write_parquet(_metrics(rid, 0.5), d / "metrics.parquet")
        io.write_json({"status": status}, d / "manifest.json")
    df = results.collect(tmp_path)
    assert list(df.run_id) == ["a"]
    assert list(pd.read_parquet(tmp_path / "results.parquet").columns)[: len(results.METRIC_COLUMNS)] == \
        results.METRIC_COLUMNS


def test_check_metrics_names_missing_columns():
    with pytest.raises(ValueError, match="lacks columns.*'eval_lang'"):
        results.check_metrics(_metrics("a", 1).drop(columns="eval_lang"))


def test_tables_from_before_eval_lang2_load_with_their_pairs_in_the_source_language(tmp_path):
    old = pd.concat([_metrics("a", 0.5), _metrics("a", 0.4)], ignore_index=True)
    old = old.assign(source_lang="eng", eval_lang="deu", eval_setting=["same", "generalized"])
    old = old.drop(columns="eval_lang2")
    preds = pd.DataFrame({"run_id": "a", "eval_lang": "deu", "split": "test", "eval_setting": ["same", "generalized"],
                          "example_id": 0, "label": 1, "pred": 1, "correct": 1.0, "phenomena": ""})
    io.write_parquet(old, tmp_path / "runs" / "a" / "metrics.parquet")
    io.write_parquet(preds, tmp_path / "runs" / "a" / "predictions.parquet")
    io.write_json({"status": "done"}, tmp_path / "runs" / "a" / "manifest.json")
    df = results.collect(tmp_path)
    assert list(df.eval_lang2) == ["", "eng"]  # the generalized setting paired every language with source_lang
    assert list(results.collect_predictions(tmp_path).eval_lang2) == ["", "eng"]
    assert list(results.collect_predictions(tmp_path, generalized=False).eval_setting) == ["same"]
    new = df.assign(eval_lang2=["", "eng"])
    c = results.compare(old, new)
    assert c["matched"] == 2 and c["n_different"] == 0
    c = results.compare(old, new.assign(eval_lang2=["", "fra"]))  # another pair is another cell
    assert c["matched"] == 1 and len(c["only_first"]) == len(c["only_second"]) == 1
