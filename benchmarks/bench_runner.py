"""What the runner costs, and what a second worker buys (issue #13, item 8).

A grid of lab runs (the lab encoder fine-tuned and evaluated, one data and pretraining
stage shared, built once beforehand) is executed, interleaved, ``--repeats`` times each way:

- ``direct``: :func:`xltkit.pipeline.stages.ensure` called for each run in this process,
  the baseline: the stage functions and nothing else;
- ``inline``: ``Runner(executor="inline")``: the runner's bookkeeping (manifests, plan,
  results table) around the same calls;
- ``process, 1 worker`` and ``process, 2 workers``: papermill processes, one kernel per
  stage task, as ``xltkit run`` does by default.

Reported: each way's wall time (min / median / max), the runner's overhead per stage task
against ``direct``, and the speed-up of 2 workers over 1 (floor: 1.6x on the 2-core machine
for CPU-bound lab runs).  Every repeat builds the fine-tuning and evaluation afresh (a new
cache for them, the upstream stages copied in).

    .venv/bin/python benchmarks/bench_runner.py [--runs 4] [--steps 300] [--repeats 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path



def shared(cache: Path, steps: int) -> dict:
    """A small lab (three languages) whose fine-tuning is CPU-bound for a few seconds."""
    return dict(langs=["lab_eng", "lab_fin", "lab_tur"], sentences_high=400, vocab_size=200, n_train=1000, n_dev=40,
                n_test=300, hidden_size=64, num_heads=2, num_layers=2, pretrain_steps=30, pretrain_batch_size=32,
                finetune_steps=steps, batch_size=16, cache_dir=str(cache))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from xltkit.pipeline import graph, stages
    from xltkit.pipeline.experiment import Experiment
    from xltkit.pipeline.runner import Runner

    root = Path(tempfile.mkdtemp(prefix="xltkit-bench-runner-"))
    base_cache = root / "base"
    grid = {"seed": list(range(args.runs))}
    exp0 = Experiment(experiment="b", workers=1, shared=shared(base_cache, args.steps), grid=grid)
    first = exp0.runs(root / "o0")[0]
    for stage in ("data", "pretrain"):
        stages.ensure(stage, first)
    upstream = [graph.output_dir(n, first) for n in graph.chain(first) if n.stage.name in ("data", "pretrain")]

    def fresh(tag: str, rep: int) -> tuple[Experiment, Path]:
        cache = root / f"{tag}-{rep}" / "cache"
        for src in upstream:
            shutil.copytree(src, cache / src.relative_to(base_cache))
        return Experiment(experiment="b", workers=1, shared=shared(cache, args.steps), grid=grid), root / f"{tag}-{rep}"

    def direct(exp: Experiment, out: Path) -> None:
        for run in exp.runs(out):
            stages.ensure("evaluate", run)

    def runner(kind: str, workers: int):
        return lambda exp, out: Runner(exp, outputs=out, workers=workers, executor=kind, echo=lambda s: None).run()

    ways = {"direct": direct, "inline": runner("inline", 1), "process, 1 worker": runner("process", 1),
            "process, 2 workers": runner("process", 2)}
    times: dict[str, list[float]] = {w: [] for w in ways}
    for rep in range(args.repeats):
        for way, fn in ways.items():
            exp, out = fresh(way.replace(", ", "-").replace(" ", ""), rep)
            t0 = time.perf_counter()
            fn(exp, out)
            times[way].append(time.perf_counter() - t0)
            print(f"repeat {rep + 1}: {way}: {times[way][-1]:.1f} s", flush=True)
    tasks = 2 * args.runs  # fine-tuning and evaluation per run; the upstream stages are done
    med = {w: statistics.median(t) for w, t in times.items()}
    print(f"\n{args.runs} lab runs ({args.steps} fine-tuning steps each), {tasks} stage tasks, {args.repeats} repeats")
    print("| way | min s | median s | max s | vs direct |")
    print("|---|---|---|---|---|")
    for w, t in times.items():
        print(f"| {w} | {min(t):.1f} | {med[w]:.1f} | {max(t):.1f} | {med[w] / med['direct']:.2f}x |")
    per = {w: (med[w] - med["direct"]) / tasks for w in ("inline", "process, 1 worker")}
    print(f"\nrunner overhead per stage task: inline {per['inline']:+.2f} s, papermill process "
          f"{per['process, 1 worker']:+.2f} s (kernel start and imports)")
    speedups = [a / b for a, b in zip(times["process, 1 worker"], times["process, 2 workers"])]
    print(f"2 workers over 1: {med['process, 1 worker'] / med['process, 2 workers']:.2f}x "
          f"(per repeat {', '.join(f'{s:.2f}' for s in speedups)}); floor 1.6x")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
