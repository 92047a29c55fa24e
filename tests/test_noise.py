"""Noise injection: training only, inside its bounds, reproducible, and every method trains
on the lab's tiny BERT and on a tiny XLM-R built from its config (no download)."""

import dataclasses
import math

import pandas as pd
import pytest
from datasets import Dataset
from pydantic import ValidationError
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    DataCollatorWithPadding,
    TrainingArguments,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
)

from conftest import TINY_LANGS, TINY_MAX_LEN
from xltkit.core import results
from xltkit.core.io import read_json
from xltkit.core.params import ParamsError
from xltkit.lab import Lab
from xltkit.modeling.heads import get_head
from xltkit.modeling.noise import NOISE_METHODS
from xltkit.modeling.noise.config import NoiseConfig
from xltkit.modeling.noise.embedding import AddPerturbation, EmbeddingNoise, embedding_unit
from xltkit.modeling.noise.resources import embedding_synonyms, read_synonym_table
from xltkit.modeling.noise.tokens import perturb_frame
from xltkit.modeling.params import TrainingParams
from xltkit.modeling.trainer import NoisyTrainer
from xltkit.modeling.training import TrainJob, train_task
from xltkit.pipeline import graph
from xltkit.pipeline.params import RunParams
from xltkit.pipeline.stages import ensure, noise_config
from xltkit.tasks import get_task

MAX_LEN = TINY_MAX_LEN


@pytest.fixture(scope="module")
def roles(lab):
    return get_task("roles").make(lab, "lab_eng", "train", 48)


def bert(tok, labels=2, token=False, dropout=0.1):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=MAX_LEN, num_labels=labels,
                     hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    return (BertForTokenClassification if token else BertForSequenceClassification)(cfg)


def xlmr(tok, labels=2, dropout=0.1):
    """XLM-R's architecture (positions offset by the padding index, its embeddings class), tiny."""
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=MAX_LEN + 2, pad_token_id=tok.pad_token_id,
                           num_labels=labels, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    return XLMRobertaForSequenceClassification(cfg)


def batch(tok, df):
    ds = get_head("sequence").encode(tok, Dataset.from_pandas(df, preserve_index=False)).remove_columns("length")
    return DataCollatorWithPadding(tok)(ds.to_list())


def train(model, tok, df, task, steps, noise=None, batch_size=8, lr=1e-3, seed=0, freeze=True, desc="t"):
    """Train ``model`` on a frame of ``task`` (a registered task's name) through the pipeline's training call."""
    t = get_task(task)
    job = TrainJob(steps=steps, lr=lr, training=TrainingParams(batch_size=batch_size, seed=seed), desc=desc,
                   freeze_embeddings=freeze, noise=noise)
    return train_task(model, tok, df, t, get_head(t.head), job)


def finetune_key(**kw):
    return graph.key("finetune", RunParams(**kw))


def finetune_noise(run: RunParams):
    return noise_config(run, "finetune", run.target_task)


# ---- embedding noise ---------------------------------------------------------------------
@pytest.mark.parametrize("make", [bert, xlmr])
def test_hook_changes_nothing_in_eval_mode_and_is_removable(make, tok, anim):
    model, b = make(tok, dropout=0.0), batch(tok, anim.head(8))
    b.pop("labels")
    model.eval()
    clean = model(**b).logits
    handle = EmbeddingNoise(0.5, seed=0).attach(model)
    assert torch.equal(model(**b).logits, clean)  # eval: bit-identical
    model.train()
    assert not torch.allclose(model(**b).logits, clean)  # train (no dropout): only the noise differs
    handle.remove()
    assert torch.equal(model(**b).logits, clean)


def _delta(scale, distribution="ball", seed=0, shape=(16, 12)):
    emb = torch.nn.Embedding(50, 64)
    torch.nn.init.zeros_(emb.weight)  # the output is the noise itself
    x = torch.randint(0, 50, shape, generator=torch.Generator().manual_seed(1))
    emb.register_forward_hook(EmbeddingNoise(scale, distribution, seed))
    with torch.no_grad():
        return emb(x)  # (batch, seq, hidden)


def test_ball_noise_stays_in_the_radius_and_gaussian_has_its_rms():
    norms = _delta(0.3).norm(dim=-1)
    assert norms.max() <= 0.3 * (1 + 1e-5) and norms.min() > 0.1  # uniform in volume: mass near the surface
    rms = _delta(0.3, "gaussian").norm(dim=-1).pow(2).mean().sqrt()
    assert abs(float(rms) - 0.3) < 0.03


def test_same_seed_same_noise_other_seed_other_noise(anim):
    assert torch.equal(_delta(0.3, seed=4), _delta(0.3, seed=4))
    assert not torch.allclose(_delta(0.3, seed=4), _delta(0.3, seed=5))
    cfg = NoiseConfig("word-dropout", 0.3, seed=4)
    same = perturb_frame(anim, cfg, copy=0)
    assert same["words"].tolist() == perturb_frame(anim, cfg, copy=0)["words"].tolist()
    assert same["words"].tolist() != perturb_frame(anim, NoiseConfig("word-dropout", 0.3, seed=5))["words"].tolist()
    assert same["words"].tolist() != perturb_frame(anim, cfg, copy=1)["words"].tolist()


