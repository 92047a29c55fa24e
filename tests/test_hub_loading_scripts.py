"""Hub datasets that ship only a loading script (issue #10, item 3): datasets 4 and later do not
run them, and xltkit never runs a dataset's code.  A copy (hub_root) or snapshot holding the
script and none of the data files the registry reads is refused, saying so and what to read
instead; the hub's parquet conversion (``refs/convert/parquet``: ``<config>/<split>/*.parquet``,
no README) is read in its place."""

import shutil

import pytest

from xltkit.pipeline.params import RunParams
from xltkit.tasks import TaskError, get_task

#: what a repository of the script era holds besides its script: a card without ``configs:``
SCRIPT_CARD = "---\nlanguage:\n- et\npretty_name: XCOPA\n---\n# XCOPA\nLoaded by its script, xcopa.py.\n"
#: a script that leaves a mark if anything ever runs it
SCRIPT = 'from pathlib import Path\nPath(__file__).with_name("RAN").write_text("the loading script ran")\n'


@pytest.fixture(scope="module", autouse=True)
def _offline(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")  # nothing here may reach the hub
    mp.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf-datasets")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    from xltkit.tasks.hub.fixtures import write_fixtures

    return write_fixtures(tmp_path_factory.mktemp("hub"), n=24)


def _script_repo(folder, name="xcopa"):
    """A dataset repository of the script era: its card and its loading script, no data files."""
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(SCRIPT_CARD)
    (folder / f"{name}.py").write_text(SCRIPT)
    return folder


def _parquet_branch(folder, fixtures, config="et"):
    """The hub's parquet conversion of XCOPA's config: ``<config>/<split>/0000.parquet``, no README."""
    for split in ("validation", "test"):
        (folder / config / split).mkdir(parents=True)
        shutil.copy(fixtures / "cambridgeltl/xcopa" / config / f"{split}-00000-of-00001.parquet",
                    folder / config / split / "0000.parquet")


def _run(root, tmp_path, **kw) -> RunParams:
    return RunParams(**{**dict(model="hf:x", target_task="xcopa", source_lang="eng", eval_langs=["ekk"],
                               hub_root=str(root) if root else None, cache_dir=str(tmp_path / "cache")), **kw})


def test_a_copy_holding_only_the_loading_script_is_refused_saying_what_to_read(fixtures, tmp_path):
    from xltkit.pipeline.preflight import missing, needs

    repo = _script_repo(tmp_path / "hub" / "cambridgeltl" / "xcopa")
    run = _run(tmp_path / "hub", tmp_path)
    with pytest.raises(TaskError) as err:
        get_task("xcopa").load("test", "ekk", run.data_context())
    msg = str(err.value)
    for what in ("task 'xcopa': cambridgeltl/xcopa @ hub_root is a loading-script dataset",
                 f"{repo} holds its loading script xcopa.py and not the data files the registry reads (et/*)",
                 "xltkit never runs a dataset's code", "no parameter turns it on: trust_remote_code is the encoder's",
                 "hf download cambridgeltl/xcopa --repo-type dataset --revision refs/convert/parquet --include 'et/*' "
                 f"--local-dir {repo}", "task_files: {xcopa: {<language>: <folder>}}"):
        assert what in msg, what
    assert not (repo / "RAN").exists()  # the script was never run
    # the pre-flight (xltkit check, and xltkit run before any stage) says the same, in the same words
    why = {n.repo: w for n, w in missing(needs([run]))}["cambridgeltl/xcopa"]
    assert why.split(" and not the data files")[0] == msg.split(" and not the data files")[0]
    assert why.split("). ", 1)[1] == msg.split("). ", 1)[1]  # what to read instead, and how to fetch it


def test_no_parameter_runs_a_datasets_code(fixtures, tmp_path):
    """trust_remote_code is the encoder's (model code); the hub group has no such switch, and setting
    the encoder's does not make a loading-script dataset load."""
    from xltkit.modeling.params import EncoderParams
    from xltkit.tasks.hub.params import HubParams

    assert "trust_remote_code" in EncoderParams.model_fields
    assert not [f for f in HubParams.model_fields if "remote" in f or "script" in f]
    repo = _script_repo(tmp_path / "hub" / "cambridgeltl" / "xcopa")
    run = _run(tmp_path / "hub", tmp_path, trust_remote_code=True)
    with pytest.raises(TaskError, match="never runs a dataset's code.*trust_remote_code is the encoder's, for model "
                                        "code only"):
        get_task("xcopa").load("test", "ekk", run.data_context())
    assert not (repo / "RAN").exists()


def test_a_raw_file_repository_with_only_its_script_points_to_task_files(tmp_path):
    repo = _script_repo(tmp_path / "hub" / "NYTK" / "HuCoPA", name="HuCoPA")
    run = _run(tmp_path / "hub", tmp_path, intermediate_task="copa", intermediate_lang="hun")
    with pytest.raises(TaskError, match=r"NYTK/HuCoPA @ hub_root is a loading-script dataset: .* holds its loading "
                                        r"script HuCoPA.py and not the data files the registry reads \(data/train.json, "
                                        r"data/val.json\).*copy them into .*; else give the data as task_files: "
                                        r"\{copa: \{<language>: <folder>\}\}"):
        get_task("copa").load("train", "hun", run.data_context("intermediate"))
    assert not (repo / "RAN").exists()


@pytest.mark.parametrize("card", [False, True])
def test_the_parquet_branch_layout_is_read_beside_the_script_or_alone(card, fixtures, tmp_path):
    """The hub's conversion holds no README (fetched alone); fetched into the script's copy, the
    card there names no configs: either way ``<config>/<split>/*.parquet`` is read."""
    repo = tmp_path / "hub" / "cambridgeltl" / "xcopa"
    if card:
        _script_repo(repo)
    _parquet_branch(repo, fixtures)
    ds = get_task("xcopa").load("test", "ekk", _run(tmp_path / "hub", tmp_path).data_context())
    same = get_task("xcopa").load("test", "ekk", _run(fixtures, tmp_path).data_context())  # the README's layout
    assert len(ds) == 24 and ds["label"] == same["label"] and ds["premise"] == same["premise"]
    assert not (repo / "RAN").exists()


def test_a_snapshot_of_the_script_era_is_refused_and_its_parquet_branch_read(fixtures, hf_cache, tmp_path, monkeypatch):
    """Through the hub cache: the pinned revision holds the script (refused, pointing at
    ``dataset_revisions``); the parquet branch, chosen by ``dataset_revisions``, loads, and the
    commit it resolved to is recorded."""
    import huggingface_hub

    task = get_task("xcopa")
    rev = task.sources["ekk"].revision
    store = hf_cache / "datasets--cambridgeltl--xcopa"
    _script_repo(store / "snapshots" / rev)
    asked = []
    fetch = huggingface_hub.snapshot_download

    def spy(*a, **kw):
        asked.append(kw.get("allow_patterns"))
        return fetch(*a, **kw)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", spy)
    with pytest.raises(TaskError) as err:
        task.load("test", "ekk", _run(None, tmp_path).data_context())
    assert asked[-1] == ["README.md", "et/*", "xcopa.py"]  # the script is fetched to be named, never run
    msg = str(err.value)
    assert f"cambridgeltl/xcopa @ {rev} is a loading-script dataset" in msg
    assert "dataset_revisions: {cambridgeltl/xcopa: refs/convert/parquet} (fetch it with `hf download " \
           "cambridgeltl/xcopa --repo-type dataset --revision refs/convert/parquet --include 'et/*'`" in msg
    branch = "b" * 40
    _parquet_branch(store / "snapshots" / branch, fixtures)
    (store / "refs" / "refs" / "convert").mkdir(parents=True)
    (store / "refs" / "refs" / "convert" / "parquet").write_text(branch)
    run = _run(None, tmp_path, dataset_revisions={"cambridgeltl/xcopa": "refs/convert/parquet"})
    ds = task.load("test", "ekk", run.data_context())
    assert len(ds) == 24 and task.load_notes()["ekk/test"]["revision"] == branch
    assert not (store / "snapshots" / rev / "RAN").exists()
