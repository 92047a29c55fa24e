"""The tokenized-data cache (:mod:`xltkit.modeling.tokenized`): a second encoding of the same
rows with the same tokenizer and head is read back without calling the tokenizer; another
tokenizer, max_length, head setting or other rows is another entry; noisy RS-DA copies are
never served across noise seeds; and training reads exactly the rows it would have built."""

import pytest
import torch
from datasets import Dataset, load_dataset
from transformers import BertConfig, BertForSequenceClassification

from conftest import TINY_LANGS, TINY_MAX_LEN, tiny
from xltkit.modeling import tokenized
from xltkit.modeling.heads import get_head
from xltkit.modeling.noise.config import NoiseConfig
from xltkit.modeling.params import TrainingParams
from xltkit.modeling.qa import ExtractiveQAHead, QASettings
from xltkit.modeling.tokenization import load_tokenizer, train_tokenizer
from xltkit.modeling.training import TrainJob, train_task
from xltkit.tasks import get_task

MAX_LEN = TINY_MAX_LEN
HEAD = get_head("sequence")


def reloaded(tok, folder, max_length=MAX_LEN):
    """``tok`` saved and loaded again, as every fine-tuned model's folder holds it."""
    tok.save_pretrained(str(folder))
    out = load_tokenizer(folder)
    out.model_max_length = max_length
    return out


@pytest.fixture()
def calls(monkeypatch, tok):
    """How many times any tokenizer of ``tok``'s class was called."""
    seen = []
    cls = type(tok)
    original = cls.__call__

    def counting(self, *a, **kw):
        seen.append(1)
        return original(self, *a, **kw)

    monkeypatch.setattr(cls, "__call__", counting)
    return seen


def test_a_second_encoding_with_a_reloaded_tokenizer_is_read_back_without_tokenizing(tok, anim, calls, tmp_path):
    ds = Dataset.from_pandas(anim, preserve_index=False)
    other = reloaded(tok, tmp_path / "model-b")  # the same tokenizer from another folder: another fine-tune
    with tokenized.caching(tmp_path / "tokenized") as cache:
        first = tokenized.encode(HEAD, tok, ds)
        built = len(calls)
        second = tokenized.encode(HEAD, other, Dataset.from_pandas(anim, preserve_index=False))
    assert built > 0 and len(calls) == built  # the second encoding never called the tokenizer
    assert (cache.misses, cache.hits) == (1, 1)
    assert [f["filename"].startswith(str(tmp_path / "tokenized")) for f in second.cache_files] == [True]
    assert second.to_dict() == first.to_dict() == HEAD.encode(tok, ds).to_dict()  # what encoding builds


def test_a_dataset_on_disk_is_keyed_by_its_fingerprint_and_its_files_left_to_datasets(tok, anim, calls, tmp_path):
    anim.to_parquet(tmp_path / "train.parquet")
    hf = tmp_path / "hf"

    def load():
        return load_dataset("parquet", data_files={"train": [str(tmp_path / "train.parquet")]}, split="train",
                            cache_dir=str(hf))

    with tokenized.caching(tmp_path / "tokenized") as cache:
        first = tokenized.encode(HEAD, tok, load())
        built = len(calls)
        second = tokenized.encode(HEAD, reloaded(tok, tmp_path / "b"), load())
    assert (cache.misses, cache.hits) == (1, 1) and len(calls) == built
    assert second.to_dict() == first.to_dict()
    made = list(hf.rglob("cache-*.arrow"))  # the head's own map output stays in datasets' cache: another worker
    assert made and all(p.is_file() for p in made)  # may be reading it (it finds it by the same fingerprint)


def test_another_tokenizer_max_length_head_setting_or_rows_is_another_entry(lab, tok, anim, calls, tmp_path):
    ds = Dataset.from_pandas(anim, preserve_index=False)
    smaller = train_tokenizer([s for c in TINY_LANGS for s in lab.corpus(c, 150)], 120, MAX_LEN)
    short = reloaded(tok, tmp_path / "short", max_length=8)
    with tokenized.caching(tmp_path / "tokenized") as cache:
        base = tokenized.encode(HEAD, tok, ds)
        out = {}
        for name, t in (("smaller", smaller), ("short", short)):
            n = len(calls)
            out[name] = tokenized.encode(HEAD, t, ds)
            assert len(calls) > n and out[name].to_dict() == HEAD.encode(t, ds).to_dict()
        fewer = tokenized.encode(HEAD, tok, ds.select(range(40)))
    assert (cache.misses, cache.hits) == (4, 0)
    assert max(out["short"]["length"]) <= 8 < max(base["length"]) and len(fewer) == 40
    # the head's settings are part of the key (QA's stride), the truncation state a call leaves is not
    qa = [tokenized.encoding_key(ExtractiveQAHead(QASettings(stride=s)), tok, ds) for s in (8, 16)]
    assert qa[0] != qa[1]
    key = tokenized.encoding_key(HEAD, smaller, ds)
    smaller(["a b"], truncation=True, max_length=4)  # leaves truncation in the backend's JSON
    assert tokenized.encoding_key(HEAD, smaller, ds) == key


def bert(tok):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=MAX_LEN, num_labels=2)
    return BertForSequenceClassification(cfg)