def test_rs_rp_training_is_reproducible_from_the_seed(tok, anim):
    def run(seed):
        return train(bert(tok), tok, anim, "anim", 3, NoiseConfig("rs-rp", 0.5, seed=seed), freeze=False)["loss_curve"]

    assert run(0) == run(0)
    assert run(0) != run(1)


# ---- adversarial -------------------------------------------------------------------------
def _spy_delta_norms(monkeypatch, norm: str) -> list[float]:
    """The largest per-token norm of every adversarial delta the hook adds, as it is added."""
    seen: list[float] = []
    orig = AddPerturbation.__call__

    def spy(self, module, inputs, output):
        d = self.delta.detach()
        seen.append(float(d.abs().amax() if norm == "linf" else d.norm(dim=-1).max()))
        return orig(self, module, inputs, output)

    monkeypatch.setattr(AddPerturbation, "__call__", spy)
    return seen


@pytest.mark.parametrize("norm, variant", [("l2", "pgd"), ("linf", "pgd"), ("l2", "freelb")])
def test_adversarial_delta_stays_in_epsilon_raises_the_loss_and_grads_reach_the_encoder(
        norm, variant, tok, anim, tmp_path, monkeypatch):
    seen = _spy_delta_norms(monkeypatch, norm)
    model = bert(tok, dropout=0.0)
    for prm in model.bert.embeddings.parameters():  # as fine-tuning does by default
        prm.requires_grad = False
    eps = 0.05
    cfg = NoiseConfig("adv", eps, adv_steps=3, adv_norm=norm, adv_variant=variant)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    trainer = NoisyTrainer(model=model, args=args, noise=cfg)
    trainer.current_gradient_accumulation_steps = 1
    b = batch(tok, anim.head(16))
    model.train()
    with torch.no_grad():
        clean = float(model(**b).loss)
    adv = float(trainer.training_step(model, dict(b)))
    assert len(seen) == (4 if variant == "pgd" else 3)  # K ascent passes (+ 1 descent pass for PGD)
    assert max(seen) <= eps * (1 + 1e-5) and max(seen) > eps / 2
    if variant == "pgd":
        assert adv > clean  # the ascent found a worse perturbation than none
    enc = [p.grad for n, p in model.named_parameters() if ".encoder." in n]
    assert enc and all(g is not None and g.abs().sum() > 0 for g in enc)
    assert model.bert.embeddings.word_embeddings.weight.grad is None
    assert not model.get_input_embeddings()._forward_hooks  # the perturbation hook is gone


# ---- token level -------------------------------------------------------------------------
def _role(names, t):
    return names[t].split("-", 1)[-1]


def test_token_transforms_change_only_what_they_should(roles, anim, lab):
    names = get_task("roles").labels
    for method in ("word-dropout", "word-swap", "char-noise"):
        out = perturb_frame(roles, NoiseConfig(method, 0.3, seed=1, tag_names=names))
        assert list(out.columns) == list(roles.columns) and (out["id"] == roles["id"]).all()
        changed = 0
        for (w0, t0), (w1, t1) in zip(zip(roles["words"], roles["tags"]), zip(out["words"], out["tags"])):
            w0, t0, w1, t1 = list(w0), list(t0), list(w1), list(t1)
            assert len(w1) == len(t1) >= 1
            changed += w0 != w1
            for i, t in enumerate(t1):  # spans stay valid BIO
                assert not names[t].startswith("I-") or _role(names, t1[i - 1]) == _role(names, t) and i > 0
            pairs0 = [(w, _role(names, t)) for w, t in zip(w0, t0)]
            pairs1 = [(w, _role(names, t)) for w, t in zip(w1, t1)]
            if method == "word-dropout":  # an ordered subsequence, each word with its own role
                it = iter(pairs0)
                assert all(pair in it for pair in pairs1)
            elif method == "word-swap":  # the same words with their roles, each moved at most one place
                assert sorted(pairs1) == sorted(pairs0)
                assert all(pairs1[i] in pairs0[max(0, i - 1): i + 2] for i in range(len(pairs1)))
            else:  # one character edit in some words; tags untouched
                assert t1 == t0 and len(w1) == len(w0)
                assert all(abs(len(a) - len(b)) <= 1 for a, b in zip(w0, w1))
        assert 0.3 < changed / len(roles) <= 1.0
    seq = perturb_frame(anim, NoiseConfig("word-dropout", 0.5, seed=0))
    assert (seq["label"] == anim["label"]).all()


def _substitutions(before, after, allowed) -> int:
    """Words changed between two frames, asserting each change is ``allowed(old, new)``
    and that no word was added or dropped."""
    n = 0
    for w0, w1 in zip(before["words"], after["words"]):
        for a, b in zip(w0, w1, strict=True):
            assert b == a or allowed(a, b), (a, b)
            n += a != b
    return n


