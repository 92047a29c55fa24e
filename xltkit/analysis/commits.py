"""Which hub weights a table's numbers come from, and where one cell pools several.

A hub encoder named without a pinned ``revision`` (the real grids' ``revision: null``) is read
at the hub's default branch, which moves: seeds trained before and after an upload are runs of
two encoders, and pooling them as one condition hides it.  Every results row carries
``model_commit`` (:data:`xltkit.core.results.MODEL_COLUMNS`): the commit of the hub snapshot its
run's chain started from, "" where there is none (a lab model, a rule, a local folder) or none
was recorded (a run from before xltkit recorded it, or a table without the column).

A cell *pools several commits* when its runs differ in ``model_commit``; a run that recorded
none counts as a value of its own ("unrecorded") beside runs that recorded one, since nothing
says it read the same weights.  :func:`with_commits` marks the cells of a table
(``model_commits``, ``mixed_model_commits``); :func:`commit_notes` words the warnings.

Example::

    >>> scores = with_commits(scores, results, CONDITION_KEYS)
    >>> notes += commit_notes(results, CONDITION_KEYS)
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from xltkit.analysis.gains import CELL_KEYS, INTER_KEYS

COLUMN = "model_commit"
UNRECORDED = "unrecorded"
#: one condition of the analysis: a model trained one way, its seeds and evaluation languages pooled
CONDITION_KEYS = CELL_KEYS + INTER_KEYS


def run_commits(results: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per run: ``run_id`` (where the table has it), ``keys``, ``seed`` and its ``model_commit``
    ("" where none)."""
    r = results if COLUMN in results.columns else results.assign(**{COLUMN: ""})  # a table from before it
    cols = list(dict.fromkeys([*(["run_id"] if "run_id" in r.columns else []), *keys, "seed", COLUMN]))
    runs = r[cols].assign(**{COLUMN: r[COLUMN].fillna("").astype(str)})
    return runs.drop_duplicates("run_id" if "run_id" in cols else cols)


def _by_cell(results: pd.DataFrame, keys: list[str]) -> dict[tuple, dict[str, list]]:
    """Cell (the values of ``keys``) -> commit -> the seeds of its runs at that commit."""
    out: dict[tuple, dict[str, list]] = {}
    for key, g in run_commits(results, keys).groupby(keys, dropna=False, sort=True):
        out[key if isinstance(key, tuple) else (key,)] = {
            c: sorted(s.seed.unique().tolist()) for c, s in g.groupby(COLUMN, sort=True)}
    return out


def _words(commits) -> str:
    return ", ".join(sorted(c or UNRECORDED for c in commits)) if set(commits) - {""} else ""


def _baseline_cell(cell: dict, baseline: str) -> dict:
    """The cell of a gain's baseline runs: the intermediate language ``baseline`` ("none": no
    intermediate training at all), as :func:`xltkit.analysis.gains.gain_table` matches them."""
    base = {**cell, "intermediate_lang": baseline}
    if baseline == "none":
        base.update(intermediate_task="none", intermediate_noise_setting="none")
    return base


def with_commits(table: pd.DataFrame, results: pd.DataFrame, keys: list[str],
                 baseline: pd.Series | None = None) -> pd.DataFrame:
    """``table`` with ``model_commits`` (the hub commits of the runs each row pools, "" where none
    recorded any) and ``mixed_model_commits`` (more than one).  Each row's runs are those of
    ``results`` with its values of ``keys``, and, where ``baseline`` gives a row an intermediate
    language (a gain), those of its baseline too: a gain over runs of other weights is no gain."""
    if table.empty:
        return table.assign(model_commits=pd.Series(dtype=str), mixed_model_commits=pd.Series(dtype=bool))
    cells = _by_cell(results, keys)
    names, mixed = [], []
    for i, row in enumerate(table[keys].to_dict("records")):
        commits = set(cells.get(tuple(row[k] for k in keys), {}))
        if baseline is not None:
            base = _baseline_cell(row, baseline.iloc[i])
            commits |= set(cells.get(tuple(base[k] for k in keys), {}))
        names.append(_words(commits))
        mixed.append(len(commits) > 1)
    return table.assign(model_commits=names, mixed_model_commits=mixed)


def _label(cell: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in cell.items())


def commit_notes(results: pd.DataFrame, keys: list[str],
                 label: Callable[[dict], str] | None = None) -> list[str]:
    """One warning per cell of ``keys`` whose runs started from different hub weights, naming each
    commit with the seeds at it; ``label`` words a cell (default: ``key=value, ...``)."""
    notes = []
    for key, commits in _by_cell(results, keys).items():
        if len(commits) < 2:
            continue
        at = "; ".join(f"{c or UNRECORDED} (seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))})"
                       for c, s in sorted(commits.items(), key=lambda kv: kv[0] or UNRECORDED))
        why = ("a run recorded none (from before xltkit recorded model_commit, or the hub cache did not say)"
               if "" in commits else "the runs name different revisions, or one names a branch (revision: null "
               "reads the default one) that moved between them")
        notes.append(f"{(label or _label)(dict(zip(keys, key)))} pools runs of different hub weights, model_commit "
                     f"{at}: {why}; pin revision to one commit and rerun the other seeds")
    return notes
