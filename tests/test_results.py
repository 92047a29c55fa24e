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