def test_rs_da_and_code_switch_substitute_only_from_their_tables(anim, lab):
    words = sorted({w for ws in anim["words"] for w in ws})
    table = {w: [w.upper(), w + "x"] for w in words[::2]}
    out = perturb_frame(anim, NoiseConfig("rs-da", 1.0, seed=0, synonyms=table))
    assert _substitutions(anim, out, lambda a, b: a in table and b in table[a]) > 0
    dicts = {"lab_fin": lab.dictionary("lab_eng", "lab_fin"), "lab_tur": lab.dictionary("lab_eng", "lab_tur")}
    out = perturb_frame(anim, NoiseConfig("code-switch", 0.5, seed=0, dictionaries=dicts))
    assert _substitutions(anim, out, lambda a, b: b in (dicts["lab_fin"].get(a), dicts["lab_tur"].get(a))) > 0


def test_rs_da_from_the_lab_replaces_only_listed_words_by_their_listed_synonyms(tiny_params, anim, lab):
    with pytest.raises(ValidationError, match="synonym_rate=0: the lab's synonyms never occur"):
        RunParams(**tiny_params(noise="rs-da", noise_scale=1.0, synonym_source="lab"))
    p = RunParams(**tiny_params(noise="rs-da", noise_scale=1.0, synonym_source="lab", synonym_rate=0.2))
    cfg = finetune_noise(p)
    table = lab.synonyms("lab_eng")  # the source language's: main form -> synonyms
    assert cfg.synonyms == {w: [s for s in v if s != w] for w, v in table.items()} and cfg.synonyms
    out = perturb_frame(anim, cfg)
    assert _substitutions(anim, out, lambda a, b: a in table and b in table[a]) > 0
    inter = RunParams(**tiny_params(intermediate_lang="lab_fin", intermediate_noise="rs-da",
                                    intermediate_noise_scale=0.5, synonym_source="lab", synonym_rate=0.2))
    cfg = noise_config(inter, "intermediate", inter.intermediate_task)
    assert set(cfg.synonyms) == set(lab.synonyms("lab_fin"))  # its own language
    assert p.noise_label("finetune") == "rs-da(p=1.0,lab)"
    assert graph.key("finetune", p) != finetune_key(**tiny_params(noise="rs-da", noise_scale=1.0, synonym_rate=0.2))


def test_embedding_neighbours_are_whole_words_of_the_vocabulary(tok, anim):
    model = bert(tok)
    words = {w for ws in anim["words"] for w in ws}
    table = embedding_synonyms(model, tok, words, k=3)
    assert table and all(len(v) == 3 and w not in v for w, v in table.items())
    for s in (s for v in table.values() for s in v):  # real words, each one token of the vocabulary
        assert s in words and tok.tokenize(s) == ["▁" + s] and s not in tok.all_special_tokens
    assert table == embedding_synonyms(model, tok, {w for ws in anim["words"] for w in ws}, k=3)


# ---- end to end --------------------------------------------------------------------------
def _methods(tmp_path, lab):
    syn = tmp_path / "syn.tsv"
    syn.write_text("# word, synonyms\nkamo\tbetu\ttiru\n")
    dicts = {"lab_fin": lab.dictionary("lab_eng", "lab_fin")}
    return {
        "none": NoiseConfig(),
        "rs-rp": NoiseConfig("rs-rp", 0.1, distribution="gaussian", samples=2),
        "adv": NoiseConfig("adv", 0.05, adv_steps=2, adv_variant="freelb", adv_norm="linf"),
        "word-dropout": NoiseConfig("word-dropout", 0.1),
        "word-swap": NoiseConfig("word-swap", 0.1),
        "char-noise": NoiseConfig("char-noise", 0.1),
        "rs-da": NoiseConfig("rs-da", 0.5),  # neighbours from the embedding space
        "rs-da-file": NoiseConfig("rs-da", 0.5, synonyms=read_synonym_table(syn)),
        "rs-da-lab": NoiseConfig("rs-da", 0.5, synonyms=lab.synonyms("lab_eng")),
        "rs-rp-relative": NoiseConfig("rs-rp", 0.1, unit="relative"),
        "adv-relative": NoiseConfig("adv", 0.05, adv_steps=2, unit="relative"),
        "code-switch": NoiseConfig("code-switch", 0.3, dictionaries=dicts),
    }


def test_every_method_is_covered(tmp_path, lab):
    assert {cfg.method for cfg in _methods(tmp_path, lab).values()} == set(NOISE_METHODS.names())


@pytest.mark.parametrize("make", [bert, xlmr])
def test_every_method_trains_end_to_end(make, tok, anim, lab, tmp_path):
    for name, cfg in _methods(tmp_path, lab).items():
        model = make(tok)
        before = model.classifier.dense.weight.clone() if make is xlmr else model.classifier.weight.clone()
        stats = train(model, tok, anim, "anim", 2, cfg, desc=name)
        assert stats["steps"] == 2 and math.isfinite(stats["final_loss"]), name
        assert stats["noise"]["method"] == cfg.method
        after = model.classifier.dense.weight if make is xlmr else model.classifier.weight
        assert not torch.equal(before, after), name
        assert not model.get_input_embeddings()._forward_hooks, name  # nothing left behind for evaluation


