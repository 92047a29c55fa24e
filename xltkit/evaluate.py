"""Scores: accuracy for sequence tasks, seqeval span F1 (BIO) or token accuracy for token
tasks, overall and per phenomenon, as tidy rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from seqeval.metrics import f1_score

from xltkit.tasks import TaskSpec


def _align(pred, n: int) -> list[int]:
    """Word-level predictions cut or padded to ``n`` words (words lost to truncation count as tag 0, "O")."""
    return list(pred)[:n] + [0] * max(0, n - len(pred))


def _example_scores(task: TaskSpec, df: pd.DataFrame, pred: list) -> np.ndarray:
    if task.kind != "token":
        return (np.asarray(pred) == df["label"].to_numpy()).astype(float)
    return np.asarray([float(np.mean(np.asarray(_align(p, len(tags))) == np.asarray(tags)))
                       for tags, p in zip(df["tags"], pred)])


def score(task: TaskSpec, df: pd.DataFrame, pred: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy metric rows (metric, value, n_examples, phenomenon) and per-example predictions."""
    per_ex = _example_scores(task, df, pred)
    phen = df["phenomena"].map(list)
    subsets = {"all": np.ones(len(df), bool)}
    for name in sorted({x for ph in phen for x in ph}):
        subsets[name] = phen.map(lambda ph, n=name: n in ph).to_numpy()
    metric = "token_accuracy" if task.kind == "token" else "accuracy"
    rows = [{"metric": metric, "value": float(per_ex[mask].mean()), "n_examples": int(mask.sum()), "phenomenon": name}
            for name, mask in subsets.items() if mask.any()]
    if task.kind == "token" and any(lab.startswith("B-") for lab in task.labels):
        names = task.labels
        gold = [[names[t] for t in tags] for tags in df["tags"]]
        hyp = [[names[t] for t in _align(p, len(g))] for p, g in zip(pred, gold)]
        rows.append({"metric": "span_f1", "value": float(f1_score(gold, hyp)), "n_examples": len(df), "phenomenon": "all"})
    preds = pd.DataFrame({
        "example_id": df["id"].to_numpy(),
        "label": df["label"].to_numpy() if task.kind != "token" else -1,
        "pred": np.asarray(pred) if task.kind != "token" else -1,
        "correct": per_ex,
        "phenomena": phen.map(lambda ph: ",".join(ph)),
    })
    return pd.DataFrame(rows), preds
