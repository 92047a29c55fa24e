"""One results schema, one writer, one reader.

Every number a run produces is one row of a tidy table (``METRIC_COLUMNS``); every test
example one row of its predictions (``PREDICTION_COLUMNS``), with the sufficient
statistics of its task's primary metric (``num``, ``den``: the metric over any set of
examples is a function of their sums, so confidence intervals can resample examples).
``results.parquet`` is rebuilt from the runs' own files and is never the only copy of
anything.  Runs live in ``<experiment>/runs/<run_id>/`` with a ``manifest.json`` whose
``status`` says whether they finished; ``grid.json`` names the runs of the current grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from xltkit.core.io import read_json, write_json, write_parquet

METRIC_COLUMNS = [
    "experiment", "run_id", "model", "intermediate_task", "intermediate_lang", "target_task", "source_lang",
    "noise", "noise_scale",
    "noise_setting",  # the target stage's noise, every knob it uses: "none", "adv(pgd,l2,K=3,eps=0.01,rel)", ...
    "intermediate_noise_setting",  # the same for the intermediate stage ("none" without intermediate training)
    "seed", "eval_lang", "split", "metric", "value", "n_examples",
    "phenomenon",  # "all", or the phenomenon the score is restricted to
    "eval_setting",  # "same": both sentences of a pair (or the one sentence) in eval_lang; "generalized":
    # the first sentence of a pair in eval_lang, the second in eval_lang2 (Huang et al. 2021, sec. 4.1)
    "eval_lang2",  # the second sentence's language in the generalized setting (source_lang, or any other
    # evaluation language with generalized_pairs: all); "" in the same setting
]
#: what each row says of its evaluation language, beside the schema (tables from before them lack them):
#: eval_seen (it is the intermediate language), eval_relative (a close relative of it: one WALS genus),
#: eval_low_resource (Joshi et al. 2020 classes 0-2, or the lab's low resource level), dataset_revision
#: (the data's source and commit), intermediate_same_data (the intermediate task's training data shares a
#: corpus with the target's: XNLI's English train is MNLI; such a gain is more training on the target's data)
LANGUAGE_COLUMNS = ["eval_seen", "eval_relative", "eval_low_resource", "dataset_revision", "intermediate_same_data"]
#: what each row says of the weights its run started from, beside the schema (tables from before it lack it):
#: model_commit (the commit of the hub snapshot the run's chain read: recorded by its first training stage that
#: read the hub and passed on; for a run that trains nothing, the snapshot its evaluation read; "" for lab models,
#: rules and local folders).  A hub id without a pinned revision reads the default branch, which moves, so two
#: seeds of one condition may start from two encoders (:mod:`xltkit.analysis.commits` says where).  It is no
#: stage key's part, nor a descriptive column of :func:`compare`
MODEL_COLUMNS = ["model_commit"]
PREDICTION_COLUMNS = ["run_id", "eval_lang", "split", "eval_setting", "eval_lang2", "example_id", "label", "pred",
                      "correct", "num", "den", "phenomena"]
GRID = "grid.json"


def check_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Raise if ``df`` lacks a metric column; return it with the columns in schema order."""
    missing = [c for c in METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"metrics table lacks columns {missing}; the schema is {METRIC_COLUMNS}")
    return df[METRIC_COLUMNS + [c for c in df.columns if c not in METRIC_COLUMNS]]