def test_token_task_trains_with_adversarial_and_word_noise(tok, roles):
    labels = get_task("roles").labels
    for cfg in (NoiseConfig("adv", 0.05, adv_steps=1), NoiseConfig("word-swap", 0.2, tag_names=labels)):
        stats = train(bert(tok, len(labels), token=True), tok, roles, "roles", 2, cfg, desc="roles")
        assert stats["steps"] == 2 and math.isfinite(stats["final_loss"])


def test_stages_pass_noise_through(tiny_params, tmp_path):
    p = RunParams(**tiny_params(intermediate_lang="lab_fin", intermediate_noise="code-switch",
                                intermediate_noise_scale=0.3, noise="rs-rp", noise_scale=0.05, finetune_steps=3))
    out = ensure("finetune", p)
    assert read_json(out / "stats.json")["noise"]["method"] == "rs-rp"
    inter = ensure("intermediate", p)
    assert read_json(inter / "stats.json")["noise"]["method"] == "code-switch"
    cfg = noise_config(p, "intermediate", p.intermediate_task)
    assert set(cfg.dictionaries) == {"lab_eng", "lab_tur"}  # all other lab languages by default
    run = RunParams(**{**p.flat(), "run_dir": str(tmp_path / "run"), "eval_langs": ["lab_fin"]})
    m = ensure("evaluate", run)
    assert set(m.noise_setting) == {"rs-rp(ball,r=0.05,m=1)"}
    assert set(m.intermediate_noise_setting) == {"code-switch(p=0.3,to=others)"}  # all other lab languages


# ---- relative noise scales ---------------------------------------------------------------
def test_embedding_unit_is_the_mean_norm_or_the_coordinate_rms():
    w = torch.full((5, 16), 0.5)
    w[0] = 0  # a padding row does not count
    w[1] *= 3
    norms = torch.tensor([3 * 0.5 * 4.0] + [0.5 * 4.0] * 3)  # ||row||_2 = |c| sqrt(16)
    assert embedding_unit(w, "l2") == pytest.approx(float(norms.mean()))
    rms_norm = float(norms.pow(2).mean().sqrt())
    assert embedding_unit(w, "gaussian") == pytest.approx(rms_norm)
    assert embedding_unit(w, "linf") == pytest.approx(rms_norm / 4.0)  # per coordinate: / sqrt(hidden)
    with pytest.raises(ValueError, match="not all zero"):
        embedding_unit(torch.zeros(3, 4), "l2")


def _scaled(model, factor):
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(factor)
    return model


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_relative_adversarial_delta_stays_in_the_relative_bound(norm, tok, anim, tmp_path, monkeypatch):
    seen = _spy_delta_norms(monkeypatch, norm)
    eps = 0.05
    bounds = []
    for factor in (1.0, 20.0):  # the same relative setting on encoders of different embedding scale
        seen.clear()
        model = _scaled(bert(tok, dropout=0.0), factor)
        unit = embedding_unit(model.get_input_embeddings().weight, norm)
        args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
        trainer = NoisyTrainer(model=model, args=args,
                               noise=NoiseConfig("adv", eps, adv_steps=2, adv_norm=norm, unit="relative"))
        trainer.current_gradient_accumulation_steps = 1
        model.train()
        trainer.training_step(model, dict(batch(tok, anim.head(8))))
        assert max(seen) <= eps * unit * (1 + 1e-5) and max(seen) > eps * unit / 2
        assert trainer.applied["applied_scale"] == pytest.approx(eps * unit)
        bounds.append(max(seen))
    assert bounds[1] / bounds[0] == pytest.approx(20.0, rel=0.2)


@pytest.mark.parametrize("make", [bert, xlmr])
def test_relative_rs_rp_radius_is_measured_on_each_model(make, tok, anim, monkeypatch):
    norms = []
    orig = EmbeddingNoise.__call__

    def spy(self, module, inputs, output):
        out = orig(self, module, inputs, output)
        norms.append(float((out - output).norm(dim=-1).max()))
        return out

    monkeypatch.setattr(EmbeddingNoise, "__call__", spy)
    applied = []
    for factor in (1.0, 10.0):
        norms.clear()
        model = _scaled(make(tok), factor)
        unit = embedding_unit(model.get_input_embeddings().weight, "l2")
        stats = train(model, tok, anim, "anim", 2, NoiseConfig("rs-rp", 0.5, unit="relative"))
        assert stats["noise"]["unit"] == "relative" and stats["noise"]["embedding_unit"] == pytest.approx(unit)
        assert stats["noise"]["applied_scale"] == pytest.approx(0.5 * unit)
        assert norms and max(norms) <= 0.5 * unit * (1 + 1e-5) and max(norms) > 0.25 * unit
        applied.append(stats["noise"]["applied_scale"])
    assert applied[1] == pytest.approx(10 * applied[0], rel=1e-4)  # recomputed per model
    stats = train(make(tok), tok, anim, "anim", 2, NoiseConfig("rs-rp", 0.5))
    assert stats["noise"]["applied_scale"] == 0.5 and stats["noise"]["embedding_unit"] == 1.0  # absolute


