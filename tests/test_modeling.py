"""Modeling: metrics, heads, the training settings, diverging runs, and encoders from the hub
(here: a local folder in the hub's layout, as `hf:<path>` loads it)."""

import math

import numpy as np
import pandas as pd
import pytest

from xltkit.modeling.metrics import NO_PREDICTION, get_metric, score
from xltkit.modeling.params import TrainingParams
from xltkit.pipeline import graph, stages
from xltkit.pipeline.params import RunParams
from xltkit.tasks import get_task


def _tag_frame(tags):
    return pd.DataFrame({"id": range(len(tags)), "words": [["w"] * len(t) for t in tags], "tags": tags,
                         "phenomena": [[] for _ in tags]})


def test_token_accuracy_is_the_share_of_correct_words_not_a_mean_of_sentences():
    pos = get_task("pos")
    gold = [[0] * 10, [1]]
    pred = [[0] * 10, [0]]  # the one-word sentence is wrong: 10 of 11 words right
    m, p = score(pos, _tag_frame(gold), pred)
    assert m[m.phenomenon == "all"].value.iloc[0] == pytest.approx(10 / 11)  # not (1.0 + 0.0) / 2 = 0.5
    assert list(p.num) == [10, 0] and list(p.den) == [10, 1]


def test_a_word_without_a_prediction_is_wrong_not_the_first_label():
    pos = get_task("pos")  # label 0 is NOUN: padding with 0 used to score NOUNs as right
    gold = [[0, 0, 1], [0, 0]]
    m, _ = score(pos, _tag_frame(gold), [[], []])
    assert m.value.iloc[0] == 0.0
    m, _ = score(pos, _tag_frame(gold), [[0], [0, 0]])  # the first sentence truncated after one word
    assert m.value.iloc[0] == pytest.approx(3 / 5)
    roles = get_task("roles")  # for spans a missing word reads as outside every span
    spans = [[1, 2, 0, 5, 3]]
    m, _ = score(roles, _tag_frame(spans), [[1, 2, 0]])
    f1 = m[m.metric == "span_f1"].value.iloc[0]
    assert f1 == pytest.approx(2 * 1 / (3 + 1))  # AGENT found; VERB and PATIENT (truncated) missed; none spurious


def test_misaligned_predictions_are_refused_with_a_message():
    pos = get_task("pos")
    with pytest.raises(ValueError, match="3 predictions for 2 examples"):
        score(pos, _tag_frame([[0], [0]]), [[0], [0], [0]])
    with pytest.raises(ValueError, match="example 1: 3 word predictions for a sentence of 2 words"):
        score(pos, _tag_frame([[0], [0, 0]]), [[0], [0, 0, 0]])
    anim = get_task("anim")
    with pytest.raises(ValueError, match="1 predictions for 2 examples"):
        score(anim, pd.DataFrame({"id": [0, 1], "words": [["a"], ["b"]], "label": [0, 1]}), [0])


def test_span_f1_is_seqeval_micro_f1():
    from seqeval.metrics import f1_score

    roles = get_task("roles")
    rng = np.random.default_rng(0)
    gold = [list(rng.integers(0, 6, size=rng.integers(1, 9))) for _ in range(200)]
    pred = [[t if rng.random() < 0.7 else int(rng.integers(0, 6)) for t in g] for g in gold]
    names = roles.labels
    want = f1_score([[names[t] for t in g] for g in gold], [[names[t] for t in p] for p in pred])
    assert get_metric("span_f1").value(roles, gold, pred) == pytest.approx(want, abs=1e-12)
    assert NO_PREDICTION not in range(len(names))


