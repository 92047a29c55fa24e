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
    "noise", "noise_scale", "seed", "eval_lang", "split", "metric", "value", "n_examples",
    "phenomenon",  # "all", or the phenomenon the score is restricted to
]
PREDICTION_COLUMNS = ["run_id", "eval_lang", "split", "example_id", "label", "pred", "correct", "phenomena"]
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


def finished_runs(experiment_dir: str | Path) -> list[Path]:
    """Run folders of an experiment whose manifest says done."""
    runs = []
    for run in sorted((Path(experiment_dir) / "runs").glob("*")):
        m = run / "manifest.json"
        if m.is_file() and read_json(m).get("status") == "done":
            runs.append(run)
    return runs


def _concat(experiment_dir: str | Path, name: str, columns: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(run / name) for run in finished_runs(experiment_dir) if (run / name).is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def collect(experiment_dir: str | Path) -> pd.DataFrame:
    """Rebuild ``results.parquet`` from the finished runs of an experiment and return it."""
    df = check_metrics(_concat(experiment_dir, "metrics.parquet", METRIC_COLUMNS))
    write_parquet(df, Path(experiment_dir) / "results.parquet")
    return df


def collect_predictions(experiment_dir: str | Path) -> pd.DataFrame:
    """Per-example predictions of the finished runs (for paired bootstrap intervals)."""
    return _concat(experiment_dir, "predictions.parquet", PREDICTION_COLUMNS)
