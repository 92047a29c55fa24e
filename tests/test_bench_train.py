"""Training throughput (issue #14): ``benchmarks/bench_train.py`` writes the rows run_all.py reads,
and the speed-ups of xltkit's training path change no number (the same batches in the same
order, the same losses and weights as the Trainer's own code)."""

from __future__ import annotations

import copy
import functools
import json
import math

import pytest
import torch
from datasets import Dataset
from transformers import Trainer

from conftest import REPO

LANGS = ["lab_eng", "lab_fin"]


@pytest.fixture(scope="module")
def lab_data():
    from xltkit.lab import Lab
    from xltkit.modeling.tokenization import train_tokenizer

    lab = Lab(LANGS, lab_seed=0)
    texts = [s for c in LANGS for s in lab.corpus(c, 200)]
    return lab, texts, train_tokenizer(texts, 200, 48)


def test_bench_train_writes_positive_finite_rows(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import bench_train

    monkeypatch.setattr(bench_train, "XLMR_SMALL", dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                          intermediate_size=64))
    out = tmp_path / "train.json"
    got = bench_train.main(["--steps", "5", "--skip", "1", "--repeats", "1", "--rows", "160", "--batch-size", "16",
                            "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["benchmark"] == "bench_train" and data["rows"] == got["rows"]
    rows = data["rows"]
    assert len(rows) == 6  # (lab, small XLM-R) x (steady, end to end), naive loop, max-length padding
    for r in rows:
        assert {"name", "baseline", "ratio_median", "ratio_min", "ratio_max", "floor", "unit", "value", "notes"} <= set(r)
        for k in ("ratio_median", "ratio_min", "ratio_max", "value"):
            assert isinstance(r[k], float) and math.isfinite(r[k]) and r[k] > 0, (r["name"], k, r[k])
        assert r["ratio_min"] <= r["ratio_median"] <= r["ratio_max"]
    floors = [r for r in rows if r["floor"] is not None]
    assert len(floors) == 4 and all(r["floor"] == 0.95 and r["baseline"] == "plain PyTorch loop" for r in floors)
    grouped, maxpad = (next(r for r in rows if key in r["baseline"]) for key in ("naive", "max_length"))
    assert "padding share" in grouped["notes"] and "padding share" in maxpad["notes"]
    # both paths trained on the same batches: the same non-pad tokens at every step
    assert all("same batches" in r["notes"] for r in floors), [r["notes"] for r in floors]


def test_length_grouped_sampler_reads_lengths_from_arrow_in_the_trainers_order(tmp_path):
    from xltkit.modeling.params import TrainingParams
    from xltkit.modeling.trainer import NoisyTrainer, input_lengths
    from xltkit.modeling.training import training_arguments

    rows = [[1] * (1 + (i * 7919) % 45) for i in range(600)]
    ds = Dataset.from_dict({"input_ids": rows, "labels": [i % 2 for i in range(600)]})
    for d in (ds, ds.shuffle(seed=3), ds.select(range(5, 500, 4))):
        assert input_lengths(d) == [len(r["input_ids"]) for r in d]
    mc = Dataset.from_dict({"input_ids": [[[1, 2], [3]], [[1]] * 3]})  # multiple choice: rows of choices
    assert input_lengths(mc) == [2, 3]
    assert input_lengths(ds, "absent") is None and input_lengths(rows) is None

    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=8))
    args = training_arguments(str(tmp_path), 10, 1e-3, TrainingParams(batch_size=16, seed=0))
    trainer = NoisyTrainer(model=model, args=args, train_dataset=ds.shuffle(seed=1))
    with_length = ds.add_column("length", [(7 * i) % 13 for i in range(600)])  # a length column kept: read as is
    for d in (None, with_length):
        orders = []
        for get in (trainer._get_train_sampler, functools.partial(Trainer._get_train_sampler, trainer)):
            torch.manual_seed(0)
            s = get(d)
            orders.append((s.lengths, list(s), list(s)))  # two epochs
        assert orders[0] == orders[1]


