"""Reading a hub dataset's files from a local folder (a snapshot of the hub, a mirror, the
fixtures, a task_files folder), and the small helpers loading shares: the fetch command of a
source, which of its files a folder lacks, the refusal of a loading-script dataset (never run),
row ids, label names and content fingerprints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xltkit.core.hashing import folder_fingerprint, stable_hash
from xltkit.tasks.base import TaskError


def fetch_command(src, revision: str | None) -> str:
    """The ``hf download`` command that fetches what ``src`` reads (and nothing more)."""
    return (f"hf download {src.path} --repo-type dataset --revision {revision or 'main'} " +
            " ".join(f"--include '{p}'" for p in src.patterns()))


#: the branch where the hub keeps its own parquet conversion of a dataset (of a loading script's output too):
#: ``<config>/<split>/NNNN.parquet``, without a README
PARQUET_BRANCH = "refs/convert/parquet"


def script_name(src) -> str:
    """The loading script a dataset repository of the script era ships: ``<repository name>.py``."""
    return src.path.rsplit("/", 1)[-1] + ".py"


def lacking(files: list[str], patterns) -> list[str]:
    """The ``patterns`` (of a source's files) no file of ``files`` (paths inside its folder) matches.
    A folder laid out as the parquet branch (:data:`PARQUET_BRANCH`: every config's files under
    ``<config>/<split>/``, no README) needs no README: :func:`_config_files` reads that layout."""
    import fnmatch

    missing = [p for p in patterns if not any(fnmatch.fnmatch(f, p) for f in files)]
    configs = [p[:-2] for p in patterns if p.endswith("/*")]
    if missing == ["README.md"] and configs and all(
            any(f.startswith(f"{c}/") and f.count("/") == 2 and f.endswith(".parquet") for f in files)
            for c in configs):
        return []
    return missing


def script_refusal(task: str, src, folder: Path, revision: str | None, missing: list[str], mirror: bool) -> str | None:
    """Why ``src`` cannot be read from ``folder`` (``mirror``: under hub_root, else the hub's snapshot of
    ``revision``) when the folder holds the dataset's loading script and not the data files the registry
    reads; None when it holds no script.  xltkit never runs a dataset's code: the message says what to
    read instead."""
    script = script_name(src)
    if not (folder / script).is_file():
        return None
    head = (f"task {task!r}: {src.path} @ {'hub_root' if mirror else revision or 'default branch'} is a "
            f"loading-script dataset: {folder} holds its loading script {script} and not the data files the registry "
            f"reads ({', '.join(missing)}). xltkit never runs a dataset's code (datasets 4 and later cannot run "
            "loading scripts, and no parameter turns it on: trust_remote_code is the encoder's, for model code only). ")
    files = f"task_files: {{{task}: {{<language>: <folder>}}}} (the data in {src.path}'s schema)"
    if src.data_files:  # raw files: the parquet branch lays the data out otherwise
        where = f"copy them into {folder}" if mirror else f"set dataset_revisions: {{{src.path}: <that commit>}}"
        return head + f"Where the hub has those raw files at another revision, {where}; else give the data as {files}"
    fetch = (f"hf download {src.path} --repo-type dataset --revision {PARQUET_BRANCH} --include "
             f"'{src.config or 'default'}/*'")
    if mirror:
        return head + (f"Read the hub's parquet conversion instead: put its files in that folder (`{fetch} "
                       f"--local-dir {folder}`), or give the data as {files}")
    return head + (f"Read the hub's parquet conversion instead: dataset_revisions: {{{src.path}: {PARQUET_BRANCH}}} "
                   f"(fetch it with `{fetch}`; the commit it resolves to is recorded with every score), or give "
                   f"the data as {files}")


def _row_ids(raw) -> list[int]:
    """The hub's own integer ``id`` of each row where it has one (PAWS-X: the pair's id in every
    language), else the row number."""
    if "id" in raw.column_names:
        try:
            ids = [int(i) for i in raw["id"]]
            if len(set(ids)) == len(ids):
                return ids
        except (TypeError, ValueError):
            pass
    return list(range(len(raw)))


def _load_source(folder: Path, src, hub_split: str, cache_dir: Path):
    """One split of a source from its local folder: the files the repository's README names for
    that config and split (its ``configs:`` section, as the hub reads it), or the source's raw
    files, through their packaged builder (parquet, json, csv).  Reading the README's patterns
    ourselves keeps a partial snapshot (only the configs a grid needs) readable, which
    ``load_dataset(folder, config)`` is not (it infers the format from the README's first
    config's files).  ``cache_dir`` is the folder's own: datasets caches local files by their
    names, so two mirrors (or fixture sets) of one dataset would otherwise share a cache."""
    import datasets

    patterns = [src.data_files[hub_split]] if src.data_files else _config_files(folder, src.config, hub_split)
    suffix = patterns[0].rsplit(".", 1)[-1] if "." in patterns[0].rsplit("/", 1)[-1] else "parquet"
    builder = {"json": "json", "jsonl": "json", "parquet": "parquet", "csv": "csv"}.get(suffix.rstrip("*"), "parquet")
    return datasets.load_dataset(builder, data_files={hub_split: [str(folder / p) for p in patterns]},
                                 split=hub_split, cache_dir=str(cache_dir))


def _config_files(folder: Path, config: str | None, split: str) -> list[str]:
    """The file patterns a dataset repository's README gives for ``config`` / ``split``; where the README
    names no such config (or there is none), the hub's parquet branch layout ``<config>/<split>/*.parquet``."""
    from huggingface_hub import DatasetCard

    name = config or "default"
    configs: dict = {}
    if (folder / "README.md").is_file():
        card = DatasetCard.load(folder / "README.md").data.to_dict()
        configs = {c.get("config_name", "default"): c for c in card.get("configs") or []}
    if name not in configs:  # the hub's parquet branch: <config>/<split>/*.parquet, with no README or a script's
        if list((folder / name / split).glob("*.parquet")):
            return [f"{name}/{split}/*.parquet"]
        raise TaskError(f"{folder / 'README.md'} names no config {name!r} (its configs: {', '.join(configs) or 'none'}"
                        f"), and there is no {name}/{split}/*.parquet (the layout of the hub's parquet branch, "
                        f"{PARQUET_BRANCH})")
    files = configs[name].get("data_files")
    if isinstance(files, (str, list)) and not (isinstance(files, list) and files and isinstance(files[0], dict)):
        files = [{"split": "train", "path": files}]
    for entry in files or []:
        if entry.get("split") == split:
            paths = entry["path"]
            return [paths] if isinstance(paths, str) else list(paths)
    raise TaskError(f"{folder / 'README.md'}: config {name!r} has no split {split!r}")


def _label_names(ds) -> list[str] | None:
    """The ClassLabel names of a dataset's label column (``label``, or the per-word one), if any."""
    for name, feature in ds.features.items():
        inner = getattr(feature, "feature", feature)  # Sequence(ClassLabel)
        if hasattr(inner, "names") and name in ("label", "labels", "ner_tags", "pos_tags", "tags", "upos"):
            return list(inner.names)
    return None


def _load_folder(folder: Path, split: str, task: str, lang: str):
    """A local folder standing in for a language (``task_files``): ``<split>*.parquet|jsonl|json|csv``
    with ``dev`` also found as ``validation``/``val``; a single file serves as the train split."""
    import datasets

    names = {"train": ("train",), "dev": ("validation", "dev", "val"), "test": ("test",)}[split]
    if folder.is_file():
        files = [folder] if split == "train" else []
    else:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.split(".")[0].split("-")[0] in names)
    if not files:
        raise TaskError(f"task {task!r}: task_files for {lang!r} ({folder}) have no {split} file ({'|'.join(names)}"
                        ".parquet/.jsonl/.json/.csv)")
    suffix = files[0].suffix.lstrip(".")
    builder = {"jsonl": "json", "json": "json", "parquet": "parquet", "csv": "csv"}.get(suffix)
    if builder is None:
        raise TaskError(f"task {task!r}: {files[0]}: unknown file type {suffix!r}; use parquet, jsonl, json or csv")
    return datasets.load_dataset(builder, data_files=[str(f) for f in files], split="train")


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint(path: Path) -> str:
    key = str(path.resolve())
    if key not in _FINGERPRINTS:
        _FINGERPRINTS[key] = folder_fingerprint(path) if path.is_dir() else stable_hash(path.read_bytes().hex())
    return _FINGERPRINTS[key]
