"""What the runner costs per stage task, what warm kernels save, and what a second worker buys.

A grid of lab runs (the lab encoder fine-tuned and evaluated, one data and pretraining
stage shared, built once beforehand) is executed, interleaved, ``--repeats`` times each way:

- ``direct``: :func:`xltkit.pipeline.stages.ensure` called for each run in this process,
  the baseline: the stage functions and nothing else;
- ``inline``: ``Runner(executor="inline")``: the runner's bookkeeping (manifests, plan,
  results table) around the same calls;
- ``process``: papermill processes, one fresh kernel per stage task (``--executor process``);
- ``warm``: one kept kernel per worker (``--executor warm``, ``xltkit run``'s default);
  with 1 and 2 workers.

Reported: the runner's overhead per stage task against ``direct`` (inline, process, warm),
warm against process (floor: at least 1.0x, i.e. never slower), 2 warm workers over 1
(floor 1.6x on the 2-core machine for CPU-bound lab runs), and a check that every way gives
the same results table (values compared exactly).  Every repeat builds the fine-tuning and
evaluation afresh (a new cache for them, the upstream stages copied in).

    .venv/bin/python benchmarks/bench_runner.py [--runs 4] [--steps 300] [--repeats 2] [--quick] [--json PATH]
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from benchlib import parser, repeats, row, write


def shared(cache: Path, steps: int) -> dict:
    """A small lab (three languages) whose fine-tuning is CPU-bound for a few seconds."""
    return dict(langs=["lab_eng", "lab_fin", "lab_tur"], sentences_high=400, vocab_size=200, n_train=1000, n_dev=40,
                n_test=300, hidden_size=64, num_heads=2, num_layers=2, pretrain_steps=30, pretrain_batch_size=32,
                finetune_steps=steps, batch_size=16, cache_dir=str(cache))


def main(argv=None) -> None:
    ap = parser(__doc__, repeats=2)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=300)  # #13's setting: tasks of seconds, as in the demo
    args = ap.parse_args(argv)
    runs, steps = (2, 30) if args.quick else (args.runs, args.steps)

    from xltkit.pipeline import graph, stages
    from xltkit.pipeline.experiment import Experiment
    from xltkit.pipeline.runner import Runner

    root = Path(tempfile.mkdtemp(prefix="xltkit-bench-runner-"))
    base_cache = root / "base"
    grid = {"seed": list(range(runs))}
    first = Experiment(experiment="b", workers=1, shared=shared(base_cache, steps), grid=grid).runs(root / "o0")[0]
    for stage in ("data", "pretrain"):
        stages.ensure(stage, first)
    upstream = [graph.output_dir(n, first) for n in graph.chain(first) if n.stage.name in ("data", "pretrain")]

    def fresh(tag: str, rep: int) -> tuple[Experiment, Path]:
        cache = root / f"{tag}-{rep}" / "cache"
        for src in upstream:
            shutil.copytree(src, cache / src.relative_to(base_cache))
        return Experiment(experiment="b", workers=1, shared=shared(cache, steps), grid=grid), root / f"{tag}-{rep}"

    def direct(exp: Experiment, out: Path) -> pd.DataFrame:
        for run in exp.runs(out):
            stages.ensure("evaluate", run)
        return pd.concat([pd.read_parquet(Path(r.evaluation.run_dir) / "metrics.parquet") for r in exp.runs(out)])

    def runner(kind: str, workers: int):
        return lambda exp, out: Runner(exp, outputs=out, workers=workers, executor=kind, echo=lambda s: None).run()

    ways = {"direct": direct, "inline": runner("inline", 1), "process, 1 worker": runner("process", 1),
            "warm, 1 worker": runner("warm", 1), "warm, 2 workers": runner("warm", 2)}
    times: dict[str, list[float]] = {w: [] for w in ways}
    tables: dict[str, pd.DataFrame] = {}
    for rep in range(repeats(args)):
        for way, fn in ways.items():
            exp, out = fresh(way.replace(", ", "-").replace(" ", ""), rep)
            t0 = time.perf_counter()
            df = fn(exp, out)
            times[way].append(time.perf_counter() - t0)
            tables.setdefault(way, df)
            print(f"repeat {rep + 1}: {way}: {times[way][-1]:.1f} s", flush=True)
    tasks = 2 * runs  # fine-tuning and evaluation per run; the upstream stages are done
    med = {w: statistics.median(t) for w, t in times.items()}
    print(f"\n{runs} lab runs ({steps} fine-tuning steps each), {tasks} stage tasks, {repeats(args)} repeats")
    print("| way | min s | median s | max s | vs direct |\n|---|---|---|---|---|")
    for w, t in times.items():
        print(f"| {w} | {min(t):.1f} | {med[w]:.1f} | {max(t):.1f} | {med[w] / med['direct']:.2f}x |")
    differ = _differences(tables)

    def per_task(way: str) -> str:
        return f"{(med[way] - med['direct']) / tasks:+.2f} s per stage task over direct"

    rows = [row(f"{w}", "direct (the stage functions alone)", [d / t for d, t in zip(times["direct"], times[w])],
                unit="s median", value=round(med[w], 1), notes=per_task(w))
            for w in ("inline", "process, 1 worker", "warm, 1 worker")]
    rows.append(row("warm kernels, 1 worker", "process (a fresh kernel per stage task), 1 worker",
                    [p / w for p, w in zip(times["process, 1 worker"], times["warm, 1 worker"])], floor=1.0,
                    unit="s saved per stage task",
                    value=round((med["process, 1 worker"] - med["warm, 1 worker"]) / tasks, 2),
                    notes=f"results tables of all ways: {differ or 'identical'}"))
    rows.append(row("warm, 2 workers", "warm, 1 worker",
                    [a / b for a, b in zip(times["warm, 1 worker"], times["warm, 2 workers"])], floor=1.6,
                    unit="s median", value=round(med["warm, 2 workers"], 1)))
    write(args, "bench_runner", rows, runs=runs, steps=steps, stage_tasks=tasks, results_identical=not differ)
    shutil.rmtree(root, ignore_errors=True)


def _differences(tables: dict[str, pd.DataFrame]) -> str:
    """'' when every way's table holds the same values; else which ways differ and where."""
    keys = ["seed", "eval_lang", "split", "metric", "phenomenon"]
    ref_way, ref = next(iter(tables.items()))
    ref = ref.set_index(keys)["value"].sort_index()
    bad = []
    for way, df in tables.items():
        other = df.set_index(keys)["value"].sort_index()
        if not (other.index.equals(ref.index) and (other.values == ref.values).all()):
            bad.append(way)
    return f"{', '.join(bad)} differ from {ref_way}" if bad else ""


if __name__ == "__main__":
    main()