def test_warmup_reproduces_a_tenth_of_the_steps_and_settings_reach_the_trainer(tmp_path):
    from xltkit.modeling.training import training_arguments

    t = TrainingParams()
    assert all(t.warmup(n) == max(1, n // 10) for n in range(1, 5001))  # the lab's schedule since 0.1
    assert TrainingParams(warmup_ratio=0).warmup(300) == 0 and TrainingParams(warmup_steps=7).warmup(300) == 7
    xtreme = TrainingParams(batch_size=8, gradient_accumulation_steps=4, warmup_ratio=0.0, weight_decay=0.0,
                            lr_scheduler="linear", max_grad_norm=1.0, eval_every=100)
    a = training_arguments(str(tmp_path), 1000, 2e-5, xtreme, metric=("accuracy", True))
    assert (a.learning_rate, a.warmup_steps, a.weight_decay, a.gradient_accumulation_steps) == (2e-5, 0, 0.0, 4)
    assert a.load_best_model_at_end and a.metric_for_best_model == "accuracy" and a.eval_steps == 100
    assert not a.logging_nan_inf_filter  # a non-finite loss must be seen, not averaged away
    c = training_arguments(str(tmp_path), 50, 1e-3, TrainingParams(lr_scheduler="cosine", max_grad_norm=0.5))
    assert c.lr_scheduler_type.value == "cosine" and c.max_grad_norm == 0.5 and c.warmup_steps == 5
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        training_arguments(str(tmp_path), 10, 1e-3, TrainingParams(precision="bf16"))


def test_a_diverging_run_fails_naming_the_stage_the_step_and_the_learning_rate(tiny_params):
    from xltkit.modeling.trainer import NonFiniteLossError

    run = RunParams(**tiny_params(finetune_lr=1e6, finetune_steps=30))
    with pytest.raises(NonFiniteLossError, match=r"finetune anim/lab_eng: non-finite .* at step \d+ of 30, "
                                                 r"learning rate .*peak 1e\+06"):
        stages.ensure("finetune", run)
    assert not any(p.name.startswith(graph.key("finetune", run)) for p in
                   (graph.output_dir(graph.chain(run)[2], run).parent).glob("*"))  # nothing cached as finished


def test_best_checkpoint_on_the_source_dev_set(tiny_params, tmp_path):
    from xltkit.core.io import read_json

    run = RunParams(**tiny_params(eval_every=5, finetune_steps=10, run_dir=str(tmp_path / "r")))
    stats = read_json(stages.ensure("finetune", run) / "stats.json")
    assert [e["step"] for e in stats["dev_curve"]] == [5, 10]
    assert stats["best_metric"] == max(e["eval_accuracy"] for e in stats["dev_curve"])


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory):
    """A tiny encoder saved as a hub repository is (config, weights, tokenizer), built from a
    config with a tokenizer trained on lab text: what `hf:<path>` loads with from_pretrained."""
    from transformers import BertConfig, BertModel

    from xltkit.lab import Lab
    from xltkit.modeling.tokenization import train_tokenizer

    lab = Lab(["lab_eng", "lab_fin", "lab_tur"])
    tok = train_tokenizer([s for c in lab.langs for s in lab.corpus(c, 300)], 300, 64)
    import torch

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64, max_position_embeddings=64, type_vocab_size=2))
    path = tmp_path_factory.mktemp("hub") / "tiny-bert"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_hub_encoder_runs_without_the_labs_stages(hub_folder, tiny_params, tmp_path, monkeypatch):
    from xltkit.modeling import heads

    seen = []
    real = heads.Head.model

    def spy(self, source, num_labels, **kw):
        seen.append(kw)
        return real(self, source, num_labels, **kw)

    monkeypatch.setattr(heads.Head, "model", spy)
    run = RunParams(**tiny_params(model=f"hf:{hub_folder}", target_task="pos", intermediate_lang="lab_fin",
                                  run_dir=str(tmp_path / "r")))
    assert [n.stage.name for n in graph.chain(run)] == ["intermediate", "finetune", "evaluate"]
    m = stages.ensure("evaluate", run)
    assert set(m.metric) == {"token_accuracy"} and set(m.eval_lang) == {"lab_eng", "lab_fin", "lab_tur"}
    assert seen[0] == {"revision": None, "trust_remote_code": False}  # remote code stays off unless asked
    assert seen[1] == {"trust_remote_code": False}  # this run's own intermediate folder: no revision to pin
    other = RunParams(**tiny_params(model=f"hf:{hub_folder}", revision="v2", target_task="pos"))
    plain = RunParams(**tiny_params(model=f"hf:{hub_folder}", target_task="pos"))
    assert graph.run_id(other) != graph.run_id(plain)
    before = graph.run_id(plain)
    (hub_folder / "config.json").write_text((hub_folder / "config.json").read_text().replace("32", "32 "))
    assert graph.run_id(plain) != before  # another encoder at the same path is another run