def test_relative_gaussian_noise_has_the_relative_coordinate_rms(tok):
    model = _scaled(bert(tok), 3.0)
    emb = model.get_input_embeddings()
    cfg, unit = NoiseConfig("rs-rp", 0.2, distribution="gaussian", unit="relative").in_embedding_units(emb.weight)
    coord_rms = embedding_unit(emb.weight, "linf")
    assert unit == pytest.approx(coord_rms * math.sqrt(model.config.hidden_size))
    handle = EmbeddingNoise(cfg.scale, "gaussian", seed=0).attach(model)
    emb.train()
    x = torch.randint(0, len(tok), (64, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        delta = emb(x) - emb.weight[x]  # (64, 32, hidden)
    handle.remove()
    assert float(delta.pow(2).mean().sqrt()) == pytest.approx(0.2 * coord_rms, rel=0.05)  # std per coordinate
    # the adversarial step size is relative too; token-level noise ignores the unit
    adv, u = NoiseConfig("adv", 0.1, adv_step_size=0.02, unit="relative").in_embedding_units(
        model.get_input_embeddings().weight)
    assert adv.step_size == pytest.approx(0.02 * u) and adv.scale == pytest.approx(0.1 * u)
    assert NoiseConfig("word-dropout", 0.1, unit="relative").in_embedding_units(torch.ones(2, 2))[1] == 1.0


def test_scale_unit_enters_cache_keys_only_when_relative_and_used():
    assert finetune_key(noise_scale_unit="relative") == finetune_key()
    adv = finetune_key(noise="adv", noise_scale=0.1)
    assert finetune_key(noise="adv", noise_scale=0.1, noise_scale_unit="absolute") == adv
    assert finetune_key(noise="adv", noise_scale=0.1, noise_scale_unit="relative") != adv
    drop = finetune_key(noise="word-dropout", noise_scale=0.1)
    assert finetune_key(noise="word-dropout", noise_scale=0.1, noise_scale_unit="relative") == drop
    cfg = finetune_noise(RunParams(noise="adv", noise_scale=0.1, noise_scale_unit="relative"))
    assert cfg.unit == "relative" and cfg.relative


# ---- setting labels ----------------------------------------------------------------------
def test_setting_labels_name_every_knob_a_method_uses(tmp_path):
    def label(**kw):
        return RunParams(**kw).noise_label("finetune")

    p = RunParams(noise="adv", noise_scale=0.01, adv_steps=3, noise_scale_unit="relative")
    assert p.noise_label("finetune") == "adv(pgd,l2,K=3,eps=0.01,rel)"
    assert p.noise_label("intermediate") == "none"
    assert label() == "none"
    assert label(noise="adv", noise_scale=0.1, adv_step_size=0.05, adv_norm="linf",
                 adv_variant="freelb") == "adv(freelb,linf,K=1,eps=0.1,alpha=0.05)"
    assert label(noise="rs-rp", noise_scale=0.1, noise_samples=4, adv_steps=7) == \
        "rs-rp(ball,r=0.1,m=4)"  # adv_steps is not used by rs-rp
    assert label(noise="word-dropout", noise_scale=0.2, noise_scale_unit="relative") == \
        "word-dropout(p=0.2)"  # the unit is not used by token noise
    assert label(noise="rs-da", noise_scale=0.5, synonym_neighbours=3) == "rs-da(p=0.5,neighbours=3)"
    assert label(langs=TINY_LANGS, noise="code-switch", noise_scale=0.3) == \
        "code-switch(p=0.3,to=others)"  # every other language of the lab (the default)
    assert label(langs=TINY_LANGS, noise="code-switch", noise_scale=0.3,
                 code_switch_langs=["lab_tur"]) == "code-switch(p=0.3,to=lab_tur)"
    # intermediate noise only where there is intermediate training
    no_task = RunParams(intermediate_noise="rs-rp", intermediate_noise_scale=0.1)
    assert no_task.noise_label("intermediate") == "none"
    assert RunParams(intermediate_lang="lab_fin", intermediate_noise="rs-rp",
                     intermediate_noise_scale=0.1).noise_label("intermediate") == "rs-rp(ball,r=0.1,m=1)"
    # synonym files are told apart by content, not by where they lie
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "a" / "syn.tsv").write_text("kamo\tbetu\n")
    (tmp_path / "b" / "syn.tsv").write_text("kamo\ttiru\n")
    la, lb = (label(noise="rs-da", noise_scale=0.5, synonym_file=str(tmp_path / d / "syn.tsv")) for d in "ab")
    assert la != lb and la.startswith("rs-da(p=0.5,file=syn.tsv@")


def _results(runs: list[RunParams], acc: dict, n=200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy results and predictions of runs with these parameters, as evaluate writes them."""
    rows, preds = [], []
    for i, p in enumerate(runs):
        correct = (torch.rand(n, generator=torch.Generator().manual_seed(i)) < acc[i]).float().numpy()
        rows.append(dict(experiment="e", run_id=f"r{i}", model=p.encoder.model,
                         intermediate_task=p.intermediate.intermediate_task if p.has_intermediate else "none",
                         intermediate_lang=p.intermediate.intermediate_lang, target_task=p.target.target_task,
                         source_lang=p.target.source_lang, noise=p.target.noise, noise_scale=p.target.noise_scale,
                         noise_setting=p.noise_label("finetune"),
                         intermediate_noise_setting=p.noise_label("intermediate"), seed=p.training.seed,
                         eval_lang="lab_fin", split="test", metric="accuracy", value=float(correct.mean()),
                         n_examples=n, phenomenon="all"))
        rows[-1].update({c: "same" for c in results.METRIC_COLUMNS if c not in rows[-1]})  # columns of other work
        preds.append(pd.DataFrame(dict(run_id=f"r{i}", eval_lang="lab_fin", split="test", example_id=range(n),
                                       label=0, pred=0, correct=correct, phenomena="")))
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)


def test_runs_differing_only_in_adv_steps_are_labelled_apart_and_never_pooled():
    from xltkit.analysis.gains import gain_table, pooled_scores, seed_gains
    from xltkit.analysis.labels import noise_label, setting

    adv = dict(noise="adv", noise_scale=0.1)
    runs = [RunParams(**adv, adv_steps=k, intermediate_lang=inter) for k in (1, 3) for inter in ("none", "lab_fin")]
    res, preds = _results(runs, {0: 0.5, 1: 0.6, 2: 0.5, 3: 0.9})
    assert res.noise_setting.nunique() == 2 and noise_label(res).nunique() == 2
    assert setting(res).nunique() == 4
    acc = pooled_scores(res)
    assert len(acc) == 4 and (acc.n == 200).all()  # no cell pools the two settings
    sg, msgs = seed_gains(res)
    assert msgs == [] and len(sg) == 2
    assert sorted(sg.gain.round(6)) == sorted((res.value[[1, 3]].values - res.value[[0, 2]].values).round(6))
    g, msgs = gain_table(res, preds, n_boot=50)
    assert msgs == [] and len(g) == 2 and set(g.noise_setting) == set(res.noise_setting)
    # the same for the intermediate stage: its knobs are shared, its label is its own
    inter = [RunParams(intermediate_lang="lab_fin", intermediate_noise="adv", intermediate_noise_scale=0.1,
                       adv_steps=k) for k in (1, 3)] + [RunParams()]
    res, preds = _results(inter, {0: 0.6, 1: 0.8, 2: 0.5})
    assert res.noise_setting.eq("none").all() and res.intermediate_noise_setting.nunique() == 3
    assert len(pooled_scores(res)) == 3
    g, msgs = gain_table(res, preds, n_boot=50)
    assert msgs == [] and len(g) == 2 and setting(g).nunique() == 2
    sg, _ = seed_gains(res)
    assert len(sg) == 2 and noise_label(sg).nunique() == 2


# ---- parameters --------------------------------------------------------------------------
@pytest.mark.parametrize("values, needle", [
    ({"noise": "gauss"}, "noise: unknown noise method 'gauss'; allowed: none, rs-rp, adv"),
    ({"noise": "rs-rp", "noise_scale": -0.1}, "noise_scale: Input should be greater than or equal to 0"),
    ({"noise": "adv", "noise_scale": 0.1, "adv_steps": 0}, "adv_steps: Input should be greater than or equal to 1"),
    ({"noise": "adv", "noise_scale": 0.1, "adv_norm": "l1"}, "adv_norm: Input should be 'l2' or 'linf'"),
    ({"noise": "rs-rp", "noise_scale": 0.1, "noise_distribution": "laplace"}, "noise_distribution: Input should be"),
    ({"noise": "word-dropout", "noise_scale": 1.5}, "noise_scale is a probability per word"),
    ({"noise": "rs-rp"}, "noise='rs-rp' needs noise_scale > 0"),
    ({"noise_scale": 0.1}, "noise_scale=0.1 has no effect with noise='none'"),
    ({"intermediate_noise": "dropout"}, "intermediate_noise: unknown intermediate_noise method 'dropout'; allowed"),
    ({"code_switch_langs": ["lab_xyz"]}, "code_switch_langs: 'lab_xyz' is not a language of the run's tasks; "
                                         "allowed: lab_eng"),
    ({"noise": "code-switch", "noise_scale": 0.3, "code_switch_langs": ["lab_xyz"]},
     "code_switch_langs: 'lab_xyz' is not a language of the run's tasks; allowed: lab_eng"),
    ({"noise": "code-switch", "noise_scale": 0.3, "code_switch_langs": ["lab_eng"]},
     "noise='code-switch' needs a language other than 'lab_eng'"),
    ({"noise_sample": 2}, "unknown key 'noise_sample' \\(did you mean 'noise_samples'\\?\\)"),
    ({"intermediate_noise_scale": -0.5}, "intermediate_noise_scale: Input should be greater than or equal to 0"),
    ({"noise": "adv", "noise_scale": 0.1, "adv_variant": "trades"}, "adv_variant: Input should be 'pgd' or 'freelb'"),
    ({"noise": "adv", "noise_scale": 0.1, "adv_step_size": -0.01}, "adv_step_size: Input should be greater than 0"),
    ({"noise": "rs-rp", "noise_scale": 0.1, "noise_samples": 0}, "noise_samples: Input should be greater than or"),
    ({"noise": "adv", "noise_scale": 0.1, "noise_scale_unit": "percent"},
     "noise_scale_unit: Input should be 'absolute' or 'relative'"),
    ({"noise": "rs-da", "noise_scale": 0.5, "synonym_source": "wordnet"},
     "synonym_source: Input should be 'file', 'neighbours' or 'lab'"),
    ({"noise": "rs-da", "noise_scale": 0.5, "synonym_source": "file"}, "synonym_source='file' needs synonym_file"),
    ({"noise": "rs-da", "noise_scale": 0.5, "synonym_neighbours": 0}, "synonym_neighbours: Input should be greater"),
])
def test_bad_noise_parameters_are_refused_naming_the_parameter(values, needle):
    with pytest.raises(ParamsError, match=needle):
        RunParams.from_flat(values)


@pytest.mark.parametrize("text, needle", [
    ("kamo\tbetu\nfoo\n", "line 2: expected word<TAB>synonym"),
    ("kamo\t\tbetu\n", "line 1: expected word<TAB>synonym"),
    ("kamo\tbetu\nkamo\ttiru\n", "line 2: word 'kamo' listed twice"),
    ("# only a comment\n", "holds no entries"),
])
def test_malformed_synonym_files_are_refused(tmp_path, text, needle):
    f = tmp_path / "syn.tsv"
    f.write_text(text)
    with pytest.raises(ParamsError, match=f"synonym_file: .*{needle}"):
        RunParams.from_flat({"noise": "rs-da", "noise_scale": 0.5, "synonym_file": str(f)})
    with pytest.raises(ParamsError, match="synonym_file: .*not found"):
        RunParams.from_flat({"noise": "rs-da", "noise_scale": 0.5, "synonym_file": str(tmp_path / "none.tsv")})


def test_cache_keys_hold_only_the_knobs_a_method_uses():
    base = finetune_key()
    assert finetune_key(adv_steps=5) == base  # no noise: knobs are not part of the result
    adv = finetune_key(noise="adv", noise_scale=0.1)
    assert finetune_key(noise="adv", noise_scale=0.1, adv_steps=5) != adv
    assert finetune_key(noise="adv", noise_scale=0.1, noise_samples=4) == adv
    # intermediate noise matters only with an intermediate task: without one there is no intermediate stage,
    # and the downstream stages get the key of the default run
    no_task, default = RunParams(intermediate_noise="rs-rp", intermediate_noise_scale=0.1), RunParams()
    assert graph.key("intermediate", no_task) is None and graph.key("intermediate", default) is None
    for stage in ("finetune", "evaluate"):
        assert graph.key(stage, no_task) == graph.key(stage, default)
    a = RunParams(intermediate_lang="lab_fin")
    b = RunParams(intermediate_lang="lab_fin", intermediate_noise="rs-rp", intermediate_noise_scale=0.1)
    assert graph.key("intermediate", a) is not None
    assert graph.key("intermediate", a) != graph.key("intermediate", b)


def test_synonym_file_with_another_source_is_refused(tmp_path):
    f = tmp_path / "syn.tsv"
    f.write_text("kamo\tbetu\n")
    for source in ("neighbours", "lab"):
        with pytest.raises(ParamsError, match=f"synonym_file is only read with synonym_source='file' "
                                              f"\\(got synonym_source='{source}'\\)"):
            RunParams.from_flat({"noise": "rs-da", "noise_scale": 0.5, "synonym_file": str(f),
                                 "synonym_source": source})
    p = RunParams.from_flat({"noise": "rs-da", "noise_scale": 0.5, "synonym_file": str(f), "synonym_source": "file"})
    implied = RunParams(noise="rs-da", noise_scale=0.5, synonym_file=str(f))
    assert graph.key("evaluate", p) == graph.key("evaluate", implied)  # same as implied
    assert finetune_noise(p).synonyms == {"kamo": ["betu"]}


@pytest.mark.parametrize("kwargs, needle", [
    ({"method": "x"}, "unknown noise method 'x'; allowed: none, rs-rp"),
    ({"method": "adv", "scale": 0.1, "unit": "percent"}, "unknown noise_scale_unit 'percent'; allowed: absolute"),
    ({"method": "rs-rp", "scale": -0.1}, "noise_scale must be >= 0 \\(got -0.1\\)"),
    ({"method": "rs-rp", "scale": float("nan")}, "noise_scale must be >= 0"),
    ({"method": "adv", "scale": 0.1, "adv_steps": 0}, "adv_steps must be >= 1 \\(got 0\\)"),
    ({"method": "adv", "scale": 0.1, "adv_norm": "l1"}, "unknown adv_norm 'l1'; allowed: l2, linf"),
    ({"method": "adv", "scale": 0.1, "adv_variant": "trades"}, "unknown adv_variant 'trades'; allowed: pgd, freelb"),
    ({"method": "adv", "scale": 0.1, "adv_step_size": 0.0}, "adv_step_size must be > 0 or None"),
    ({"method": "rs-rp", "scale": 0.1, "samples": 0}, "noise_samples must be >= 1"),
    ({"method": "rs-rp", "scale": 0.1, "distribution": "laplace"}, "unknown noise_distribution 'laplace'"),
])
def test_noise_config_refuses_bad_values_naming_the_parameter(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        NoiseConfig(**kwargs)


def test_noise_config_refuses_unknown_methods():
    with pytest.raises(ValueError, match="unknown noise method 'x'; allowed: none, rs-rp"):
        NoiseConfig("x")
    with pytest.raises(ValueError, match="noise_distribution 'laplace'; allowed: ball, gaussian"):
        EmbeddingNoise(0.1, "laplace")


def test_pair_tasks_get_only_label_preserving_token_noise_on_both_sentences():
    lab = Lab(["lab_eng", "lab_fin"], lab_seed=0)
    nli = get_task("nli").make(lab, "lab_eng", "train", 200)
    base = dict(langs=TINY_LANGS, target_task="nli", noise="word-swap", noise_scale=0.1)
    run = RunParams(**{**base, "noise": "char-noise"})  # label-preserving: accepted
    cfg = dataclasses.replace(noise_config(run, "finetune", run.target_task), seed=1, scale=0.3)
    assert cfg.label_changing == frozenset({"word-dropout", "word-swap"})  # the pipeline passes the task's refusals
    out = perturb_frame(nli, cfg)
    changed = [sum(list(a) != list(b) for a, b in zip(nli[c], out[c])) for c in ("words", "words2")]
    assert min(changed) > 50 and (out.label == nli.label).all()
    for method in ("word-dropout", "word-swap"):
        with pytest.raises(ValueError, match=f"{method} can change this task's labels.*use one of char-noise"):
            perturb_frame(nli, dataclasses.replace(cfg, method=method, scale=0.1))
    with pytest.raises(ValidationError, match="noise='word-swap' can change the labels of task 'nli'.*allowed for it: "
                                              ".*char-noise"):
        RunParams(**base)
    with pytest.raises(ValidationError, match="intermediate_noise='word-dropout' can change the labels of task 'paws'"):
        RunParams(langs=TINY_LANGS, intermediate_task="paws", intermediate_lang="lab_fin",
                  intermediate_noise="word-dropout", intermediate_noise_scale=0.1)


def test_code_switching_from_dictionary_files(tmp_path, tiny_params, anim):
    eng = sorted({w for ws in anim["words"] for w in ws})[:40]
    good = tmp_path / "en-xx.txt"
    good.write_text("# MUSE style\n" + "".join(f"{w} xx{w}\n{w} yy{w}\n" for w in eng))  # second translation ignored
    p = RunParams(**tiny_params(noise="code-switch", noise_scale=1.0, code_switch_files={"xx": str(good)}))
    cfg = finetune_noise(p)
    assert set(cfg.dictionaries) == {"xx"} and cfg.dictionaries["xx"][eng[0]] == "xx" + eng[0]
    out = perturb_frame(anim, cfg)
    for w0, w1 in zip(anim["words"], out["words"]):
        for a, b in zip(w0, w1, strict=True):
            assert b == (f"xx{a}" if a in eng else a)  # p=1: every listed word, only listed words
    assert p.noise_label("finetune").startswith("code-switch(p=1.0,files=xx@")
    bad = tmp_path / "bad.txt"
    bad.write_text("one two\nthree\n")
    with pytest.raises(ValidationError, match=r"bad.txt', line 2: expected 'source_word target_word'"):
        RunParams(**tiny_params(noise="code-switch", noise_scale=0.3, code_switch_files={"xx": str(bad)}))
    # the knob stays out of the cache key of runs that do not use it
    plain = dict(noise="code-switch", noise_scale=0.3)
    assert finetune_key(**tiny_params(**plain)) == finetune_key(**tiny_params(**plain, code_switch_files=None))


def test_rs_da_reads_the_authors_json_neighbours_and_trains_on_a_fixed_number_of_copies(tmp_path, tok, anim):
    import json as _json

    from xltkit.modeling.noise.resources import read_synonym_table

    path = tmp_path / "counterfitted_neighbors.json"
    words = sorted({w for ws in anim["words"] for w in ws})[:6]
    path.write_text(_json.dumps({words[0]: [words[1], words[2]], words[3]: [], words[4]: [words[4], words[5]]}))
    table = read_synonym_table(path)
    assert table == {words[0]: [words[1], words[2]], words[3]: [], words[4]: [words[5]]}
    (tmp_path / "bad.json").write_text(_json.dumps({"a": "b"}))
    with pytest.raises(ValueError, match="entry 'a': expected a list of words"):
        read_synonym_table(tmp_path / "bad.json")
    from xltkit.pipeline.params import RunParams

    run = RunParams(noise="rs-da", noise_scale=1.0, synonym_file=str(path), rs_da_copies=3)
    assert run.noise_label("finetune").endswith("copies=3)")  # a knob of the setting, so of its cache key
    cfg = NoiseConfig(method="rs-da", scale=1.0, synonyms=table, copies=3)
    model = BertForSequenceClassification(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32, num_labels=2))
    stats = train(model, tok, anim.iloc[:40], "anim", steps=2, noise=cfg)
    assert stats["noise"]["copies"] == 3  # exactly the asked copies, however few steps