def same_setting(df: pd.DataFrame, source_langs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` with ``eval_setting`` and ``eval_lang2``: a table written before pair tasks had only
    single-language evaluation ("same"); one written before ``eval_lang2`` paired every language
    with the source language only, so its generalized rows get source_lang (the table's own
    column, else ``source_langs``: run id -> source language, for predictions) and its same
    rows ""."""
    if "eval_setting" not in df.columns:
        df = df.assign(eval_setting="same")
    if "eval_lang2" in df.columns:
        return df
    if "source_lang" in df.columns:
        second = df["source_lang"]
    elif source_langs is not None and "run_id" in df.columns:
        second = df["run_id"].map(source_langs)
    else:
        second = pd.Series(None, index=df.index, dtype=object)
    return df.assign(eval_lang2=second.where(df["eval_setting"] == "generalized", ""))


def with_metric_stats(preds: pd.DataFrame) -> pd.DataFrame:
    """Predictions with ``num`` / ``den``: files written before they existed scored one
    accuracy per example (``correct``), so ``num = correct`` and ``den = 1``."""
    if "num" in preds.columns:
        return preds
    return preds.assign(num=preds["correct"].astype(float), den=1.0)


def write_grid(experiment_dir: str | Path, run_ids: list[str]) -> Path:
    """Record the run ids of the experiment's current grid: runs left over from an earlier
    grid or an earlier xltkit version stay on disk but are no longer collected."""
    return write_json({"run_ids": sorted(run_ids)}, Path(experiment_dir) / GRID)


def grid_runs(experiment_dir: str | Path) -> list[Path]:
    """Run folders with a manifest that belong to the experiment's current grid (all of
    them where no grid is recorded)."""
    grid = Path(experiment_dir) / GRID
    current = set(read_json(grid)["run_ids"]) if grid.is_file() else None
    return [run for run in sorted((Path(experiment_dir) / "runs").glob("*"))
            if (current is None or run.name in current) and (run / "manifest.json").is_file()]


def finished_runs(experiment_dir: str | Path) -> list[Path]:
    """Run folders of the current grid whose manifest says done."""
    return [run for run in grid_runs(experiment_dir) if read_json(run / "manifest.json").get("status") == "done"]


def unreadable(run: str | Path) -> str | None:
    """What is wrong with a finished run's tables (None: both can be read).  The metrics
    (a few rows) are read whole; of the predictions (one row per example and language:
    large for hub tasks, and every ``xltkit run`` checks every finished run) the footer,
    which a truncated file lacks."""
    import pyarrow.parquet as pq

    for name, read in (("metrics.parquet", pd.read_parquet), ("predictions.parquet", pq.read_metadata)):
        path = Path(run) / name
        if not path.is_file():
            return f"{name} is missing"
        try:
            read(path)
        except Exception as e:  # noqa: BLE001 - truncated, corrupt, not parquet: all mean the same here
            return f"{name} cannot be read ({type(e).__name__}: {str(e)[:100]})"
    return None


def _read_metrics(run: Path) -> pd.DataFrame:
    try:
        return same_setting(pd.read_parquet(run / "metrics.parquet"))
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"{run / 'metrics.parquet'} cannot be read ({type(e).__name__}: {str(e)[:100]}): run the "
                         "experiment again (xltkit run PARAMS.yaml), which executes that run's evaluation again") from e


def collect(experiment_dir: str | Path) -> pd.DataFrame:
    """Rebuild ``results.parquet`` from the finished runs of an experiment and return it."""
    frames = [_read_metrics(run) for run in finished_runs(experiment_dir) if (run / "metrics.parquet").is_file()]
    df = check_metrics(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=METRIC_COLUMNS))
    write_parquet(df, Path(experiment_dir) / "results.parquet")
    return df


def _read_predictions(run: Path, generalized: bool) -> pd.DataFrame:
    preds = pd.read_parquet(run / "predictions.parquet")
    if "eval_lang2" not in preds.columns and (run / "metrics.parquet").is_file():  # written before eval_lang2
        m = pd.read_parquet(run / "metrics.parquet", columns=["run_id", "source_lang"])
        preds = same_setting(preds, dict(zip(m.run_id, m.source_lang)))
    preds = same_setting(preds)
    return with_metric_stats(preds if generalized else preds[preds.eval_setting == "same"])


def collect_predictions(experiment_dir: str | Path, generalized: bool = True) -> pd.DataFrame:
    """Per-example predictions of the finished runs (for paired bootstrap intervals); without
    ``generalized``, those of the same setting only (every pair of 15 languages is 15 times
    more rows than the same setting's: an analysis that needs none of them does not hold them)."""
    frames = [_read_predictions(run, generalized) for run in finished_runs(experiment_dir)
              if (run / "predictions.parquet").is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PREDICTION_COLUMNS)


#: the columns that say what a number is (everything but the run id, the experiment and the value)
DESCRIPTIVE = [c for c in METRIC_COLUMNS if c not in ("experiment", "run_id", "value", "n_examples")]


def compare(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Match two results tables on their descriptive columns (run ids and cache keys may
    differ between versions) and compare the values: how many rows matched, the largest
    absolute difference, and the rows only one table has."""
    a, b = same_setting(a), same_setting(b)
    keys = [c for c in DESCRIPTIVE if c in a.columns and c in b.columns]
    for name, t in (("first", a), ("second", b)):
        dup = t.duplicated(keys).sum()
        if dup:
            raise ValueError(f"the {name} table has {dup} rows with the same descriptive columns: not comparable")
    m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    both = m[m["_merge"] == "both"]
    diff = (both["value_a"] - both["value_b"]).abs()
    return {"matched": int(len(both)), "max_abs_diff": float(diff.max()) if len(both) else float("nan"),
            "n_different": int((diff > 0).sum()), "only_first": m[m["_merge"] == "left_only"][keys],
            "only_second": m[m["_merge"] == "right_only"][keys],
            "different": both.loc[diff > 0, keys + ["value_a", "value_b"]]}
