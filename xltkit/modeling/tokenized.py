"""The tokenized-data cache: a head's encoding of a task dataset (:meth:`Head.encode`, a
``datasets.map(batched=True)`` with a fast tokenizer), kept on disk and read back by every
later training or evaluation that encodes the same rows with the same tokenizer and head.

``datasets`` caches a ``map`` by the fingerprint of its input and a hash of the function,
but neither reaches our training and evaluation calls: a task frame turned into an
in-memory ``Dataset`` is mapped in memory (no cache file at all), and the function's hash
pickles the tokenizer, whose state changes on its first call (the backend keeps the last
truncation setting) and which names the folder it was loaded from (every fine-tuned
model's own).  So the key is ours (:func:`encoding_key`), from what decides the encoding:

- the **dataset**: its ``datasets`` fingerprint, which ``datasets`` computes from the files
  and the transforms for a loaded dataset (hub tasks) and from the rows themselves for one
  built in memory (the lab's tasks, and the perturbed copies of token-level noise: another
  seed, scale, method, synonym table or number of copies is other rows, hence another key;
  the same noise on the same data is the same rows and is served from the cache, e.g. to the
  fine-tunes of one seed after each intermediate task; RS-DA copies with synonyms drawn from
  the encoder's own embedding neighbours are not kept: they differ with every encoder (each
  intermediate task's), so other runs seldom read them, and at XNLI's size each is hundreds
  of megabytes);
- the **tokenizer** (:func:`tokenizer_identity`): its backend (``backend_tokenizer.to_str()``:
  normalizer, pre-tokenizer, vocabulary, merges, templates, added tokens) without the
  per-call truncation and padding state, and the wrapper's settings that change an encoding
  (class, ``model_max_length``, truncation side, input names, ``add_prefix_space``);
- the **head**: its class, its settings (e.g. QA's stride) and the source files of its
  classes, so an edited ``encode`` is another key;
- the versions of ``datasets``, ``tokenizers`` and ``transformers``.

A stage turns the cache on for the calls inside :func:`caching` (the run's
``cache_dir/tokenized``); outside one, :func:`encode` is :meth:`Head.encode`.  An entry is a
``save_to_disk`` folder written under a temporary name and renamed once complete (with the
``_done.json`` every finished folder of the cache has), so a killed writer leaves no entry
(its temporary folder is removed by the next stage that opens the cache a day later: no
writer takes that long) and two workers that build one at once keep one copy.  Every result, built or read, is the
entry read back (memory-mapped), so a cached and an uncached run train on identical rows.
Nothing is evicted: remove the folder to reclaim its space.

Example::

    with caching(cache_dir / "tokenized"):
        enc = encode(get_head("pair"), tokenizer, task.load("train", "eng", data))  # built
        enc = encode(get_head("pair"), reloaded_tokenizer, task.load("train", "eng", data))  # read back
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import uuid
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from xltkit.core.hashing import stable_hash
from xltkit.core.io import DONE, is_done, write_json

if TYPE_CHECKING:
    from datasets import Dataset

    from xltkit.modeling.head import Head


@dataclass
class TokenizedCache:
    """Where encoded datasets are kept, and what happened to the lookups since it was opened."""

    folder: Path
    salt: str = ""  # what else the encodings depend on: the task's code (its fingerprint), which datasets'
    # fingerprint of a converted split may miss (it hashes a lambda, not every helper the lambda calls)
    hits: int = 0
    misses: int = 0

    def entry(self, key: str) -> Path:
        return self.folder / key


_CURRENT: ContextVar[TokenizedCache | None] = ContextVar("xltkit_tokenized_cache", default=None)


STALE_SECONDS = 24 * 3600  # a temporary entry untouched this long was left by a killed writer


def sweep(folder: Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary entries of writers killed mid-write (``.<key>.<pid>-<id>.tmp`` folders
    not modified for ``older_than`` seconds); a live writer's are younger.  The removed ones."""
    import time

    gone = []
    for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
        try:
            if time.time() - tmp.stat().st_mtime > older_than:
                shutil.rmtree(tmp, ignore_errors=True)
                gone.append(tmp)
        except OSError:  # another stage removed it first
            pass
    return gone


def current() -> TokenizedCache | None:
    """The cache of the stage being executed (None: encodings are not kept)."""
    return _CURRENT.get()


@contextmanager
def caching(folder: str | Path, salt: str = "") -> Iterator[TokenizedCache]:
    """Keep the encodings made inside the block in ``folder`` and read them back from there;
    ``salt`` joins every key (the task's fingerprint)."""
    cache = TokenizedCache(Path(folder), salt)
    sweep(cache.folder)
    token = _CURRENT.set(cache)
    try:
        yield cache
    finally:
        _CURRENT.reset(token)


# ---- identities --------------------------------------------------------------------------
_BACKENDS: "weakref.WeakKeyDictionary[Any, tuple[int, int, str]]" = weakref.WeakKeyDictionary()


