"""The XTREME-R benchmark score of each system: per task, per category and overall, per seed,
with an interval over seeds, and an explicit account of what is missing.

Definition (Ruder et al. 2021, "XTREME-R: Towards More Challenging and Nuanced Multilingual
Evaluation", EMNLP, arXiv 2104.07412; code read at google-research/xtreme@838c13b,
``evaluate.py``):

- **Task score** = the unweighted mean over the task's languages of its metric, in % (×100;
  xltkit's results hold fractions in [0, 1]).  ``evaluate.py`` l. 269-297: ``avg_<metric>``
  is the plain mean over ``XTREME_R_TASK2LANGS[task]`` (l. 160-176), and the task's
  ``avg_metric`` is F1 for tagging, accuracy for classification and Tatoeba, mAP@20 for
  Mewsli-X, and for QA (XQuAD, MLQA, TyDiQA) **(EM + F1) / 2** (l. 290-291).  That is the
  mean over languages of (EM + F1) / 2 when both metrics cover the same languages, which
  is how it is computed here (a language lacking one of the two is left out, and named).
- **Category score** = the mean of its tasks' scores (``evaluate.py`` l. 315-319 for the
  groups of ``XTREME_R_GROUP2TASK``, l. 126-132).
- **Overall score** = the mean of the four category scores (``overall="categories"``,
  the default), which is what the brief of this module states as the paper's definition.
  That part of the paper could not be read here (only its abstract and introduction were
  available through the corpora), so it is [unverified]. The official code's
  ``all_task`` (l. 311-313) is instead the mean over **tasks**, and
  ``overall="tasks"`` computes that.

Where this departs from the official code, and why:

- ``evaluate.py`` cannot produce an overall score: ``all_task`` needs every task of
  ``XTREME_R_TASK2LANGS``, and LaReQA's language list there is empty (l. 171), so it
  never gets an ``avg_metric``.  LaReQA is here given XQuAD-R's 11 languages (the files of
  google-research-datasets/lareqa@9bc8c7f:``xquad-r/``), and its metric is mAP@20 (xtreme
  ``third_party/evaluate_retrieval.py`` l. 603-604).  It is scored over one multilingual
  pool, not per language, so the language list only says what complete coverage would be.
- ``XTREME_R_GROUP2TASK`` lists XCOPA twice, under "classification" and "multi_choice"
  (l. 127, 131), and lists LaReQA in no group.  Here each task belongs to exactly ONE of the
  paper's four categories (classification: XNLI, XCOPA; structured prediction: UD-POS,
  PAN-X; question answering: XQuAD, MLQA, TyDiQA; retrieval: Tatoeba, Mewsli-X, LaReQA).
  With XCOPA counted twice the categories would not partition the tasks, and a mean of
  categories would weight XCOPA twice.
- A task is scored over the languages it has results in, and a category over its tasks with
  results (the official code raises on a missing language file and drops a group with a
  missing task).  What is absent is named in the output, never hidden: ``complete`` is True
  only where every language of every task is there.  Mewsli-X and LaReQA are not on the
  hub, so in xltkit they are always missing, and the overall score is never ``complete``.
  A partial score must not be reported as the XTREME-R score.
- UD-POS contributes xltkit's ``span_f1``: seqeval's chunk F1 over the UPOS tags, as
  ``evaluate.py`` (l. 204, 74-78) scores it (seqeval 1.2.2 reads each tag's first letter as
  a chunk prefix and merges a run of the same tag into one chunk, so it is close to, but not,
  token accuracy, which xltkit records beside it).  PAN-X contributes ``span_f1`` (seqeval, as XTREME
  does), XNLI and XCOPA ``accuracy``, Tatoeba ``accuracy`` (top-1, xx -> en), and QA
  ``exact_match`` and ``f1``.

Seeds: a system is one (model, source_lang, intermediate_task, intermediate_lang,
noise_setting, intermediate_noise_setting); its seeds are replicates.  Every score is
computed per seed.  Category and overall scores use the seeds that all their tasks share:
seed s of every task comes from the same intermediate training, so the seeds are paired
across tasks.  Languages that only some seeds have are left out of the task, so that every
seed averages the same languages.  The interval over seeds is a t interval by default:
mean ± t(1-α/2, n-1) · sd / √n, not clipped to [0, 100].  ``interval="bootstrap"`` is the
percentile interval of the seed level of :func:`xltkit.analysis.gains.hierarchical_bootstrap`.
With 2-5 seeds that interval is at most the seeds' range (with 2, exactly [min, max], which
holds the mean half the time), hence the t default.  One seed: no interval (NaN), said in
``note``.

Variants: ``all`` (every language), ``low_resource`` (rows with ``eval_low_resource``:
Joshi et al. 2020 classes 0-2), ``unseen`` (rows with ``eval_seen`` dropped: not the
intermediate language), ``unrelated`` (neither the intermediate language nor a close relative
of it, ``eval_relative``: one WALS genus, Estonian for Finnish).  Where a variant leaves a task none of the benchmark's languages
(MLQA has no low-resource language), the task is not applicable to that variant rather
than missing.

Example::

    >>> table = xtreme_r_score(pd.read_parquet("outputs/real/results.parquet"))
    >>> print(render_scores(table))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from xltkit.analysis.gains import hierarchical_bootstrap
from xltkit.analysis.labels import with_noise_settings
from xltkit.typology.languages import LANGUAGES, iso3

#: ``intermediate_recipe``: what the intermediate training was, seed aside (its data and settings): scores of
#: two targets are one system's only where they come from the same intermediate training (a table written
#: before the column existed counts as one recipe, "unrecorded")
SYSTEM_KEYS = ["model", "source_lang", "intermediate_task", "intermediate_lang", "noise_setting",
               "intermediate_noise_setting", "intermediate_recipe"]
REQUIRED = [k for k in SYSTEM_KEYS if k != "intermediate_recipe"] + ["target_task", "seed", "eval_lang", "split",
                                                                      "metric", "value", "phenomenon"]
#: variant -> the (flag column, value kept) pairs it reads; "all" reads none
VARIANTS = {"all": (), "low_resource": (("eval_low_resource", True),), "unseen": (("eval_seen", False),),
            "unrelated": (("eval_seen", False), ("eval_relative", False))}
COLUMNS = SYSTEM_KEYS + ["benchmark", "variant", "level", "name", "category", "metric", "score", "ci_low", "ci_high",
                         "n_seeds", "seeds", "n_languages", "languages", "languages_missing", "tasks_used",
                         "tasks_missing", "categories_missing", "complete", "note"]


@dataclass(frozen=True)
class BenchmarkTask:
    """One task of a benchmark: its category, its languages (ISO 639-3), and the xltkit metrics
    whose per-language mean it contributes (QA: ``exact_match`` and ``f1``, averaged)."""

    name: str
    category: str
    languages: tuple[str, ...]
    metrics: tuple[str, ...]
    official: str = ""  # what the benchmark's own code computes, where xltkit's metric differs

    @property
    def metric_label(self) -> str:
        return self.metrics[0] if len(self.metrics) == 1 else f"mean({', '.join(self.metrics)})"


@dataclass(frozen=True)
class Benchmark:
    """A benchmark as data: its tasks, each in exactly one category (in the order given)."""

    name: str
    tasks: tuple[BenchmarkTask, ...]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.category for t in self.tasks))

    def in_category(self, category: str) -> tuple[BenchmarkTask, ...]:
        return tuple(t for t in self.tasks if t.category == category)


def _iso3(codes: str) -> tuple[str, ...]:
    """The benchmark's 2-letter codes, comma-separated, as xltkit's ISO 639-3 codes."""
    return tuple(iso3(c) for c in codes.split(","))


QA = ("exact_match", "f1")
XTREME_R = Benchmark("xtreme-r", (  # languages: XTREME_R_TASK2LANGS, google-research/xtreme@838c13b:evaluate.py
    BenchmarkTask("xnli", "classification", _iso3("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"), ("accuracy",)),
    BenchmarkTask("xcopa", "classification", _iso3("et,ht,id,it,qu,sw,ta,th,tr,vi,zh"), ("accuracy",)),
    BenchmarkTask("udpos", "structured_prediction", _iso3(
        "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh,lt,pl,uk,"
        "wo,ro"), ("span_f1",), official="seqeval chunk F1 over UPOS tags"),
    BenchmarkTask("panx", "structured_prediction", _iso3(
        "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,"
        "tr,et,fi,hu,qu,pl,uk,az,lt,pa,gu,ro"), ("span_f1",)),
    BenchmarkTask("xquad", "question_answering", _iso3("en,es,de,el,ru,tr,ar,vi,th,zh,hi,ro"), QA),
    BenchmarkTask("mlqa", "question_answering", _iso3("en,es,de,ar,hi,vi,zh"), QA),
    BenchmarkTask("tydiqa", "question_answering", _iso3("en,ar,bn,fi,id,ko,ru,sw,te"), QA),
    BenchmarkTask("tatoeba", "retrieval", _iso3(
        "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu,"
        "az,lt,pl,uk,ro"), ("accuracy",)),
    BenchmarkTask("mewsli-x", "retrieval", _iso3("ar,de,en,es,fa,ja,pl,ro,ta,tr,uk"), ("map@20",),
                  official="mAP@20; not on the hub, never in xltkit's results"),
    BenchmarkTask("lareqa", "retrieval", _iso3("ar,de,el,en,es,hi,ru,th,tr,vi,zh"), ("map@20",),
                  official="mAP@20 over one multilingual pool (XQuAD-R); not on the hub, never in xltkit's results"),
))


def seed_interval(values, interval: str = "t", confidence: float = 0.95, n_boot: int = 2000,
                  rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """Mean of per-seed scores and its interval: t (default) or the percentile bootstrap over
    seeds; NaN bounds with fewer than two seeds."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean()) if len(x) else float("nan")
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    if interval == "t":
        half = float(student_t.ppf(1 - (1 - confidence) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
        return mean, mean - half, mean + half
    if interval == "bootstrap":
        return hierarchical_bootstrap(x[:, None], n_boot, rng or np.random.default_rng(0), confidence)
    raise ValueError(f"unknown interval {interval!r}: 't' or 'bootstrap'")


def _prepare(results: pd.DataFrame, variants) -> pd.DataFrame:
    """The rows that count: test split, all phenomena, same-language setting; values in %."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; allowed: {list(VARIANTS)}")
    if "noise_setting" not in results.columns and {"noise", "noise_scale"} <= set(results.columns):
        results = with_noise_settings(results)  # older tables: labels from noise / noise_scale
    elif "intermediate_noise_setting" not in results.columns and "noise_setting" in results.columns:
        results = results.assign(intermediate_noise_setting="none")
    flags = list(dict.fromkeys(c for v in variants for c, _ in VARIANTS[v]))
    missing = [c for c in REQUIRED + flags if c not in results.columns]
    if missing:
        need = {c: v for v in variants for c, _ in VARIANTS[v] if c in missing}
        why = "".join(f"; {c!r} is needed by the {v!r} variant (leave it out of variants)" for c, v in need.items())
        raise ValueError(f"results table lacks column(s) {missing}{why}; columns: {list(results.columns)}")
    r = results.assign(eval_setting=results["eval_setting"] if "eval_setting" in results.columns else "same")
    if "intermediate_recipe" not in r.columns:
        r = r.assign(intermediate_recipe="unrecorded")
    r = r[(r.split == "test") & (r.phenomenon == "all") & (r.eval_setting == "same")]
    if r.empty:
        raise ValueError("no rows with split == 'test', phenomenon == 'all', eval_setting == 'same': the benchmark "
                         f"scores test sets (splits here: {sorted(map(str, results.split.unique()))})")
    keys = SYSTEM_KEYS + ["target_task", "seed", "eval_lang", "metric"]
    dup = r[r.duplicated(keys, keep=False)]
    if len(dup) and "retrieval_pooling" in dup.columns and dup.retrieval_pooling.nunique() > 1:
        raise ValueError(f"the table scores retrieval with several poolings ({sorted(dup.retrieval_pooling.unique())}): "
                         "one benchmark score reads one; filter the rows to one retrieval_pooling first")
    if len(dup):
        raise ValueError(f"{len(dup)} test rows share system, task, seed, language and metric (two experiments of "
                         f"one system? filter by experiment first), e.g. {dup[keys].iloc[0].to_dict()}")
    for c in flags:
        r[c] = r[c].astype("boolean").fillna(False).astype(bool)  # unknown flag: not low-resource, not seen
    return r.assign(value=r["value"].astype(float) * 100.0)


def _task(rows: pd.DataFrame, task: BenchmarkTask, expected: tuple[str, ...]) -> dict:
    """One task of one system and variant: per-seed scores over the languages every seed has."""
    t = rows[(rows.target_task == task.name) & rows.metric.isin(task.metrics)]
    notes = []
    outside = sorted(set(t.eval_lang) - set(task.languages))
    if outside:
        notes.append(f"not {task.name} languages of the benchmark, left out: {', '.join(map(str, outside))}")
    t = t[t.eval_lang.isin(expected)]
    wide = t.pivot_table(index=["seed", "eval_lang"], columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(columns=list(task.metrics))
    lacking = wide[wide.isna().any(axis=1)]
    if len(lacking):
        for lang, g in lacking.groupby(level="eval_lang"):
            gone = [m for m in task.metrics if g[m].isna().any()]
            notes.append(f"{lang} lacks {', '.join(gone)} (the task's score needs {task.metric_label}): left out")
    per_lang = wide.dropna().mean(axis=1)  # (seed, language) -> the language's score; QA: (EM + F1) / 2
    by_seed = per_lang.unstack("eval_lang") if len(per_lang) else pd.DataFrame()  # (seeds, languages)
    full = [c for c in by_seed.columns if by_seed[c].notna().all()]
    some = sorted(set(by_seed.columns) - set(full))
    if some:
        notes.append(f"in only some seeds, left out so every seed averages the same languages: {', '.join(some)}")
    used = sorted(full)
    per_seed = by_seed[used].mean(axis=1) if used else pd.Series(dtype=float)
    return {"per_seed": per_seed, "languages": used, "missing": [lang for lang in expected if lang not in used],
            "notes": notes}


def _combine(parts: dict[str, pd.Series]) -> tuple[pd.Series | None, float]:
    """Per-seed mean of ``parts`` over the seeds they all have; (None, mean of their means) where no
    seed is shared."""
    df = pd.concat(parts, axis=1).dropna()
    if len(df):
        return df.mean(axis=1), float(df.mean(axis=1).mean())
    return None, float(np.mean([p.mean() for p in parts.values()]))


def _row(system, variant, level, name, category, metric, per_seed, point, interval, confidence, n_boot, rng,
         notes, **info) -> dict:
    if per_seed is None or not len(per_seed):
        score, lo, hi, seeds = point, float("nan"), float("nan"), []
        if not np.isnan(point):
            notes = notes + ["no seed is shared by all its parts: the mean of their seed means, without an "
                             "interval"]
    else:
        score, lo, hi = seed_interval(per_seed.to_numpy(), interval, confidence, n_boot, rng)
        seeds = sorted(per_seed.index.tolist())
        if len(seeds) == 1:
            notes = notes + ["one seed: no interval"]
    return {**system, "benchmark": info.pop("benchmark"), "variant": variant, "level": level, "name": name,
            "category": category, "metric": metric, "score": score, "ci_low": lo, "ci_high": hi,
            "n_seeds": len(seeds), "seeds": ", ".join(map(str, seeds)), "note": "; ".join(notes), **info}


def benchmark_score(results: pd.DataFrame, benchmark: Benchmark, variants=("all", "low_resource", "unseen"),
                    overall: str = "categories", interval: str = "t", confidence: float = 0.95, n_boot: int = 2000,
                    seed: int = 0) -> pd.DataFrame:
    """Task, category and overall scores (%) of every system in ``results`` on ``benchmark``, per
    variant, with intervals over seeds and what is missing (see the module docstring).

    Args:
        results: a results table (:mod:`xltkit.core.results`); only test rows of all
            phenomena in the same-language setting are read.
        variants: any of "all", "low_resource" (needs ``eval_low_resource``), "unseen"
            (needs ``eval_seen``), "unrelated" (needs ``eval_seen`` and ``eval_relative``).
        overall: "categories" (mean of the category scores) or "tasks" (mean of the task
            scores, as ``all_task`` in the official evaluate.py).
        interval: "t" or "bootstrap" (over seeds).

    Returns one row per system, variant and level ("task", "category", "overall") with the
    columns of ``COLUMNS``; a task or category without results has a NaN score and says so.
    """
    if overall not in ("categories", "tasks"):
        raise ValueError(f"unknown overall {overall!r}: 'categories' (default) or 'tasks' (evaluate.py's all_task)")
    r = _prepare(results, list(variants))
    names = {t.name for t in benchmark.tasks}
    if not r.target_task.isin(names).any():
        raise ValueError(f"no test rows of {benchmark.name} tasks ({', '.join(sorted(names))}); target tasks here: "
                         f"{sorted(map(str, r.target_task.unique()))}")
    rng, out = np.random.default_rng(seed), []
    stat = dict(interval=interval, confidence=confidence, n_boot=n_boot, rng=rng)
    for key, g in r.groupby(SYSTEM_KEYS, dropna=False, sort=True):
        system = dict(zip(SYSTEM_KEYS, key))
        other = sorted(set(map(str, g.target_task)) - names)
        for variant in variants:
            rows = g
            for col, keep in VARIANTS[variant]:
                rows = rows[rows[col] == keep]
            out += _system_rows(system, variant, rows, g, benchmark, overall, stat, other)
    return pd.DataFrame(out, columns=COLUMNS)


def _expected(task: BenchmarkTask, variant: str, system: dict, g: pd.DataFrame) -> tuple[str, ...]:
    """The task's benchmark languages that belong to ``variant`` (for "unseen": not seen by this system)."""
    if variant == "low_resource":
        return tuple(lang for lang in task.languages if LANGUAGES[lang].low_resource)
    if variant in ("unseen", "unrelated"):
        seen = set(g.loc[g.eval_seen, "eval_lang"]) | {system["intermediate_lang"]}
        if variant == "unrelated":  # nor a close relative of it (one WALS genus: Estonian for Finnish)
            seen |= set(g.loc[g.eval_relative, "eval_lang"])
        return tuple(lang for lang in task.languages if lang not in seen)
    return task.languages


def _system_rows(system, variant, rows, g, benchmark, overall, stat, other) -> list[dict]:
    """The task, category and overall rows of one system in one variant."""
    out, tasks, cats = [], {}, {}  # tasks / cats: name -> what was scored
    base = dict(benchmark=benchmark.name, categories_missing="")

    def add(level, name, category, metric, per_seed, point, **info):
        out.append(_row(system, variant, level, name, category, metric, per_seed, point, **base, **stat, **info))

    for category in benchmark.categories:
        used, missing, langs_missing = [], [], []
        for task in benchmark.in_category(category):
            expected = _expected(task, variant, system, g)
            if not expected:  # the variant leaves this task none of the benchmark's languages
                add("task", task.name, category, task.metric_label, None, float("nan"),
                    notes=[f"not applicable: none of its benchmark languages is in the {variant} variant"],
                    n_languages=0, languages="", languages_missing="", tasks_used="", tasks_missing="", complete=True)
                continue
            s = _task(rows, task, expected)
            notes = (["no results"] if not s["languages"] else []) + s["notes"] + (
                [f"official: {task.official}"] if task.official else [])
            add("task", task.name, category, task.metric_label, s["per_seed"], float("nan"), notes=notes,
                n_languages=len(s["languages"]), languages=", ".join(s["languages"]),
                languages_missing=", ".join(s["missing"]), tasks_used=task.name if s["languages"] else "",
                tasks_missing="" if s["languages"] else task.name, complete=not s["missing"])
            if s["languages"]:
                used.append(task.name)
                tasks[task.name] = s
                if s["missing"]:
                    langs_missing.append(f"{task.name}: {', '.join(s['missing'])}")
            else:
                missing.append(task.name)
        if not used and not missing:
            continue  # no task of this category applies to the variant
        per_seed, point = _combine({t: tasks[t]["per_seed"] for t in used}) if used else (None, float("nan"))
        langs = {lang for t in used for lang in tasks[t]["languages"]}
        complete = not missing and not langs_missing
        add("category", category, category, "mean of its tasks", per_seed, point, notes=[] if used else ["no results"],
            n_languages=len(langs), languages="", languages_missing="; ".join(langs_missing),
            tasks_used=", ".join(used), tasks_missing=", ".join(missing), complete=complete)
        cats[category] = dict(per_seed=per_seed, point=point, used=used, missing=missing, complete=complete)
    present = {c: v for c, v in cats.items() if v["used"]}
    if overall == "categories":
        parts, points = {c: v["per_seed"] for c, v in present.items()}, [v["point"] for v in present.values()]
    else:
        parts = {t: s["per_seed"] for t, s in tasks.items()}
        points = [float(s["per_seed"].mean()) for s in tasks.values()]
    if not parts or any(p is None for p in parts.values()):  # a category without a seed all its tasks share
        per_seed, point = None, float(np.mean(points)) if points else float("nan")
    else:
        per_seed, point = _combine(parts)
    used_all = [t for v in cats.values() for t in v["used"]]
    missing_all = [t for v in cats.values() for t in v["missing"]]
    complete = all(v["complete"] for v in cats.values())
    notes = [] if complete else [f"PARTIAL: not the {benchmark.name} score (tasks missing: "
                                 f"{', '.join(missing_all) or 'none'}; languages missing: see the task rows)"]
    if other:
        notes.append(f"target tasks not in {benchmark.name}, left out: {', '.join(other)}")
    base["categories_missing"] = ", ".join(c for c, v in cats.items() if not v["used"])
    add("overall", "overall", "", "mean of the categories" if overall == "categories" else "mean of the tasks",
        per_seed, point, notes=notes, n_languages=len({lang for s in tasks.values() for lang in s["languages"]}),
        languages="", languages_missing="", tasks_used=", ".join(used_all), tasks_missing=", ".join(missing_all),
        complete=complete)
    return out


def xtreme_r_score(results: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """:func:`benchmark_score` on XTREME-R (``XTREME_R``)."""
    return benchmark_score(results, XTREME_R, **kwargs)


def render_scores(table: pd.DataFrame) -> str:
    """A short text rendering: per system and variant the overall score, its categories and tasks."""
    def fmt(r) -> str:
        if pd.isna(r.score):
            return "   -  "
        ci = f" [{r.ci_low:.1f}, {r.ci_high:.1f}]" if pd.notna(r.ci_low) else " (no interval)"
        return f"{r.score:5.1f}{ci}"

    lines = ["Scores in % (metric values x 100); intervals over seeds."]
    for key, g in table.groupby(SYSTEM_KEYS + ["variant"], dropna=False, sort=False):
        sysd = dict(zip(SYSTEM_KEYS + ["variant"], key))
        lines.append("\n" + ", ".join(f"{k}={v}" for k, v in sysd.items()))
        o = g[g.level == "overall"].iloc[0]
        status = "complete" if o.complete else "PARTIAL"
        lines.append(f"  overall ({o.metric}, {o.n_seeds} seed{'' if o.n_seeds == 1 else 's'}): {fmt(o)}  {status}"
                     + (f"; missing categories: {o.categories_missing}" if o.categories_missing else ""))
        for _, c in g[g.level == "category"].iterrows():
            lines.append(f"    {c['name']:22} {fmt(c)}" + (f"  missing: {c.tasks_missing}" if c.tasks_missing else ""))
            for _, t in g[(g.level == "task") & (g.category == c["name"])].iterrows():
                n_exp = t.n_languages + (len(t.languages_missing.split(", ")) if t.languages_missing else 0)
                cover = f"{t.n_languages}/{n_exp} languages" if n_exp else "n/a in this variant"
                lines.append(f"      {t['name']:20} {fmt(t)}  {cover}, {t.metric}")
        if o.note:
            lines.append(f"  note: {o.note}")
    return "\n".join(lines)
