"""XTREME's max-context rule (xltkit.modeling.qa_windows), checked by hand on a ten-token
context in two windows, and through the QA head's span choice."""

import numpy as np

from xltkit.modeling.qa import ExtractiveQAHead, QASettings
from xltkit.modeling.qa_windows import context_starts, max_context

CONTEXT = " ".join(f"t{i}" for i in range(10))  # "t0 t1 ... t9": token i at characters 3i to 3i + 2
TOKENS = [(3 * i, 3 * i + 2) for i in range(10)]


def _window(first: int, last: int):
    """Offsets and context mask of a window <s> q </s></s> t_first .. t_last </s>."""
    offsets = [(0, 0), (0, 1), (0, 0), (0, 0), *TOKENS[first:last + 1], (0, 0)]
    return offsets, [False] * 4 + [True] * (last - first + 1) + [False]


# two windows: context tokens 0-5 (6 of them) and 3-9 (7), sharing t3, t4 and t5
(OFF0, CTX0), (OFF1, CTX1) = _window(0, 5), _window(3, 9)


def test_windows_are_placed_by_their_offsets():
    assert context_starts([TOKENS[0:6], TOKENS[3:10]]) == [0, 3]
    assert context_starts([TOKENS[0:4], TOKENS[4:10]]) == [0, 4]  # no token shared: the next one
    assert context_starts([TOKENS]) == [0] and context_starts([]) == []


def test_max_context_by_hand_the_shared_tokens_go_to_the_window_where_they_are_most_central():
    # score = min(left, right) + 0.01 * window length, left/right counted in the window's context tokens
    #        window 0 (start 0, 6 tokens)   window 1 (start 3, 7 tokens)   max context
    # t3     min(3, 2) + 0.06 = 2.06        min(0, 6) + 0.07 = 0.07        window 0
    # t4     min(4, 1) + 0.06 = 1.06        min(1, 5) + 0.07 = 1.07        window 1 (by the length term)
    # t5     min(5, 0) + 0.06 = 0.06        min(2, 4) + 0.07 = 2.07        window 1
    first, second = max_context([OFF0, OFF1], [CTX0, CTX1])
    ctx0 = [i for i, c in enumerate(CTX0) if c]
    ctx1 = [i for i, c in enumerate(CTX1) if c]
    assert [first[i] for i in ctx0] == [True, True, True, True, False, False]  # t0-t3
    assert [second[i] for i in ctx1] == [False, True, True, True, True, True, True]  # t4-t9
    assert not any(first[i] for i, c in enumerate(CTX0) if not c)  # question and special tokens never
    assert max_context([OFF0], [CTX0]) == [CTX0]  # one window: every context token is its own


def _logits(n, **peaks):
    start, end = np.zeros(n), np.zeros(n)
    for k, (s, e) in peaks.items():
        start[int(k[1:])], end[int(k[1:])] = s, e
    return start, end


def test_a_span_in_two_windows_is_scored_in_its_start_tokens_max_context_window():
    """The span "t4 t5" lies in both windows; t4's max-context window is the second (1.07 > 1.06).  The
    first window scores it 5 + 5, the second 4 + 4; the null score is 4.5 + 4.5 = 9 (the lower of
    the two windows' first tokens)."""
    w0 = _logits(11, p0=(5.0, 5.0), p8=(5.0, 0.0), p9=(0.0, 5.0))  # <s> = p0; t4 = p8, t5 = p9 in window 0
    w1 = _logits(12, p0=(4.5, 4.5), p5=(4.0, 0.0), p6=(0.0, 4.0))  # t4 = p5, t5 = p6 in window 1
    windows = [(w0, OFF0, CTX0), (w1, OFF1, CTX1)]
    starts = max_context([OFF0, OFF1], [CTX0, CTX1])
    head = ExtractiveQAHead(QASettings(allow_null=True))
    assert head.best_span(CONTEXT, windows) == "t4 t5"  # every window scores it: 10 beats the null's 9
    assert head.best_span(CONTEXT, windows, starts) == ""  # only the second window's 8 counts: the null wins
    answerable = ExtractiveQAHead(QASettings(allow_null=False))
    assert answerable.best_span(CONTEXT, windows, starts) == "t4 t5"  # 8, the best a max-context start makes
    # a start that is max-context nowhere but in the first window: the first window's span stands
    w0b = _logits(11, p7=(5.0, 0.0), p8=(0.0, 5.0))  # "t3 t4": t3 is max-context in window 0
    assert answerable.best_span(CONTEXT, [(w0b, OFF0, CTX0), (w1, OFF1, CTX1)], starts) == "t3 t4"


def test_the_rule_follows_the_windows_unless_set():
    assert not QASettings().uses_max_context  # overlap: Hugging Face's run_qa.py scores every window
    assert QASettings(stride_mode="step").uses_max_context  # XTREME's windows, XTREME's rule
    assert not QASettings(stride_mode="step", max_context=False).uses_max_context
    assert QASettings(max_context=True).uses_max_context
