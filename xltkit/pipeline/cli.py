"""``xltkit`` command line: run an experiment, show its status, analyse it, inspect the lab.

Paths typed here are relative to the working directory, as the shell means them; the
defaults (``outputs``, ``outputs/cache/typology``) and the paths inside experiment files are
relative to the project root (:mod:`xltkit.core.paths`), the same folder from anywhere in it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from xltkit.core.params import ParamsError
from xltkit.core.paths import from_cwd
from xltkit.pipeline.experiment import load_experiment

#: defaults are Paths, not strings: argparse would pass a string default through ``type``
#: (from_cwd), reading it against the working directory instead of the project root
OUTPUTS = Path("outputs")


def _run(args) -> int:
    from xltkit.pipeline.runner import Runner

    exp = load_experiment(args.params, args.outputs)  # validated before any work starts
    runner = Runner(exp, outputs=args.outputs, workers=args.workers, executor=args.executor,
                    gpus_per_run=args.gpus_per_run, retry_failed=args.retry_failed)
    from xltkit.pipeline import preflight

    here = args.executor != "slurm"  # SLURM: the jobs' machines run the stages and hold the data, not this one
    problems = preflight.machine_problems(runner.runs) if here else []
    text, missing = "", []
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        _, missing, text = preflight.report(runner.runs)  # offline: everything must be here before training starts
        problems += [f"offline and {len(missing)} hub models or datasets are missing"] if missing else []
    if problems:  # one list of everything that stops the grid, then nothing runs
        print("xltkit: " + "; ".join(problems) + "; nothing was run" + (f"\n{text}" if missing else ""),
              file=sys.stderr)
        return 2
    todo = [p for p in runner.runs if not runner.run_done(p)]
    if todo and not args.no_data_check and here:  # a wrong column or placeholder labels in an evaluation
        bad = preflight.load_all(todo, hub_only=True)  # language: now, not after hours of training
        if bad:
            print(f"xltkit: {len(bad)} splits the grid reads cannot be used; nothing was run (--no-data-check "
                  "skips this check)\n" + "\n".join(f"  {line}" for line in bad), file=sys.stderr)
            return 2
    runner.run()
    code = 1 if runner.failed or runner.left else 0  # a grid with failed runs is not a success
    if not args.no_analysis:
        print(f"{exp.experiment}: analysis -> {runner.exp_dir / 'analysis'}", flush=True)
        try:
            runner.analyze()
        except RuntimeError as e:
            print(f"xltkit: analysis failed: {e}", file=sys.stderr)
            return 1
        summary = runner.exp_dir / "analysis" / "summary.txt"
        if summary.is_file():
            print(summary.read_text())
    return code


def _status(args) -> int:
    from xltkit.core.io import read_json
    from xltkit.pipeline.status import status, summary, with_slurm_states

    df = with_slurm_states(status(args.experiment_dir))
    if df.empty:
        print(f"no runs under {Path(args.experiment_dir) / 'runs'}")
        return 1
    if not df.jobs.astype(bool).any():
        df = df.drop(columns="jobs")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(df.to_string(index=False))
    last = sorted(Path(args.experiment_dir).glob("runs/*/manifest.json"), key=lambda f: f.stat().st_mtime)[-1:]
    workers = (read_json(last[0]).get("runner") or {}).get("workers") if last else None
    print("\n" + summary(df, workers or 1))
    return 0


def _analyze(args) -> int:
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import analyze

    p = AnalysisParams(experiment_dir=from_cwd(args.experiment_dir), n_boot=args.n_boot)
    print(analyze(p).summary())
    return 0


def _languages(args) -> int:
    from xltkit.lab import PRESETS, LanguageSpec

    cols = [c for c in LanguageSpec.model_fields if c != "sources"]
    df = pd.DataFrame([{c: getattr(s, c) for c in cols} for s in PRESETS.values()])
    if args.sources:
        for spec in PRESETS.values():
            for f, src in spec.sources.items():
                print(f"{spec.code:8} {f:20} {str(getattr(spec, f, '')):32} {src}")
        return 0
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 120):
        print(df.to_string(index=False))
    return 0


def _typology(args) -> int:
    from xltkit.lab.typology import distance_table
    from xltkit.typology import DISTANCES

    kinds = args.kinds or DISTANCES
    try:
        df = distance_table(args.langs, args.targets, kinds=kinds, cache_dir=args.cache_dir)
    except ValueError as e:
        print(f"xltkit: error: {e}", file=sys.stderr)
        return 2
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(df.drop(columns="missing").to_string(index=False))
    missing = df[df.missing != ""]
    for s, t, why in zip(missing.source, missing.target, missing.missing):
        print(f"missing {s}-{t}: {why}")
    return 0


def _morphology(args) -> int:
    from xltkit.analysis.morphology import richness_table

    corpora = {}
    for f in args.files:
        path = Path(f)
        if not path.is_file():
            raise FileNotFoundError(f"text file not found: {path}")
        corpora[path.stem] = path.read_text(encoding="utf-8").splitlines()
    tok = None
    if args.tokenizer:
        from xltkit.modeling.tokenization import load_tokenizer

        tok = load_tokenizer(args.tokenizer)
    df = richness_table(corpora, tok, n_words=args.n_words, window=args.window)
    with pd.option_context("display.width", 200):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return 0


def _check(args) -> int:
    from xltkit.pipeline.preflight import report

    exp = load_experiment(args.params, args.outputs)
    runs = exp.runs(args.outputs)
    _, missing, text = report(runs)
    print(text)
    if missing or not args.load:
        return 1 if missing else 0
    from xltkit.pipeline.preflight import load_all

    problems = load_all(runs)
    print(f"read every split the grid uses: {len(problems)} problems" + (":" if problems else ""))
    for line in problems:
        print(f"  {line}")
    return 1 if problems else 0


def _plan(args) -> int:
    from xltkit.pipeline.plan import plan, summary

    exp = load_experiment(args.params, args.outputs)
    runs = exp.runs(args.outputs)
    rates = None
    if args.rates:
        import json

        from xltkit.modeling.throughput import measured

        rates = {}
        for f in args.rates:
            try:
                rates.update(measured(json.loads(Path(f).read_text()), where=str(f)))
            except (OSError, json.JSONDecodeError, ValueError) as e:
                print(f"xltkit: --rates {f}: {e}", file=sys.stderr)
                return 2
    table = plan(runs, count=args.count, rates=rates)
    print(f"{exp.experiment}: {len(runs)} runs")
    print(summary(table))
    if args.jobs:
        with pd.option_context("display.width", 250, "display.max_rows", 1000, "display.max_colwidth", 60):
            print(table.to_string(index=False))
    return 0


def _compare(args) -> int:
    from xltkit.core.results import compare

    tables = []
    for path in (args.first, args.second):
        p = Path(path)
        p = p / "results.parquet" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"results table not found: {p}")
        tables.append(pd.read_parquet(p))
    c = compare(*tables)
    print(f"{c['matched']} values matched on their descriptive columns; largest difference {c['max_abs_diff']:.3g}; "
          f"{c['n_different']} differ; {len(c['only_first'])} only in the first, {len(c['only_second'])} only in the "
          "second")
    with pd.option_context("display.width", 250, "display.max_rows", 40):
        for name in ("different", "only_first", "only_second"):
            if len(c[name]):
                print(f"\n{name}:\n{c[name].head(40).to_string(index=False)}")
    return 0 if c["n_different"] == 0 else 1


def _report(args) -> int:
    from xltkit.pipeline.report import report

    exp = from_cwd(args.experiment_dir)
    if not (Path(exp) / "analysis" / "05_analysis.ipynb").is_file():
        print(f"xltkit: {exp} has no executed analysis: run xltkit analyze {exp} (or the experiment: xltkit run "
              "PARAMS.yaml) first", file=sys.stderr)
        return 2
    print(report(exp, from_cwd(args.out) if args.out else None))
    return 0


def _score(args) -> int:
    from xltkit.analysis.benchmark import render_scores, xtreme_r_score

    p = Path(args.results)
    p = p / "results.parquet" if p.is_dir() else p
    if not p.is_file():
        raise FileNotFoundError(f"results table not found: {p}")
    from xltkit.analysis.benchmark import SYSTEM_KEYS, VARIANTS
    from xltkit.analysis.commits import commit_notes, with_commits

    results = pd.read_parquet(p)
    variants = args.variants
    if variants is None:  # every variant the table's flags allow (tables from before a flag lack it)
        variants = [v for v, flags in VARIANTS.items() if all(c in results.columns for c, _ in flags)]
    try:
        table = xtreme_r_score(results, variants=variants, overall=args.overall, interval=args.interval)
    except ValueError as e:
        print(f"xltkit: error: {e}", file=sys.stderr)
        return 2
    keys = [k for k in SYSTEM_KEYS if k in results.columns]  # a system whose seeds started from other hub weights
    table = with_commits(table, results, keys)
    print(render_scores(table))
    for note in commit_notes(results, keys):
        print(f"note: {note}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"\n-> {args.out}")
    return 0


def _tasks(args) -> int:
    from xltkit.tasks import TASKS

    if args.sources:  # the hub tasks' data, language by language
        rows = []
        for t in TASKS.values():
            for lang, src in getattr(t, "sources", {}).items():
                rows.append({"task": t.name, "lang": lang, "source": "registry", "data": src.describe()})
            for lang, alts in getattr(t, "alternatives", {}).items():
                rows += [{"task": t.name, "lang": lang, "source": f"source_choices: {name}", "data": alt.describe()}
                         for name, alt in alts.items()]
            for lang, why in getattr(t, "unavailable", {}).items():
                rows.append({"task": t.name, "lang": lang, "source": "task_files only", "data": why})
        with pd.option_context("display.width", 250, "display.max_colwidth", 110, "display.max_rows", 1000):
            print(pd.DataFrame(rows).to_string(index=False))
        return 0
    rows = [{"task": t.name, "head": t.head, "labels": len(t.labels), "metrics": ", ".join(t.metrics),
             "controls": ", ".join(t.controls), "description": t.description} for t in TASKS.values()]
    with pd.option_context("display.width", 250, "display.max_colwidth", 90):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def _models(args) -> int:
    from xltkit.modeling.models import MODELS

    rows = [{"model": m.name, "role": m.role, "needs stages": ", ".join(m.stages) or "-",
             "description": m.description} for m in MODELS.values()]
    rows.append({"model": "hf:<hub id or local path>", "role": "encoder", "needs stages": "-",
                 "description": "any Hugging Face encoder (from_pretrained; revision, trust_remote_code)"})
    with pd.option_context("display.width", 250, "display.max_colwidth", 90):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def _noise(args) -> int:
    from xltkit.modeling.noise import NOISE_METHODS

    rows = [{"method": m.name, "family": m.family, "knobs": ", ".join(m.knobs) or "-", "description": m.description}
            for m in NOISE_METHODS.values()]
    with pd.option_context("display.width", 250, "display.max_colwidth", 90):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="xltkit", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="expand PARAMS.yaml into runs, execute the stage notebooks, analyse")
    r.add_argument("params")
    r.add_argument("--outputs", type=from_cwd, default=OUTPUTS, help="output root (default: outputs in the project "
                   "root)")
    r.add_argument("--workers", type=int, default=None, help="parallel notebook processes (default: the file's); "
                   "with GPUs, each worker gets its own (CUDA_VISIBLE_DEVICES)")
    r.add_argument("--gpus-per-run", type=int, default=None, help="GPUs each worker (or SLURM job) gets, for models "
                   "that train on several")
    r.add_argument("--executor", default="warm",
                   choices=["warm", "process", "inline", "slurm", "submitit-local", "submitit-debug"],
                   help="where stage tasks run: the stage notebooks here, each worker keeping one kernel for "
                   "notebook after notebook (warm: the default); a fresh kernel for every stage task (process); "
                   "the stage functions in this process, one at a time (inline: for a debugger, no notebooks); "
                   "SLURM job arrays through submitit (resources: the file's executor block); or submitit's "
                   "local / debug stand-ins")
    r.add_argument("--retry-failed", action="store_true", help="run the runs that failed before again (each at "
                   "most 3 times in all)")
    r.add_argument("--no-analysis", action="store_true", help="skip the analysis notebook")
    r.add_argument("--no-data-check", action="store_true", help="do not read and check every hub split the runs "
                   "left to do read before starting them (columns, label names, placeholder labels, dropped rows)")
    r.set_defaults(fn=_run)
    s = sub.add_parser("status", help="table of an experiment's runs and their state")
    s.add_argument("experiment_dir")
    s.set_defaults(fn=_status)
    a = sub.add_parser("analyze", help="rerun the analysis of an experiment folder")
    a.add_argument("experiment_dir")
    a.add_argument("--n-boot", type=int, default=2000)
    a.set_defaults(fn=_analyze)
    lg = sub.add_parser("languages", help="typology of the lab's language presets")
    lg.add_argument("--sources", action="store_true", help="where each preset value comes from (URIEL+ feature, "
                    "Grambank id, lab choice)")
    lg.set_defaults(fn=_languages)
    ck = sub.add_parser("check", help="what the grid needs from the hub (models, datasets at their revisions) and "
                        "whether this machine has it, with the commands that fetch what is missing")
    ck.add_argument("params")
    ck.add_argument("--outputs", type=from_cwd, default=OUTPUTS)
    ck.add_argument("--load", action="store_true", help="also read every split the grid uses and check its columns, "
                    "labels and dropped rows (fetches what is missing where the hub is reachable)")
    ck.set_defaults(fn=_check)
    pl = sub.add_parser("plan", help="the runs and stage jobs of a grid, what is done, the examples and tokens each "
                        "stage will process and an estimate of device hours")
    pl.add_argument("params")
    pl.add_argument("--outputs", type=from_cwd, default=OUTPUTS)
    pl.add_argument("--jobs", action="store_true", help="also list every stage job")
    pl.add_argument("--rates", nargs="+", default=None, metavar="JSON", help="price with measured throughput: "
                    "reports of benchmarks/gpu_check.py --out (in place of the table's estimates for their encoder)")
    pl.add_argument("--count", action="store_true", help="read the splits whose size the registry lacks (where "
                    "the data is on this machine, or the hub is reachable) to count their rows")
    pl.set_defaults(fn=_plan)
    cp = sub.add_parser("compare", help="compare two results tables (files or experiment folders) value by value, "
                        "matched on their descriptive columns; exit 1 if any value differs")
    cp.add_argument("first")
    cp.add_argument("second")
    cp.set_defaults(fn=_compare)
    sc = sub.add_parser("score", help="XTREME-R score per system: tasks, categories, overall (%%), intervals over "
                        "seeds, what is missing; variants all / low-resource / unseen languages")
    sc.add_argument("results", help="a results.parquet or an experiment folder")
    sc.add_argument("--out", default=None, help="write the tidy table to this CSV file")
    sc.add_argument("--variants", nargs="+", default=None, help="all, low_resource (Joshi classes 0-2), unseen "
                    "(not the intermediate language), unrelated (nor a close relative of it); default: every one "
                    "the table's flags allow")
    sc.add_argument("--overall", choices=["categories", "tasks"], default="categories",
                    help="mean of the categories (default) or of the tasks (evaluate.py's all_task)")
    sc.add_argument("--interval", choices=["t", "bootstrap"], default="t", help="interval over seeds")
    sc.set_defaults(fn=_score)
    rp = sub.add_parser("report", help="one standalone HTML file of an experiment: the executed analysis and the "
                        "what-if view at its defaults, figures embedded (for a co-author without Python)")
    rp.add_argument("experiment_dir")
    rp.add_argument("--out", default=None, help="the HTML file (default: <experiment>/report.html)")
    rp.set_defaults(fn=_report)
    tk = sub.add_parser("tasks", help="the registered tasks: head kind, labels, metrics, controls")
    tk.add_argument("--sources", action="store_true", help="the hub tasks' data per language: the registry's "
                    "source, the alternatives a run may choose (source_choices), what needs task_files")
    tk.set_defaults(fn=_tasks)
    for name, fn, text in (("models", _models, "the encoders and controls a run can name in 'model'"),
                           ("noise", _noise, "the noise methods and the knobs each reads")):
        sub.add_parser(name, help=text).set_defaults(fn=fn)
    ty = sub.add_parser("typology", help="URIEL+ distances between languages (ISO 639-3 or lab codes), cached")
    ty.add_argument("langs", nargs="+", help="source languages, e.g. fin hun eng tur lab_fin")
    ty.add_argument("--targets", nargs="+", default=None, help="target languages (default: the same list)")
    ty.add_argument("--kinds", nargs="+", default=None, help="distances (default: all seven URIEL+ distances)")
    ty.add_argument("--cache-dir", type=from_cwd, default=Path("outputs/cache/typology"), help="where computed pairs are "
                    "kept (default: under the project root)")
    ty.set_defaults(fn=_typology)
    mo = sub.add_parser("morphology", help="morphological richness of text files (one sentence per line)")
    mo.add_argument("files", nargs="+", help="whitespace-tokenized text, one file per language")
    mo.add_argument("--tokenizer", default=None, help="a tokenizer folder or hub id, for subword fertility")
    mo.add_argument("--n-words", type=int, default=20000, help="equal-sized samples (default 20000 words)")
    mo.add_argument("--window", type=int, default=500, help="MATTR window (default 500)")
    mo.set_defaults(fn=_morphology)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except (ParamsError, FileNotFoundError) as e:
        print(f"xltkit: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
