"""A hub encoder read from the Hugging Face cache records the commit its weights came from, every
results row of its runs carries it, and the analysis says where one condition pools runs of two
commits: a ``revision`` may name a branch (``revision: null`` the default one), and a branch moves."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The hub task fixtures, the tiny encoder and a datasets cache, built once for this module's tests."""
    from xltkit.modeling.tiny import tiny_xlmr
    from xltkit.tasks.hub.fixtures import fixture_text, write_fixtures

    root = tmp_path_factory.mktemp("hub-commit")
    hub_root = write_fixtures(root / "hub")
    return hub_root, tiny_xlmr(root / "tiny-xlmr", fixture_text(hub_root)), root / "hf-datasets"


def _hub_cache(tmp_path, hub, shas):
    """A Hugging Face hub cache (models--<org>--<name>/snapshots/<commit>, refs/main) holding the tiny
    encoder at each commit of ``shas``, refs/main at the first."""
    import shutil

    cache = tmp_path / "hf-hub"
    for sha in shas:
        shutil.copytree(hub[1], cache / "models--acme--tiny-xlmr" / "snapshots" / sha)
    (cache / "models--acme--tiny-xlmr" / "refs").mkdir()
    (cache / "models--acme--tiny-xlmr" / "refs" / "main").write_text(shas[0])
    return cache


def _python(script, hub, cache, *args):
    """``script`` in a fresh interpreter (huggingface_hub reads HF_HUB_CACHE when it is imported)."""
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache),
           "HF_DATASETS_CACHE": str(hub[2])}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


CHAIN = """
    import json, sys
    from xltkit.pipeline import graph, stages
    from xltkit.pipeline.params import RunParams

    hub_root, cache, out = sys.argv[1:]
    shared = dict(model="hf:acme/tiny-xlmr", source_lang="eng", target_task="xnli", eval_langs=["deu"],
                  hub_root=hub_root, n_train=None, n_dev=None, n_test=None, finetune_steps=2, intermediate_steps=2,
                  batch_size=8, max_length=32, cache_dir=cache, freeze_embeddings=False)
    report = {}
    for name, kw in {"direct": {}, "chain": dict(intermediate_task="rte", intermediate_lang="hun"),
                     "retrieval": dict(target_task="tatoeba"),  # nothing trained: the hub's encoder as it is
                     "untrained": dict(model="hf-untrained:acme/tiny-xlmr", target_task="tatoeba")}.items():
        run = RunParams(**{**shared, **kw, "run_dir": f"{out}/{name}"})
        m = stages.ensure("evaluate", run)
        stats = {n.stage.name: json.loads((graph.output_dir(n, run) / "stats.json").read_text()).get("model_commit")
                 for n in graph.chain(run) if n.stage.name in ("intermediate", "finetune")}
        report[name] = {"rows": len(m), "commits": sorted(set(m.model_commit)), "stats": stats}
    print(json.dumps(report))
"""


@pytest.mark.slow
def test_every_metrics_row_names_the_commit_its_chain_started_from(hub, tmp_path):
    """The first training stage that reads the hub records the commit of the snapshot it read (the
    fine-tune, or the intermediate stage, whose fine-tune passes it on), and every metrics row carries
    it.  A run that trains nothing (retrieval) names the snapshot its evaluation read, the untrained
    control the one its config and tokenizer came from."""
    cache = _hub_cache(tmp_path, hub, [SHA])
    report = _python(CHAIN, hub, cache, hub[0], tmp_path / "c", tmp_path / "runs")
    assert report["direct"]["stats"] == {"finetune": SHA} and report["direct"]["commits"] == [SHA]
    chain = report["chain"]
    assert chain["rows"] > 0 and chain["commits"] == [SHA]
    assert chain["stats"] == {"intermediate": SHA, "finetune": SHA}  # recorded, then passed on
    assert report["retrieval"]["commits"] == [SHA] and report["retrieval"]["stats"] == {}
    assert report["untrained"]["commits"] == [SHA]


MOVED = """
    import contextlib, io, json, sys
    from pathlib import Path
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import analyze
    from xltkit.pipeline.cli import main
    from xltkit.pipeline.experiment import Experiment
    from xltkit.pipeline.runner import Runner

    hub_root, out, main_ref, moved_to = sys.argv[1:]
    shared = dict(model="hf:acme/tiny-xlmr", target_task="xnli", source_lang="eng", eval_langs=["eng", "deu"],
                  hub_root=hub_root, n_train=None, n_dev=None, n_test=None, finetune_steps=2, batch_size=8,
                  max_length=32, freeze_embeddings=False)
    for seeds in ([0], [0, 1]):  # seed 1 is trained after the branch moved
        exp = Experiment(experiment="moved", shared=shared, grid={"seed": seeds})
        Runner(exp, outputs=out, executor="inline", echo=lambda *a, **k: None).run()
        Path(main_ref).write_text(moved_to)
    a = analyze(AnalysisParams(experiment_dir=f"{out}/moved", n_boot=100))
    score = io.StringIO()
    with contextlib.redirect_stdout(score):
        main(["score", f"{out}/moved"])
    print(json.dumps({"summary": (Path(out) / "moved" / "analysis" / "summary.txt").read_text(),
                      "scores": a.scores[["model_commits", "mixed_model_commits"]].to_dict("records"),
                      "score": score.getvalue()}))
"""


@pytest.mark.slow
def test_an_analysis_that_pools_seeds_of_two_commits_says_so(hub, tmp_path):
    """refs/main moves between two seeds of one condition (revision: null): the analysis pools them, and
    says so in its summary and its scores; ``xltkit score`` says so too."""
    moved = "89abcdef" * 5
    cache = _hub_cache(tmp_path, hub, [SHA, moved])
    ref = cache / "models--acme--tiny-xlmr" / "refs" / "main"
    report = _python(MOVED, hub, cache, hub[0], tmp_path / "out", ref, moved)
    warning = f"pools runs of different hub weights, model_commit {SHA} (seed 0); {moved} (seed 1)"
    assert f"note: hf:acme/tiny-xlmr/none (xnli from eng) {warning}" in report["summary"]
    assert {(r["model_commits"], r["mixed_model_commits"]) for r in report["scores"]} == {(f"{SHA}, {moved}", True)}
    assert warning in report["score"] and "model=hf:acme/tiny-xlmr" in report["score"]
