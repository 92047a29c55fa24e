"""Parameters: experiment files and their grids, the composed parameter groups, what is
refused before any work starts, and the cache keys (pinned for this version)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xltkit.analysis.params import AnalysisParams
from xltkit.core.params import ParamsError
from xltkit.pipeline.experiment import load_experiment
from xltkit.pipeline.graph import chain, key, run_id
from xltkit.pipeline.params import FIELD_GROUP, GROUPS, RunParams

GOLDEN = Path(__file__).with_name("golden_keys.json")


def write(tmp_path, doc) -> str:
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


BASE = {"experiment": "t", "shared": {"langs": ["lab_eng", "lab_fin"]},
        "grid": {"intermediate_lang": ["none", "lab_fin"], "seed": [0, 1]}}


def test_grid_expands_to_the_product_and_joins_lists(tmp_path):
    assert len(load_experiment(write(tmp_path, BASE)).runs()) == 4
    doc = {**BASE, "grid": [BASE["grid"], {"model": ["lab-bert-untrained"], "seed": [0, 1]}]}
    runs = load_experiment(write(tmp_path, doc)).runs()
    assert len(runs) == 6 and len({run_id(r) for r in runs}) == 6
    assert all(r.evaluation.run_dir.endswith(run_id(r)) for r in runs)


def test_duplicate_grid_points_are_refused_naming_both(tmp_path):
    doc = {**BASE, "grid": [{"seed": [0]}, {"seed": [0, 1]}]}  # the same run twice: a mistake in the file
    with pytest.raises(ParamsError, match=r"grid points \{'seed': 0\} and \{'seed': 0\} are the same run"):
        load_experiment(write(tmp_path, doc))
    assert len(load_experiment(write(tmp_path, {**BASE, "grid": [{"seed": [0]}, {"seed": [1]}]})).runs()) == 2


@pytest.mark.parametrize("change, needle", [
    ({"shared": {"learning_rate": 1}}, "unknown key 'learning_rate'"),
    ({"shared": {"finetune_step": 3}}, "did you mean 'finetune_steps'"),
    ({"grid": {"seed": ["zero"]}}, "seed: Input should be a valid integer"),
    ({"grid": {"seed": [-1]}}, "seed: Input should be greater than or equal to 0"),
    ({"grid": {"seed": [2**32]}}, "seed: Input should be less than or equal to 4294967295"),
    ({"grid": {"intermediate_lang": ["lab_xyz"]}}, "allowed: none, lab_eng, lab_fin"),
    ({"shared": {"langs": ["lab_eng", "eng"]}}, "unknown lab language 'eng'; allowed: lab_eng"),
    ({"shared": {"langs": ["lab_eng"], "target_task": "xnlj"}}, "unknown task 'xnlj' (did you mean 'xnli'?); allowed: anim"),
    ({"shared": {"langs": ["lab_eng"], "model": "bert"}}, "allowed: lab-bert, lab-bert-untrained"),
    ({"grid": {"seed": 3}}, "must be a non-empty list"),
    ({"workerz": 2}, "unknown key 'workerz'"),
    ({"analysis": {"n_bootstrap": 10}}, "unknown key 'n_bootstrap'"),
    ({"shared": {"langs": ["lab_eng", "lab_fin"], "model": "rule-bow"}}, "takes no intermediate"),
    ({"shared": {"langs": ["lab_eng"], "hidden_size": 30, "num_heads": 4}}, "multiple of num_heads"),
    ({"shared": {"run_dir": "x"}}, "'run_dir' is set by the runner"),
    ({"grid": {"experiment": ["x"]}}, "'experiment' is set by the runner"),
    ({"shared": {"lr_scheduler": "cosinus"}}, "unknown lr_scheduler 'cosinus'; allowed: linear, cosine"),
    ({"shared": {"model": "rule-overlap"}, "grid": {"seed": [0]}}, "does not apply to task 'anim'"),
    ({"shared": {"model": "rule-bow", "noise": "code-switch", "noise_scale": 0.3}, "grid": {"seed": [0]}},
     "is fitted, not trained: it takes no noise"),
    ({"shared": {"warmup_steps": 5, "warmup_ratio": 0.2}}, "are both set"),
    ({"shared": {"eval_every": 50, "finetune_steps": 20}}, "eval_every=50 is more than finetune_steps=20"),
    ({"shared": {"eval_langs": []}}, "eval_langs is empty"),
    ({"shared": {"precision": "fp8"}}, "precision: Input should be 'fp32', 'bf16' or 'fp16'"),
])
def test_bad_input_is_refused_naming_key_and_allowed_values(tmp_path, change, needle):
    doc = {**BASE, **change}
    with pytest.raises(ParamsError, match=re.escape(needle)) as e:
        load_experiment(write(tmp_path, doc))
    assert "did you mean 'run_dir'" not in str(e.value) and "did you mean 'experiment'" not in str(e.value)


def test_keys_the_runner_sets_are_not_offered_as_allowed(tmp_path):
    with pytest.raises(ParamsError) as e:
        load_experiment(write(tmp_path, {**BASE, "shared": {"rundir": "x"}}))
    allowed = str(e.value).split("allowed keys: ")[1].split(", ")
    assert "run_dir" not in allowed and "experiment" not in allowed and "seed" in allowed


def test_missing_params_file_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "run", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "params file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_outputs_folder_moves_the_cache_unless_the_file_sets_one(tmp_path):
    exp = load_experiment(write(tmp_path, BASE), outputs=tmp_path / "elsewhere")
    runs = exp.runs(tmp_path / "elsewhere")
    assert {r.run.cache_dir for r in runs} == {str(tmp_path / "elsewhere" / "cache")}
    assert all(r.evaluation.run_dir.startswith(str(tmp_path / "elsewhere" / "t" / "runs")) for r in runs)
    own = load_experiment(write(tmp_path, {**BASE, "shared": {**BASE["shared"], "cache_dir": "/c"}}))
    assert {r.run.cache_dir for r in own.runs(tmp_path / "x")} == {"/c"}
    assert run_id(runs[0]) == run_id(own.runs(tmp_path / "x")[0])  # where the cache is never changes a key


def test_flat_keys_go_to_their_groups_and_come_back():
    r = RunParams(seed=3, langs=["lab_eng", "lab_fin"], finetune_lr=1e-4, adv_steps=2)
    assert (r.training.seed, r.lab.langs, r.target.finetune_lr, r.noise_knobs.adv_steps) == \
        (3, ["lab_eng", "lab_fin"], 1e-4, 2)
    assert RunParams(**r.flat()) == r and set(r.flat()) == set(FIELD_GROUP)
    assert all(f not in GROUPS for f in FIELD_GROUP)  # a key is never also a group's name


def test_cache_keys_ignore_what_a_stage_does_not_use():
    assert key("pretrain", RunParams(model="lab-bert-untrained", pretrain_steps=10)) == \
        key("pretrain", RunParams(model="lab-bert-untrained", pretrain_steps=99))  # the control does not pretrain
    assert key("pretrain", RunParams(pretrain_steps=10)) != key("pretrain", RunParams(pretrain_steps=99))
    assert key("pretrain", RunParams(n_test=10)) == key("pretrain", RunParams(n_test=99))
    assert key("finetune", RunParams(n_test=10)) == key("finetune", RunParams(n_test=99))
    # a baseline run does not depend on the intermediate task it does not train
    assert run_id(RunParams(intermediate_task="pos")) == run_id(RunParams(intermediate_task="roles"))
    assert run_id(RunParams(intermediate_lang="lab_fin")) != run_id(RunParams(intermediate_lang="lab_hun"))
    assert run_id(RunParams(cache_dir="/a", threads=2)) == run_id(RunParams(cache_dir="/b"))
    assert run_id(RunParams(seed=0)) != run_id(RunParams(seed=1))
    # a rule is fitted, not trained: the training settings are not part of the fit, and its seeds share it,
    # but each seed stays a run of its own (the seed is a column of its results)
    rules = [RunParams(model="rule-bow", seed=0, finetune_lr=1), RunParams(model="rule-bow", seed=5)]
    assert key("finetune", rules[0]) == key("finetune", rules[1]) and run_id(rules[0]) != run_id(rules[1])
    # the corpus sizes and the tokenizer's vocabulary are not part of what a rule on a lab task reads
    assert run_id(RunParams(model="rule-bow", sentences_high=99)) == run_id(RunParams(model="rule-bow"))
    assert run_id(RunParams(model="rule-bow", lab_seed=1)) != run_id(RunParams(model="rule-bow"))
    # every training setting researchers expect is part of the training stages' keys
    for k, v in [("warmup_ratio", 0.0), ("weight_decay", 0.0), ("lr_scheduler", "cosine"), ("max_grad_norm", 0.5),
                 ("gradient_accumulation_steps", 2), ("eval_every", 10), ("finetune_epochs", 2.0)]:
        assert key("finetune", RunParams(**{k: v})) != key("finetune", RunParams()), k
    # the warm-up ratio means nothing once warm-up steps are given (and giving both is refused)
    assert "warmup_ratio" not in RunParams(warmup_steps=3).training.canonical()


def _golden_runs() -> dict[str, RunParams]:
    return {
        "lab-bert, intermediate roles in lab_fin": RunParams(intermediate_lang="lab_fin"),
        "lab-bert, code-switching": RunParams(noise="code-switch", noise_scale=0.3),
        "lab-bert, adversarial nli": RunParams(target_task="nli", noise="adv", noise_scale=0.1, adv_steps=3),
        "untrained control": RunParams(model="lab-bert-untrained"),
        "bag-of-words rule": RunParams(model="rule-bow"),
        "hub encoder": RunParams(model="hf:xlm-roberta-base", revision="abc123", target_task="pos"),
    }


def golden_keys() -> dict[str, dict[str, str]]:
    """Every stage key of a few representative runs (``python tests/test_config.py`` rewrites the file)."""
    return {name: {n.stage.name: n.key for n in chain(r)} for name, r in _golden_runs().items()}


def test_cache_keys_are_the_pinned_ones_of_this_version():
    """An accidental key change (a field moved between groups, a default changed, a task
    edited) fails here instead of silently reusing or rebuilding work.  A deliberate one
    regenerates the file and says why in the commit."""
    from xltkit import __version__

    pinned = json.loads(GOLDEN.read_text())
    assert pinned["xltkit"] == __version__, "new version: regenerate tests/golden_keys.json"
    assert golden_keys() == pinned["keys"], "cache keys changed: if on purpose, run python tests/test_config.py"


def test_demo_params_validate(repo):
    exp = load_experiment(repo / "params" / "demo.yaml")
    runs = exp.runs()
    inter = {r.intermediate.intermediate_lang for r in runs if r.encoder.model == "lab-bert"}
    assert inter == {"none", "lab_eng", "lab_fin", "lab_hun"}
    assert len({r.training.seed for r in runs}) >= 3
    assert {"lab-bert-untrained", "rule-bow"} <= {r.encoder.model for r in runs}
    assert isinstance(exp.analysis_params(), AnalysisParams)


if __name__ == "__main__":
    from xltkit import __version__

    GOLDEN.write_text(json.dumps({"xltkit": __version__, "keys": golden_keys()}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