def test_fast_padding_gives_the_collators_batches(lab_data):
    from transformers import DataCollatorForLanguageModeling, DataCollatorForMultipleChoice, DataCollatorWithPadding

    from xltkit.modeling.heads import get_head
    from xltkit.modeling.tiny import xlmr_tokenizer
    from xltkit.modeling.training import FastPadding, fast_padding
    from xltkit.tasks import get_task

    lab, texts, tok = lab_data
    for t in (tok, xlmr_tokenizer(texts, 200, 48)):
        for name in ("anim", "nli", "roles"):  # sequence, pair (segment ids), token (labels padded with -100)
            task = get_task(name)
            head = get_head(task.head)
            enc = head.encode(t, Dataset.from_pandas(task.make(lab, "lab_eng", "train", 90), preserve_index=False))
            rows = enc.remove_columns([c for c in enc.column_names if c in ("length", "word_index")]).to_list()
            for multiple in (8, None):
                slow = head.collator(t, pad_to_multiple_of=multiple)
                fast = fast_padding(slow)
                assert isinstance(fast, FastPadding)
                for i in range(0, 90, 23):
                    a, b = slow(rows[i:i + 23]), fast(rows[i:i + 23])
                    assert set(a) == set(b)
                    for k in a:
                        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), (name, k)
    left = copy.deepcopy(tok)
    left.padding_side = "left"
    others = (DataCollatorForLanguageModeling(tok), DataCollatorForMultipleChoice(tok), DataCollatorWithPadding(left),
              DataCollatorWithPadding(tok, padding="max_length", max_length=48))
    for other in others:  # collators it does not copy are left alone
        assert fast_padding(other) is other


def _train(monkeypatch, lab_data, tmp_path, fast: bool, task_name: str, noise=None, accumulation: int = 1):
    from xltkit.modeling import trainer as trainer_module
    from xltkit.modeling import training
    from xltkit.modeling.heads import get_head
    from xltkit.modeling.params import TrainingParams
    from xltkit.modeling.pretraining import lab_bert
    from xltkit.tasks import get_task

    lab, _, tok = lab_data
    with monkeypatch.context() as m:
        if not fast:  # the Trainer's own sampler, FLOP count, collation and garbage collection
            NT = trainer_module.NoisyTrainer
            m.setattr(NT, "_get_train_sampler", Trainer._get_train_sampler)
            m.setattr(NT, "floating_point_ops", Trainer.floating_point_ops)
            m.setattr(NT, "_forget_prepared", lambda self, *o: type(self.accelerator).free_memory(self.accelerator, *o))
            m.setattr(training, "fast_padding", lambda c: c)
        task = get_task(task_name)
        head = get_head(task.head)
        folder = tmp_path / "encoder"
        if not folder.exists():
            torch.manual_seed(0)
            lab_bert(len(tok), 32, 1, 2, 48).save_pretrained(str(folder))
        torch.manual_seed(0)
        model = head.model(folder, len(task.labels))
        frame = task.make(lab, "lab_eng", "train", 120)
        job = training.TrainJob(steps=12, lr=1e-3, desc="t", freeze_embeddings=True, noise=noise,
                                training=TrainingParams(batch_size=8, seed=1, gradient_accumulation_steps=accumulation))
        stats = training.train_task(model, tok, frame, task, head, job)
    return stats["loss_curve"], model.state_dict()


@pytest.mark.parametrize("task_name, accumulation, noise", [("anim", 1, None), ("roles", 2, "rs-rp"), ("nli", 1, None)])
def test_speedups_keep_losses_and_weights_identical(monkeypatch, lab_data, tmp_path, task_name, accumulation, noise):
    from xltkit.modeling.noise.config import NoiseConfig

    cfg = NoiseConfig(noise, 0.1) if noise else None
    losses_old, weights_old = _train(monkeypatch, lab_data, tmp_path, False, task_name, cfg, accumulation)
    losses_new, weights_new = _train(monkeypatch, lab_data, tmp_path, True, task_name, cfg, accumulation)
    assert len(losses_old) == 12 and losses_new == losses_old  # exact floats, step by step
    assert weights_new.keys() == weights_old.keys()
    assert all(torch.equal(weights_new[k], weights_old[k]) for k in weights_old)


def test_the_speedups_are_in_use(lab_data, tmp_path):
    """The comparison above means something only if the new code runs: the sampler never formats a row."""
    from xltkit.modeling.params import TrainingParams
    from xltkit.modeling.trainer import NoisyTrainer
    from xltkit.modeling.training import training_arguments

    class NoRows(Dataset):
        def __getitem__(self, key):
            if isinstance(key, int):
                raise AssertionError("a row was formatted to measure its length")
            return super().__getitem__(key)

    base = Dataset.from_dict({"input_ids": [[1] * (1 + i % 9) for i in range(64)], "labels": [0] * 64})
    ds = NoRows(base.data, fingerprint=base._fingerprint)
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=8))
    trainer = NoisyTrainer(model=model, args=training_arguments(str(tmp_path), 4, 1e-3, TrainingParams(batch_size=8)),
                           train_dataset=ds)
    assert len(list(trainer._get_train_sampler(ds))) == 64
    with pytest.raises(AssertionError, match="formatted"):
        Trainer._get_train_sampler(trainer, ds)
    x = {"input_ids": torch.ones(4, 16, dtype=torch.long)}
    assert trainer.floating_point_ops(x) == Trainer.floating_point_ops(trainer, x) > 0
    assert trainer.accelerator.free_memory == trainer._forget_prepared