def _backend_hash(tokenizer) -> str:
    """The SHA-1 of the backend's JSON without its truncation and padding (a call with
    ``truncation=True`` leaves its setting there).  Memoized per tokenizer object (an XLM-R
    backend is megabytes of JSON): a backend swapped or grown (added tokens) is hashed again."""
    backend = tokenizer.backend_tokenizer
    seen = (id(backend), backend.get_vocab_size(with_added_tokens=True))
    memo = _BACKENDS.get(tokenizer)
    if memo is not None and memo[:2] == seen:
        return memo[2]
    state = json.loads(backend.to_str())
    state["truncation"] = state["padding"] = None
    digest = hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()
    _BACKENDS[tokenizer] = (*seen, digest)
    return digest


def tokenizer_identity(tokenizer) -> str | None:
    """What of ``tokenizer`` decides an encoding, hashed; None for a tokenizer without a
    ``tokenizers`` backend (a slow one: not cached).  The folder it was loaded from is not
    part of it: every fine-tuned model saves the same tokenizer in its own folder."""
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
        return None
    wrapper = {"class": type(tokenizer).__name__, "model_max_length": tokenizer.model_max_length,
               "truncation_side": tokenizer.truncation_side, "padding_side": tokenizer.padding_side,
               "model_input_names": list(tokenizer.model_input_names),
               "add_prefix_space": getattr(tokenizer, "add_prefix_space", None),
               "split_special_tokens": getattr(tokenizer, "split_special_tokens", None),
               "special_tokens": {k: str(v) for k, v in sorted(tokenizer.special_tokens_map.items())}}
    return stable_hash({"backend": _backend_hash(tokenizer), "wrapper": wrapper}, n=16)


_SOURCES: dict[type, str] = {}


def head_identity(head: "Head") -> str:
    """The head's class, its settings and the source files of the classes it is made of."""
    cls = type(head)
    if cls not in _SOURCES:
        h = hashlib.sha1()
        for c in cls.__mro__:
            if c is object:
                continue
            path = inspect.getsourcefile(c)
            h.update(Path(path).read_bytes() if path else c.__qualname__.encode())
        _SOURCES[cls] = h.hexdigest()
    settings = {k: repr(v) for k, v in sorted(vars(head).items())}
    return stable_hash({"class": f"{cls.__module__}.{cls.__qualname__}", "settings": settings,
                        "source": _SOURCES[cls]}, n=16)


def encoding_key(head: "Head", tokenizer, ds: "Dataset", salt: str = "") -> str | None:
    """The cache key of ``head.encode(tokenizer, ds)`` (see the module docstring); None where
    it cannot be known (a slow tokenizer, a dataset without a fingerprint)."""
    import datasets
    import tokenizers
    import transformers

    tok = tokenizer_identity(tokenizer)
    fingerprint = getattr(ds, "_fingerprint", None)
    if tok is None or not fingerprint:
        return None
    versions = [datasets.__version__, tokenizers.__version__, transformers.__version__]
    key = stable_hash({"dataset": fingerprint, "tokenizer": tok, "head": head_identity(head), "versions": versions,
                       **({"salt": salt} if salt else {})}, n=20)
    return f"{head.name}-{key}"


# ---- encoding ----------------------------------------------------------------------------
def encode(head: "Head", tokenizer, ds: "Dataset", keep: bool = True) -> "Dataset":
    """``head.encode(tokenizer, ds)``, from the current cache where it holds it, else built
    and kept there; without a cache (or a key), built as it is.  ``keep=False``: built as it
    is, never written (rows no other run will encode: they would only take space)."""
    cache = current() if keep else None
    key = encoding_key(head, tokenizer, ds, cache.salt) if cache is not None else None
    if key is None:
        return head.encode(tokenizer, ds)
    entry = cache.entry(key)
    if is_done(entry):
        cache.hits += 1
        return _read(entry)
    cache.misses += 1
    _build(head, tokenizer, ds, entry, key)
    return _read(entry)


def _read(entry: Path) -> "Dataset":
    from datasets import load_from_disk

    return load_from_disk(str(entry))


def _build(head: "Head", tokenizer, ds: "Dataset", entry: Path, key: str) -> None:
    """Encode and write the entry under a temporary name, renamed when complete (another
    worker that finished first keeps its copy)."""
    enc = head.encode(tokenizer, ds)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".{entry.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        enc.save_to_disk(str(tmp))
        write_json({"key": key, "rows": len(enc), "columns": enc.column_names}, tmp / DONE)
        del enc  # the head's map may have written its result beside a dataset on disk, in datasets' own cache:
        try:  # left there, as another worker may be reading it (datasets finds it by the same fingerprint)
            os.rename(tmp, entry)
        except OSError:  # another worker's entry is there already
            if not is_done(entry):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
