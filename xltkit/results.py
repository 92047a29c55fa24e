"""One results schema, one writer, one reader.

Every number a run produces is one row of a tidy table (``METRIC_COLUMNS``).  Files are
written atomically (temporary file in the same folder, then ``os.replace``), so a killed
run never leaves a half-written file that looks complete.  ``results.parquet`` is
rebuilt from the runs' own files and is never the only copy of anything.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

METRIC_COLUMNS = [
    "experiment", "run_id", "model", "intermediate_task", "intermediate_lang", "target_task", "source_lang",
    "noise", "noise_scale",
    "noise_setting",  # the target stage's noise, every knob it uses: "none", "adv(pgd,l2,K=3,eps=0.01,rel)", ...
    "intermediate_noise_setting",  # the same for the intermediate stage ("none" without intermediate training)
    "seed", "eval_lang", "split", "metric", "value", "n_examples",
    "phenomenon",  # "all", or the phenomenon the score is restricted to
    "eval_setting",  # "same": both sentences of a pair (or the one sentence) in eval_lang; "generalized":
    # the second sentence of a pair in source_lang (Huang et al. 2021, sec. 4.1)
]
#: noise columns added after runs had been written; :func:`collect` derives them from the run's manifest
NOISE_SETTING_COLUMNS = ("noise_setting", "intermediate_noise_setting")
PREDICTION_COLUMNS = ["run_id", "eval_lang", "split", "eval_setting", "example_id", "label", "pred", "correct",
                      "phenomena"]
DONE = "_done.json"


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(obj: Any, path: str | Path) -> Path:
    return _atomic(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=1, default=str)))


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    return _atomic(Path(path), lambda tmp: df.to_parquet(tmp, index=False))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def check_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Raise if ``df`` lacks a metric column; return it with the columns in schema order."""
    missing = [c for c in METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"metrics table lacks columns {missing}; the schema is {METRIC_COLUMNS}")
    return df[METRIC_COLUMNS + [c for c in df.columns if c not in METRIC_COLUMNS]]


def is_done(folder: str | Path) -> bool:
    return (Path(folder) / DONE).is_file()


@contextmanager
def building(folder: str | Path, info: dict | None = None) -> Iterator[Path]:
    """Build a cached folder atomically: yield a temporary sibling folder, then rename it.

    The finished folder holds ``_done.json`` (``info`` plus nothing else); a folder without
    it is never treated as finished.  If another process finished the same folder first,
    its copy is kept and ours is discarded (both are deterministic from the same key).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        write_json(info or {}, tmp / DONE)
        if folder.exists() and not is_done(folder):
            shutil.rmtree(folder)  # left over from a killed build
        try:
            os.rename(tmp, folder)
        except OSError:
            if not is_done(folder):
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


GRID = "grid.json"


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


def same_setting(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``eval_setting``: a table written before pair tasks had only
    single-language evaluation ("same")."""
    return df if "eval_setting" in df.columns else df.assign(eval_setting="same")


def _concat(experiment_dir: str | Path, name: str, columns: list[str]) -> pd.DataFrame:
    frames = [same_setting(pd.read_parquet(run / name)) for run in finished_runs(experiment_dir)
              if (run / name).is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _noise_settings(run: Path, df: pd.DataFrame) -> pd.DataFrame:
    """A run written before the noise-setting columns existed: its labels, from its manifest."""
    missing = [c for c in NOISE_SETTING_COLUMNS if c not in df.columns]
    if not missing or not (run / "manifest.json").is_file():
        return df
    from xltkit.config import EvaluateParams
    from xltkit.noise import setting_label

    p = EvaluateParams.model_construct(**read_json(run / "manifest.json").get("params", {}))  # no re-validation
    labels = {"noise_setting": setting_label(p, "finetune"),
              "intermediate_noise_setting": setting_label(p, "intermediate")}
    return df.assign(**{c: labels[c] for c in missing})


def collect(experiment_dir: str | Path) -> pd.DataFrame:
    """Rebuild ``results.parquet`` from the finished runs of an experiment and return it."""
    frames = [same_setting(_noise_settings(run, pd.read_parquet(run / "metrics.parquet")))
              for run in finished_runs(experiment_dir) if (run / "metrics.parquet").is_file()]
    df = check_metrics(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=METRIC_COLUMNS))
    write_parquet(df, Path(experiment_dir) / "results.parquet")
    return df


def collect_predictions(experiment_dir: str | Path) -> pd.DataFrame:
    """Per-example predictions of the finished runs (for paired bootstrap intervals)."""
    return _concat(experiment_dir, "predictions.parquet", PREDICTION_COLUMNS)
