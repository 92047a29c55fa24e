"""Checks of a run's parameters against its tasks, done before any work starts (called by
:class:`xltkit.pipeline.params.RunParams`'s validation): which noise a
task can take, and what a head kind needs of the settings."""

from __future__ import annotations


def check_head(run, task, stage: str) -> None:
    """What a head kind needs of the run's settings (QA: windows that fit; no dev scoring yet)."""
    if task.head != "extractive_qa" or not run.model.trainable:
        return
    enc = run.encoder
    if enc.qa_stride_mode == "step" and enc.qa_stride + 16 > enc.max_length:
        raise ValueError(f"task {task.name!r}: qa_stride={enc.qa_stride} with qa_stride_mode: step (the step "
                         f"between windows' starts) must be at most max_length={enc.max_length} less 16 tokens "
                         "(each window holds the question, cut to fit, and 3 or 4 special tokens besides the "
                         "qa_stride context tokens it adds); XTREME-R uses max_length 384, qa_stride 128")
    if enc.qa_stride_mode == "overlap" and enc.qa_stride * 2 + 16 > enc.max_length:
        raise ValueError(f"task {task.name!r}: qa_stride={enc.qa_stride} must be at most half of "
                         f"max_length={enc.max_length} less 16 tokens (each window repeats the question, up to 64 "
                         "tokens, and overlaps the last by qa_stride tokens); XTREME-R uses max_length 384, "
                         "qa_stride 128")
    if run.eval_every(stage) is not None and (stage == "finetune" or run.has_intermediate):
        fix = "intermediate_eval_every: 0" if stage == "intermediate" else "eval_every: null"
        raise ValueError(f"task {task.name!r} (extractive QA): scoring its dev set during training is not built "
                         f"yet; set {fix} (the last step is kept, as XTREME's SQuAD training does)")


def check_noise(run, task, stage: str, data) -> None:
    method, _, lang = run.stage_noise(stage)
    name = "noise" if stage == "finetune" else "intermediate_noise"
    if method == "none":
        return
    from xltkit.modeling.noise import NOISE_METHODS
    from xltkit.tasks.base import HEADS

    allowed = ", ".join(allowed_noise(task))
    if NOISE_METHODS[method].family == "token" and not HEADS[task.head].words:
        raise ValueError(f"{name}={method!r} rewrites the words of the training sentences; task {task.name!r} "
                         f"({task.head} head) has no word columns for it to rewrite; use an input-embedding "
                         f"method or none (allowed for it: {allowed})")
    if method in task.label_changing_noise:
        raise ValueError(f"{name}={method!r} can change the labels of task {task.name!r} (the task lists it in "
                         f"label_changing_noise: in a sentence pair a dropped 'not' turns a contradiction into "
                         f"an entailment); allowed for it: {allowed}")
    k = run.noise_knobs
    if method == "code-switch" and not k.code_switch_files:
        langs = task.languages(data)
        for code in k.code_switch_langs or []:
            if code not in langs:
                raise ValueError(f"code_switch_langs: {code!r} is not a language of task {task.name!r}; "
                                 f"allowed: {', '.join(langs)}")
        if not [c for c in (k.code_switch_langs or langs) if c != lang]:
            others = ", ".join(c for c in langs if c != lang) or "(none)"
            raise ValueError(f"{name}='code-switch' needs a language other than {lang!r} to switch to; "
                             f"set code_switch_langs to some of: {others}")
    task.check_noise(method, k, data)


def allowed_noise(task) -> list[str]:
    """The noise methods ``task`` can train with: not those that can change its labels
    (``label_changing_noise``), no token method where its head has no word columns to rewrite, and
    nothing where the head is not trained (retrieval scores the encoder as it is)."""
    from xltkit.modeling.noise import NOISE_METHODS
    from xltkit.tasks.base import HEADS

    if not HEADS[task.head].trained:
        return ["none"]
    words = bool(HEADS[task.head].words)
    return [n for n, m in NOISE_METHODS.items()
            if n not in task.label_changing_noise and (words or m.family != "token")]


def _methods() -> list[str]:
    from xltkit.modeling.noise import NOISE_METHODS

    return NOISE_METHODS.names()


def too_few_examples(run, task, lang: str, usable: int) -> str | None:
    """Why an intermediate stage cannot train ``task`` in ``lang`` on ``intermediate_examples`` when the
    split has ``usable`` rows (None: it can): the languages would not train on equal amounts.  Said
    by the stage before it trains, and by ``xltkit run``'s data check before any stage."""
    want = run.intermediate.intermediate_examples
    if want is None or usable >= want:
        return None
    return (f"intermediate_examples={want}, but task {task.name!r} has {usable} usable training examples in "
            f"{lang!r} (after dropping what its load notes count: {task.load_notes().get(f'{lang}/train', {})}); "
            f"lower intermediate_examples to {usable} or less, so that every language trains on the same number")
