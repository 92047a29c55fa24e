"""Shared fixtures: tiny lab parameters and a finished tiny experiment, built once per
session in a temporary folder (tests copy what they change)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
TINY_LANGS = ["lab_eng", "lab_fin", "lab_tur"]
TINY_MAX_LEN = 32  # the tiny lab tokenizer's max_length (fixture ``tok``)


def tiny(cache_dir, **kw) -> dict:
    """Parameters of a run that finishes in seconds."""
    base = dict(langs=TINY_LANGS, sentences_high=400, vocab_size=200, n_train=200, n_dev=40, n_test=60,
                hidden_size=32, num_heads=2, num_layers=1, pretrain_steps=10, pretrain_batch_size=32,
                intermediate_steps=5, finetune_steps=10, batch_size=16, cache_dir=str(cache_dir))
    return {**base, **kw}


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_params(cache_dir):
    return lambda **kw: tiny(cache_dir, **kw)


@pytest.fixture()
def repo() -> Path:
    return REPO


# ---- a tiny lab, its tokenizer and an English task frame (modules may define their own) ----------
@pytest.fixture(scope="module")
def lab():
    from xltkit.lab import Lab

    return Lab(TINY_LANGS, lab_seed=0)


@pytest.fixture(scope="module")
def tok(lab):
    from xltkit.modeling.tokenization import train_tokenizer

    return train_tokenizer([s for c in TINY_LANGS for s in lab.corpus(c, 150)], 200, TINY_MAX_LEN)


@pytest.fixture(scope="module")
def anim(lab):
    from xltkit.tasks import get_task

    return get_task("anim").make(lab, "lab_eng", "train", 48)


# ---- the hub path offline: fixtures in the hub's schemas, a tiny XLM-R trained on their text -------
@pytest.fixture(scope="session")
def hub_root(tmp_path_factory):
    """The hub fixtures at their default size (modules that need another size define their own)."""
    from xltkit.tasks.hub.fixtures import write_fixtures

    return write_fixtures(tmp_path_factory.mktemp("hub"))


@pytest.fixture(scope="session")
def encoder(tmp_path_factory, hub_root):
    from xltkit.modeling.tiny import tiny_xlmr
    from xltkit.tasks.hub.fixtures import fixture_text

    return tiny_xlmr(tmp_path_factory.mktemp("enc") / "tiny-xlmr", fixture_text(hub_root))


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face hub cache that loading reads offline."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ---- a project folder as a researcher has one, and JupyterLab on it -----------------------
TINY_GRID = [{"intermediate_lang": ["none", "lab_fin"], "seed": [0, 1]},
             {"model": ["lab-bert-untrained"]}, {"model": ["rule-bow"]}]


def finish_experiment(exp) -> "Path":
    """Run every run of ``exp`` in process (no papermill) from the working directory, writing
    manifests, the grid and results.parquet as ``xltkit run`` does; return the experiment folder."""
    from xltkit.core import results
    from xltkit.pipeline import graph, stages
    from xltkit.pipeline.runner import Runner

    runner = Runner(exp, echo=lambda s: None)  # outputs: the default, read against the project root
    for run in runner.runs:
        stages.ensure("evaluate", run)
        runner.write_manifest(run, "done")
    results.write_grid(runner.exp_dir, [graph.run_id(r) for r in runner.runs])
    results.collect(runner.exp_dir)
    return runner.exp_dir


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A project folder: ``params/demo.yaml`` (a tiny grid of 6 runs), ``notebooks/`` (the stage
    notebooks) and ``outputs/demo`` finished, built from the folder as ``xltkit run`` there
    would, so every path the runs recorded is relative (``outputs/cache``, ``outputs/demo/...``).
    The URIEL+ cache is the repository's (a link), so the analysis does not rebuild it."""
    import contextlib

    import yaml

    from xltkit.pipeline.experiment import Experiment

    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shared = {k: v for k, v in tiny("outputs/cache").items() if k != "cache_dir"}
    doc = {"experiment": "demo", "workers": 1, "shared": shared, "grid": TINY_GRID, "analysis": {"n_boot": 200}}
    (root / "params").mkdir()
    (root / "params" / "demo.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    typology = REPO / "outputs" / "cache" / "typology"
    typology.mkdir(parents=True, exist_ok=True)
    (root / "outputs" / "cache").mkdir(parents=True)
    (root / "outputs" / "cache" / "typology").symlink_to(typology, target_is_directory=True)
    with contextlib.chdir(root):
        finish_experiment(Experiment(**doc))
    return root


@pytest.fixture(scope="session")
def jupyter_lab(request, tmp_path_factory):
    """JupyterLab on :func:`tiny_project` with a headless Chromium on it (``tests/browser.py``),
    one per session (under ``pytest -n``, one per worker that runs a browser test: xdist's
    ``--dist loadgroup`` does not group tests under pytest 9.2, pytest-xdist#1386); skips,
    naming the command, where Chromium or playwright is missing.  Screenshots go to
    ``$XLTKIT_SCREENSHOTS`` (default: a temporary folder)."""
    import browser

    browser.require()
    root = request.getfixturevalue("tiny_project")
    shots = Path(os.environ.get("XLTKIT_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    with browser.JupyterLab(root, tmp_path_factory.mktemp("jupyter-home"), screenshots=shots) as lab:
        yield lab
