"""Which hub commits a table's cells pool (xltkit.analysis.commits), on tables written by hand."""

import pandas as pd

from xltkit.analysis.commits import CONDITION_KEYS, commit_notes, with_commits

A, B = "a" * 40, "b" * 40


def _results(commits: dict[tuple[str, int], str]) -> pd.DataFrame:
    """One row per (intermediate language, seed): an xnli run from English, at the commit given."""
    return pd.DataFrame([dict(run_id=f"{lang}-{seed}", model="hf:xlm-roberta-base", target_task="xnli",
                              source_lang="eng", noise="none", noise_scale=0.0, noise_setting="none",
                              intermediate_task="none" if lang == "none" else "siqa", intermediate_lang=lang,
                              intermediate_noise_setting="none", seed=seed, eval_lang="deu", model_commit=commit)
                         for (lang, seed), commit in commits.items()])


def test_a_gain_over_a_baseline_of_other_weights_is_marked_though_each_condition_is_one_commit():
    res = _results({("none", 0): A, ("none", 1): A, ("eng", 0): B, ("eng", 1): B})
    assert commit_notes(res, CONDITION_KEYS) == []  # each condition has one commit
    gains = res[res.intermediate_lang == "eng"].drop_duplicates(CONDITION_KEYS).assign(baseline="none")
    marked = with_commits(gains, res, CONDITION_KEYS, baseline=gains["baseline"])
    assert marked.model_commits.tolist() == [f"{A}, {B}"] and marked.mixed_model_commits.all()
    per_seed = res[res.intermediate_lang == "eng"]  # each seed's gain over the same seed's baseline
    seeds = with_commits(per_seed, res, CONDITION_KEYS + ["seed"], baseline=pd.Series("none", index=per_seed.index))
    assert seeds.model_commits.tolist() == [f"{A}, {B}"] * 2 and seeds.mixed_model_commits.all()


def test_a_run_without_a_recorded_commit_beside_recorded_ones_is_named_and_a_lab_table_is_quiet():
    res = _results({("none", 0): A, ("none", 1): None, ("none", 2): A})
    (note,) = commit_notes(res, CONDITION_KEYS, label=lambda cell: cell["model"])
    assert note.startswith(f"hf:xlm-roberta-base pools runs of different hub weights, model_commit {A} (seeds 0, 2); "
                           "unrecorded (seed 1): a run recorded none")
    lab = _results({("none", 0): "", ("none", 1): ""}).assign(model="lab-bert")
    old = lab.drop(columns="model_commit")  # a table from before the column
    for table in (lab, old):
        scores = with_commits(table.drop_duplicates(CONDITION_KEYS), table, CONDITION_KEYS)
        assert commit_notes(table, CONDITION_KEYS) == [] and scores.model_commits.tolist() == [""]
        assert not scores.mixed_model_commits.any()