def trained(tok, data, noise=None):
    """The weights, loss curve and noise statistics of 6 steps on ``data`` (a frame or a
    dataset) of the anim task."""
    task = get_task("anim")
    model = bert(tok)
    job = TrainJob(steps=6, lr=1e-3, training=TrainingParams(batch_size=8, seed=0), desc="t", noise=noise)
    stats = train_task(model, tok, data, task, get_head(task.head), job)
    return {k: v.clone() for k, v in model.state_dict().items()}, stats["loss_curve"], stats["noise"]


def same(a, b) -> bool:
    return a[1] == b[1] and a[0].keys() == b[0].keys() and all(torch.equal(a[0][k], b[0][k]) for k in a[0])


def test_training_from_the_cache_gives_the_weights_of_training_without_it(tok, anim, tmp_path):
    ds = Dataset.from_pandas(anim, preserve_index=False)
    before = trained(tok, anim)  # the frame, tokenized in memory: the path before the cache
    assert same(trained(tok, ds), before)
    with tokenized.caching(tmp_path / "tokenized") as cache:
        cold = trained(tok, ds)
        warm = trained(tok, Dataset.from_pandas(anim, preserve_index=False))
    assert (cache.misses, cache.hits) == (1, 1)
    assert same(cold, before) and same(warm, before)


def test_noisy_rs_da_copies_are_never_served_across_noise_seeds(tok, anim, tmp_path):
    words = sorted({w for ws in anim["words"] for w in ws})
    table = {w: [w.upper(), w + "x"] for w in words[::2]}

    def noise(seed):
        return NoiseConfig("rs-da", 0.5, seed=seed, synonyms=table, copies=2)

    ds = Dataset.from_pandas(anim, preserve_index=False)
    plain = {s: trained(tok, ds, noise(s)) for s in (0, 1)}
    assert not same(plain[0], plain[1])  # the noise seed changes the weights: a stale entry would show
    with tokenized.caching(tmp_path / "tokenized") as cache:
        first = trained(tok, ds, noise(0))
        other = trained(tok, ds, noise(1))
        again = trained(tok, ds, noise(0))
    assert (cache.misses, cache.hits) == (2, 1)  # seed 1 built its own copies; seed 0 again read its own back
    assert same(first, plain[0]) and same(other, plain[1]) and same(again, plain[0])


def test_rs_da_copies_from_the_encoders_own_neighbours_are_not_kept(tok, anim, tmp_path):
    ds = Dataset.from_pandas(anim, preserve_index=False)
    neighbours = NoiseConfig("rs-da", 0.5, seed=0, copies=2)  # no table: the encoder's embedding neighbours
    plain = trained(tok, ds, neighbours)
    with tokenized.caching(tmp_path / "tokenized") as cache:
        noisy = trained(tok, ds, neighbours)
    assert (cache.misses, cache.hits) == (0, 0) and not (tmp_path / "tokenized").exists()
    assert same(noisy, plain) and plain[2]["synonym_table_words"] > 0


def test_a_second_fine_tune_and_its_evaluation_read_every_encoding_back(tmp_path, monkeypatch):
    from xltkit.pipeline import stages
    from xltkit.pipeline.params import RunParams

    built = []
    build = tokenized._build
    monkeypatch.setattr(tokenized, "_build", lambda head, tok, ds, entry, key: (built.append(key),
                                                                                 build(head, tok, ds, entry, key)))
    params = tiny(tmp_path / "cache", model="lab-bert-untrained", eval_langs=["lab_fin"])
    stages.ensure("evaluate", RunParams(**params, seed=0, run_dir=str(tmp_path / "r0")))
    first = len(built)
    assert first >= 3  # the training set, and the dev and test sets of the evaluation
    assert len(list((tmp_path / "cache" / "tokenized").iterdir())) == first
    stages.ensure("evaluate", RunParams(**params, seed=1, run_dir=str(tmp_path / "r1")))  # another fine-tune
    assert len(built) == first  # its tokenizer is loaded from its own folder, yet nothing was tokenized again


def test_the_tasks_code_keys_the_encoding_too(tok, anim, tmp_path):
    """A task whose conversion code changed (another fingerprint) never reads an encoding made by the
    old code, though datasets' fingerprint of the converted split may not see the change."""
    ds = Dataset.from_pandas(anim, preserve_index=False)
    with tokenized.caching(tmp_path / "tokenized", salt="task-v1") as cache:
        tokenized.encode(HEAD, tok, ds)
        tokenized.encode(HEAD, tok, ds)
    with tokenized.caching(tmp_path / "tokenized", salt="task-v2") as changed:
        tokenized.encode(HEAD, tok, ds)
    assert (cache.misses, cache.hits, changed.misses, changed.hits) == (1, 1, 1, 0)


def test_a_killed_writers_temporary_entry_is_swept_a_day_later_and_a_live_ones_is_not(tmp_path):
    import os
    import time

    folder = tmp_path / "tokenized"
    old, live = folder / ".pair-abc.123-deadbeef.tmp", folder / ".pair-def.456-cafef00d.tmp"
    for d in (old, live):
        (d / "data").mkdir(parents=True)
    day_ago = time.time() - tokenized.STALE_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    with tokenized.caching(folder):
        pass
    assert not old.exists() and live.is_dir()
