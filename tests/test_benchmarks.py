"""The benchmarks' runner (``make bench``) and the GPU benchmark at a tiny size on the CPU:
``benchmarks/run_all.py`` writes RESULTS.md with its sections, reports a failing script as
failed while the others still run, and ``benchmarks/bench_gpu.py --size tiny`` writes its
rows (throughput, MFU, evaluation, the bf16 check) as finite positive numbers."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_run_all_quick_writes_the_machine_the_command_and_a_table_per_benchmark(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = _run(BENCH / "run_all.py", "--quick", "--only", "bench_lab", "--out", out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text()
    for part in ("# Benchmark results", "- date: ", "- command: `python benchmarks/run_all.py --quick --only bench_lab",
                 "- CPU: ", "- memory: ", "- torch: ", "- transformers: ", "- GPU: ", "## Summary", "## bench_lab",
                 "| compared | baseline | ratio median (min-max) | floor | vs floor | value | notes |",
                 "lab_eng: 5,000 sentences"):
        assert part in text, part
    assert "| `bench_lab` | ok |" in text
    assert "## bench_mixed" not in text  # --only


FAKES = {
    "bench_a_fails.py": "raise RuntimeError('this benchmark is broken on purpose')\n",
    "bench_b_no_json.py": "print('forgot to write --json')\n",
    "bench_c_ok.py": """import json, sys
path = sys.argv[sys.argv.index('--json') + 1]
rows = [{"name": "fast way", "baseline": "slow way", "ratio_median": 2.0, "ratio_min": 1.5, "ratio_max": 2.5,
         "floor": 1.6, "better": "higher", "unit": "items/s", "value": 100.0, "notes": "quick=%s" % ('--quick' in sys.argv)},
        {"name": "slower way", "baseline": "slow way", "ratio_median": 1.2, "ratio_min": 1.1, "ratio_max": 1.3,
         "floor": 1.05, "better": "lower", "unit": "s", "value": 3.0, "notes": ""}]
json.dump({"benchmark": "bench_c_ok", "rows": rows}, open(path, "w"))
""",
    "bench_d_gpu.py": "NEEDS_CUDA = True  # a comment\nraise SystemExit('ran without CUDA')\n",
    "bench_e_nothing.py": "import json, sys\n"
                          "json.dump({'rows': [], 'skipped': 'nothing to measure here'}, open(sys.argv[2], 'w'))\n",
    "helper.py": "raise SystemExit('not a benchmark: never run')\n",
}


def test_a_failing_benchmark_is_reported_as_failed_and_the_others_still_run(tmp_path):
    import torch

    for name, code in FAKES.items():
        (tmp_path / name).write_text(code)
    (tmp_path / "HISTORY.md").write_text("## Before and after\n\nwritten by hand\n")
    proc = _run(BENCH / "run_all.py", "--dir", tmp_path, "--quick")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| `bench_a_fails` | failed (exit status 1) |" in text
    assert "this benchmark is broken on purpose" in text  # the end of its output
    assert "| `bench_b_no_json` | failed (no valid --json rows" in text
    assert "| `bench_c_ok` | ok | " in text and "| 2 | 1 of 2 |" in text
    assert "| fast way | slow way | 2 (1.5-2.5) | ratio >= 1.6 | pass | 100 items/s | quick=True |" in text
    assert "| slower way | slow way | 1.2 (1.1-1.3) | ratio <= 1.05 | **FAIL** | 3 s |  |" in text
    if not torch.cuda.is_available():
        assert "| `bench_d_gpu` | skipped (no CUDA device: not run on a GPU) |" in text
    assert "| `bench_e_nothing` | skipped (nothing to measure here) |" in text
    assert text.rstrip().endswith("## Before and after\n\nwritten by hand")  # the hand-written part, last
    (tmp_path / "HISTORY.md").write_text("## Before and after\n\nrewritten\n")  # rendered again, nothing run
    assert _run(BENCH / "run_all.py", "--dir", tmp_path, "--render").returncode == 0
    again = (tmp_path / "RESULTS.md").read_text()
    assert again.rstrip().endswith("rewritten") and again.split("## Before")[0] == text.split("## Before")[0]
    assert "helper" not in text


def test_floors_pass_in_the_direction_a_row_says():
    sys.path.insert(0, str(BENCH))
    from benchlib import passes, row

    assert passes(row("a", "b", [1.0, 2.0, 3.0], floor=1.6)) is True
    assert passes(row("a", "b", [1.0, 1.5, 3.0], floor=1.6)) is False
    assert passes(row("a", "b", 1.1, floor=1.05, better="lower")) is False
    assert passes(row("a", "b", 9.0, floor=10, better="lower", floor_on="value", value=9.5)) is True
    assert passes(row("a", "b", 0.5)) is None
    with pytest.raises(ValueError):
        row("a", "b", 1.0, better="more")


def test_the_gpu_benchmark_runs_at_a_tiny_size_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    proc = _run(BENCH / "bench_gpu.py", "--size", "tiny", "--repeats", "2", "--peak-tflops", "1", "--json", out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    names = [r["name"] for r in report["rows"]]
    assert len(names) == 4 and names[0].startswith("xltkit training step") and names[1].startswith("MFU")
    assert names[2].startswith("evaluation") and names[3].startswith("bf16 autocast losses")
    for r in report["rows"]:
        for key in ("ratio_median", "ratio_min", "ratio_max", "value"):
            assert isinstance(r[key], (int, float)) and math.isfinite(r[key]) and r[key] > 0, (r["name"], key)
        assert r["ratio_min"] <= r["ratio_median"] <= r["ratio_max"]
    check = report["bf16_check"]
    assert check["ran"] and len(check["gaps"]) == 5 and max(check["gaps"]) < check["tolerance"]
    assert report["train_flops_per_token"] == 3 * report["forward_flops_per_token"] > 0  # 6N + 12LdT, 2N + 4LdT
