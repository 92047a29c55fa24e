"""A hub encoder read from the Hugging Face cache records the commit its weights came from: a
``revision`` may name a branch, and a branch moves."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHA = "0123456789abcdef0123456789abcdef01234567"

SCRIPT = textwrap.dedent("""
    import json, sys
    from xltkit.pipeline import graph, stages
    from xltkit.pipeline.params import RunParams

    run = RunParams(model="hf:acme/tiny-xlmr", target_task="xnli", source_lang="eng", eval_langs=["deu"],
                    hub_root=sys.argv[1], n_train=None, n_dev=None, n_test=None, finetune_steps=2, batch_size=8,
                    max_length=32, cache_dir=sys.argv[2], run_dir=sys.argv[3], freeze_embeddings=False)
    out = stages.ensure("finetune", run)
    print(json.dumps(json.loads((out / "stats.json").read_text())))
""")


@pytest.mark.slow
def test_a_hub_encoder_records_the_commit_its_weights_were_read_at(tmp_path):
    from xltkit.modeling.tiny import tiny_xlmr
    from xltkit.tasks.hub.fixtures import fixture_text, write_fixtures

    hub_root = write_fixtures(tmp_path / "hub")
    cache = tmp_path / "hf-hub"  # the hub's cache layout: models--<org>--<name>/snapshots/<commit>, refs/main
    snapshot = cache / "models--acme--tiny-xlmr" / "snapshots" / SHA
    tiny_xlmr(snapshot, fixture_text(hub_root))
    (cache / "models--acme--tiny-xlmr" / "refs").mkdir()
    (cache / "models--acme--tiny-xlmr" / "refs" / "main").write_text(SHA)
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache),
           "HF_DATASETS_CACHE": str(tmp_path / "hf-datasets")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(hub_root), str(tmp_path / "c"), str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["model_commit"] == SHA
