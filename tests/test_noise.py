"""Noise injection: training only, inside its bounds, reproducible, and every method trains
on the lab's tiny BERT and on a tiny XLM-R built from its config (no download)."""

import math

import pytest
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

from conftest import TINY_LANGS
from xltkit import results, stages
from xltkit.config import NOISE_METHODS, EvaluateParams, FinetuneParams, IntermediateParams, ParamsError
from xltkit.lab import Lab
from xltkit.models import train_tokenizer
from xltkit.noise import (
    AddPerturbation,
    EmbeddingNoise,
    NoiseConfig,
    embedding_synonyms,
    noise_config,
    perturb_frame,
    read_synonym_table,
)
from xltkit.tasks import TASKS, make_examples
from xltkit.train import NoisyTrainer, encode_task, train_task

MAX_LEN = 32


@pytest.fixture(scope="module")
def lab():
    return Lab(TINY_LANGS, lab_seed=0)


@pytest.fixture(scope="module")
def tok(lab):
    return train_tokenizer([s for c in TINY_LANGS for s in lab.corpus(c, 150)], 200, MAX_LEN)


@pytest.fixture(scope="module")
def anim(lab):
    return make_examples(lab, "anim", "lab_eng", "train", 48)


@pytest.fixture(scope="module")
def roles(lab):
    return make_examples(lab, "roles", "lab_eng", "train", 48)


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
    ds = encode_task(tok, df, "sequence").remove_columns("length")
    return DataCollatorWithPadding(tok)(ds.to_list())


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
        return train_task(bert(tok), tok, anim, "sequence", 3, 8, 1e-3, 0, False, "t",
                          NoiseConfig("rs-rp", 0.5, seed=seed))["loss_curve"]

    assert run(0) == run(0)
    assert run(0) != run(1)


# ---- adversarial -------------------------------------------------------------------------
@pytest.mark.parametrize("norm, variant", [("l2", "pgd"), ("linf", "pgd"), ("l2", "freelb")])
def test_adversarial_delta_stays_in_epsilon_raises_the_loss_and_grads_reach_the_encoder(
        norm, variant, tok, anim, tmp_path, monkeypatch):
    seen = []
    orig = AddPerturbation.__call__

    def spy(self, module, inputs, output):
        d = self.delta.detach()
        seen.append(float(d.abs().amax() if norm == "linf" else d.norm(dim=-1).max()))
        return orig(self, module, inputs, output)

    monkeypatch.setattr(AddPerturbation, "__call__", spy)
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
    names = TASKS["roles"].labels
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


def test_rs_da_and_code_switch_substitute_only_from_their_tables(anim, lab):
    words = sorted({w for ws in anim["words"] for w in ws})
    table = {w: [w.upper(), w + "x"] for w in words[::2]}
    out = perturb_frame(anim, NoiseConfig("rs-da", 1.0, seed=0, synonyms=table))
    n = 0
    for w0, w1 in zip(anim["words"], out["words"]):
        for a, b in zip(w0, w1, strict=True):
            assert b == a or (a in table and b in table[a])
            n += a != b
    assert n > 0
    dicts = {"lab_fin": lab.dictionary("lab_eng", "lab_fin"), "lab_tur": lab.dictionary("lab_eng", "lab_tur")}
    out = perturb_frame(anim, NoiseConfig("code-switch", 0.5, seed=0, dictionaries=dicts))
    n = 0
    for w0, w1 in zip(anim["words"], out["words"]):
        for a, b in zip(w0, w1, strict=True):
            assert b == a or b in (dicts["lab_fin"].get(a), dicts["lab_tur"].get(a))
            n += a != b
    assert n > 0


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
        "code-switch": NoiseConfig("code-switch", 0.3, dictionaries=dicts),
    }


def test_every_method_is_covered(tmp_path, lab):
    assert {cfg.method for cfg in _methods(tmp_path, lab).values()} == set(NOISE_METHODS)


