"""The cost plan of extractive QA counts windows: XTREME's step windows (qa_stride_mode: step)
overlap more than the default's, so a long context makes more of them, and an epoch or an
evaluation costs more by that ratio."""

import pytest

from xltkit.pipeline.params import RunParams
from xltkit.pipeline.plan import plan, summary
from xltkit.tasks.hub.sizes import QA_LENGTHS


def _run(tmp_path, **kw) -> RunParams:
    base = dict(model="hf:xlm-roberta-base", target_task="xquad", source_lang="eng", eval_langs=["eng", "deu"],
                n_train=1_000, n_dev=None, n_test=None, finetune_epochs=1, batch_size=40, max_length=128,
                qa_stride=32, cache_dir=str(tmp_path / "cache"))
    return RunParams(**{**base, **kw})


def test_step_windows_cost_more_than_overlap_ones_by_the_ratio_of_their_windows(tmp_path):
    # by hand: XQuAD trains on SQuAD v1.1 (rajpurkar/squad), a context of about 180 XLM-R subwords and a
    # question of 14; a 128-token window holds 128 - 14 - 4 = 110 context tokens, 70 are left over:
    #   step (XTREME's doc_stride): a window every 32 context tokens: 1 + ceil(70 / 32) = 4 windows
    #   overlap (run_qa.py's):      windows share 32, so one every 110 - 32 = 78: 1 + ceil(70 / 78) = 2
    assert QA_LENGTHS["rajpurkar/squad"] == (180, 14)
    step, overlap = plan([_run(tmp_path, qa_stride_mode="step")]), plan([_run(tmp_path)])
    fine = lambda t: t[t.stage == "finetune"].iloc[0]  # noqa: E731
    assert (fine(step).windows_est, fine(overlap).windows_est) == (4, 2)
    assert (fine(step).examples, fine(overlap).examples) == (4_000, 2_000)  # 1,000 questions, one epoch, 100 / 50 steps
    assert fine(step).tokens_est == 2 * fine(overlap).tokens_est == 4_000 * 128  # full 128-token windows
    assert fine(step).device_hours == pytest.approx(2 * fine(overlap).device_hours)
    # XQuAD's own test sets have no typical length in the registry: one window a question, as before
    ev = lambda t: t[t.stage == "evaluate"].iloc[0]  # noqa: E731
    assert ev(step).examples == ev(overlap).examples == 2 * 1_190 and ev(step).windows_est == 1
    assert "up to 4.0 windows (model inputs) a question" in summary(step)


def test_xtremes_384_windows_hold_a_typical_squad_context_whole_in_either_mode(tmp_path):
    """At XTREME-R's max_length 384 a window holds 384 - 14 - 4 = 366 context tokens: a typical SQuAD
    context (about 180) is one window in both modes, so the estimate prices them the same (the
    long contexts' extra windows are not in a typical length)."""
    kw = dict(max_length=384, qa_stride=128)
    step, overlap = plan([_run(tmp_path, qa_stride_mode="step", **kw)]), plan([_run(tmp_path, **kw)])
    fine = lambda t: t[t.stage == "finetune"].iloc[0]  # noqa: E731
    assert fine(step).windows_est == fine(overlap).windows_est == 1
    assert fine(step).examples == fine(overlap).examples == 1_000


def test_a_stage_trained_for_steps_and_a_task_without_windows_are_priced_as_before(tmp_path):
    steps = dict(finetune_epochs=None, finetune_steps=10)
    step, overlap = plan([_run(tmp_path, qa_stride_mode="step", **steps)]), plan([_run(tmp_path, **steps)])
    fine = lambda t: t[t.stage == "finetune"].iloc[0]  # noqa: E731
    assert fine(step).examples == fine(overlap).examples == 10 * 40  # the steps' batches are windows already
    xnli = plan([_run(tmp_path, target_task="xnli", qa_stride_mode="step")])
    assert set(xnli.windows_est) == {1.0}
