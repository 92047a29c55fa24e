import subprocess
import sys

import pytest
import yaml

from xltkit.config import (
    AnalysisParams,
    EvaluateParams,
    ParamsError,
    PretrainParams,
    load_experiment,
)


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
    assert len(runs) == 6 and len({r.run_id() for r in runs}) == 6
    assert all(r.run_dir.endswith(r.run_id()) for r in runs)


def test_duplicate_grid_points_give_one_run(tmp_path):
    doc = {**BASE, "grid": [{"seed": [0]}, {"seed": [0, 1]}]}
    assert len(load_experiment(write(tmp_path, doc)).runs()) == 2


@pytest.mark.parametrize("change, needle", [
    ({"shared": {"learning_rate": 1}}, "unknown key 'learning_rate'"),
    ({"shared": {"finetune_step": 3}}, "did you mean 'finetune_steps'"),
    ({"grid": {"seed": ["zero"]}}, "seed: Input should be a valid integer"),
    ({"grid": {"intermediate_lang": ["lab_xyz"]}}, "allowed: none, lab_eng, lab_fin"),
    ({"shared": {"langs": ["lab_eng", "eng"]}}, "unknown lab language 'eng'; allowed: lab_eng"),
    ({"shared": {"langs": ["lab_eng"], "target_task": "xnli"}}, "unknown task 'xnli'; allowed: anim"),
    ({"shared": {"langs": ["lab_eng"], "model": "bert"}}, "allowed: lab-bert, lab-bert-untrained"),
    ({"grid": {"seed": 3}}, "must be a non-empty list"),
    ({"workerz": 2}, "unknown key 'workerz'"),
    ({"analysis": {"n_bootstrap": 10}}, "unknown key 'n_bootstrap'"),
    ({"shared": {"langs": ["lab_eng", "lab_fin"], "model": "rule-bow"}}, "takes no intermediate"),
    ({"shared": {"langs": ["lab_eng"], "hidden_size": 30, "num_heads": 4}}, "multiple of num_heads"),
])
def test_bad_input_is_refused_naming_key_and_allowed_values(tmp_path, change, needle):
    doc = {**BASE, **change}
    with pytest.raises(ParamsError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_experiment(write(tmp_path, doc))


def test_missing_params_file_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "xltkit.cli", "run", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "params file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cache_keys_ignore_what_a_stage_does_not_use():
    a = PretrainParams(model="lab-bert-untrained", pretrain_steps=10)
    b = PretrainParams(model="lab-bert-untrained", pretrain_steps=99)
    assert a.key() == b.key()  # the untrained control does not pretrain
    assert PretrainParams(pretrain_steps=10).key() != PretrainParams(pretrain_steps=99).key()
    assert PretrainParams(n_test=10).key() == PretrainParams(n_test=99).key()
    # a baseline run does not depend on the intermediate task it does not train
    assert EvaluateParams(intermediate_task="pos").run_id() == EvaluateParams(intermediate_task="roles").run_id()
    assert EvaluateParams(intermediate_lang="lab_fin").run_id() != EvaluateParams(intermediate_lang="lab_hun").run_id()
    assert EvaluateParams(cache_dir="/a").run_id() == EvaluateParams(cache_dir="/b").run_id()
    assert EvaluateParams(seed=0).run_id() != EvaluateParams(seed=1).run_id()


def test_demo_params_validate(repo):
    exp = load_experiment(repo / "params" / "demo.yaml")
    runs = exp.runs()
    inter = {r.intermediate_lang for r in runs if r.model == "lab-bert"}
    assert inter == {"none", "lab_eng", "lab_fin", "lab_hun"}
    assert len({r.seed for r in runs}) >= 3
    assert {"lab-bert-untrained", "rule-bow"} <= {r.model for r in runs}
    assert isinstance(exp.analysis_params(), AnalysisParams)
