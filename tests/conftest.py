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


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