@pytest.mark.parametrize("make", [bert, xlmr])
def test_every_method_trains_end_to_end(make, tok, anim, lab, tmp_path):
    for name, cfg in _methods(tmp_path, lab).items():
        model = make(tok)
        before = model.classifier.dense.weight.clone() if make is xlmr else model.classifier.weight.clone()
        stats = train_task(model, tok, anim, "sequence", 2, 8, 1e-3, 0, True, name, cfg)
        assert stats["steps"] == 2 and math.isfinite(stats["final_loss"]), name
        assert stats["noise"]["method"] == cfg.method
        after = model.classifier.dense.weight if make is xlmr else model.classifier.weight
        assert not torch.equal(before, after), name
        assert not model.get_input_embeddings()._forward_hooks, name  # nothing left behind for evaluation


def test_token_task_trains_with_adversarial_and_word_noise(tok, roles):
    for cfg in (NoiseConfig("adv", 0.05, adv_steps=1), NoiseConfig("word-swap", 0.2, tag_names=TASKS["roles"].labels)):
        stats = train_task(bert(tok, len(TASKS["roles"].labels), token=True), tok, roles, "token", 2, 8, 1e-3, 0, True,
                           "roles", cfg)
        assert stats["steps"] == 2 and math.isfinite(stats["final_loss"])


def test_stages_pass_noise_through(tiny_params):
    p = FinetuneParams(**tiny_params(intermediate_lang="lab_fin", intermediate_noise="code-switch",
                                     intermediate_noise_scale=0.3, noise="rs-rp", noise_scale=0.05, finetune_steps=3))
    out = stages.finetune(p)
    assert results.read_json(out / "stats.json")["noise"]["method"] == "rs-rp"
    inter = stages.intermediate(p)
    assert results.read_json(inter / "stats.json")["noise"]["method"] == "code-switch"
    cfg = noise_config(p, "intermediate")
    assert set(cfg.dictionaries) == {"lab_eng", "lab_tur"}  # all other lab languages by default


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
    ({"code_switch_langs": ["lab_xyz"]}, "code_switch_langs: 'lab_xyz' is not in langs; allowed: lab_eng"),
    ({"noise": "code-switch", "noise_scale": 0.3, "code_switch_langs": ["lab_eng"]},
     "noise='code-switch' needs a language other than 'lab_eng'"),
    ({"noise_sample": 2}, "unknown key 'noise_sample' \\(did you mean 'noise_samples'\\?\\)"),
])
def test_bad_noise_parameters_are_refused_naming_the_parameter(values, needle):
    with pytest.raises(ParamsError, match=needle):
        EvaluateParams.from_dict(values)


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
        EvaluateParams.from_dict({"noise": "rs-da", "noise_scale": 0.5, "synonym_file": str(f)})
    with pytest.raises(ParamsError, match="synonym_file: .*not found"):
        EvaluateParams.from_dict({"noise": "rs-da", "noise_scale": 0.5, "synonym_file": str(tmp_path / "none.tsv")})


def test_cache_keys_hold_only_the_knobs_a_method_uses():
    base = FinetuneParams()
    assert FinetuneParams(adv_steps=5).key() == base.key()  # no noise: knobs are not part of the result
    adv = FinetuneParams(noise="adv", noise_scale=0.1)
    assert FinetuneParams(noise="adv", noise_scale=0.1, adv_steps=5).key() != adv.key()
    assert FinetuneParams(noise="adv", noise_scale=0.1, noise_samples=4).key() == adv.key()
    # intermediate noise matters only with an intermediate task
    no_task = IntermediateParams(intermediate_noise="rs-rp", intermediate_noise_scale=0.1)
    assert no_task.key() == IntermediateParams().key()
    a = IntermediateParams(intermediate_lang="lab_fin")
    b = IntermediateParams(intermediate_lang="lab_fin", intermediate_noise="rs-rp", intermediate_noise_scale=0.1)
    assert a.key() != b.key()


def test_noise_config_refuses_unknown_methods():
    with pytest.raises(ValueError, match="unknown noise method 'x'; allowed: none, rs-rp"):
        NoiseConfig("x")
    with pytest.raises(ValueError, match="noise_distribution 'laplace'; allowed: ball, gaussian"):
        EmbeddingNoise(0.1, "laplace")
