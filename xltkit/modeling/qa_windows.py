"""Where one example's QA windows sit in its context, and each context token's *max-context*
window: the rule of BERT's ``run_squad.py`` (google-research/bert, ``_check_is_max_context``),
which XTREME keeps, by which a span's start counts only in the window where that token sees
the most context on both sides.

XTREME (google-research/xtreme ``third_party/processors/squad.py``: ``_new_check_is_max_context``
at lines 60-79, called for every context token of every window at lines 182-190) scores a
token at position ``p`` of the context, in a window that starts at context token ``start`` and
holds ``length`` of them, as::

    min(p - start, start + length - 1 - p) + 0.01 * length

and the first window with the highest score is the token's max-context window (a later one
must score more, not as much).  Post-processing drops a candidate span whose *start* is not in
its window's max-context set; its end is not checked: transformers' ``compute_predictions_logits``
(``data/metrics/squad_metrics.py``, line 440 of transformers 2.4.1; XTREME's ``install_tools.sh``
pins commit cefd51c, not read here), which XTREME's ``third_party/run_squad.py`` imports at lines
55-59 and calls at line 403.  Hugging Face's ``run_qa.py`` does not apply the rule: its
``utils_qa.py`` checks ``token_is_max_context`` only where a feature carries one, and its
``prepare_validation_features`` makes none.

Here a window's place in the context comes from the tokenizer's own output, not from stride
arithmetic: neighbouring windows of one example share the character offsets of the context
tokens they overlap on, so the shift between them is the smallest one at which the earlier
window's tail and the later window's head hold the same offsets.  That reads the windows of
either stride mode (:data:`xltkit.modeling.qa.STRIDE_MODES`) alike.
"""

from __future__ import annotations

Offsets = list[tuple[int, int]]


def context_starts(windows: list[Offsets]) -> list[int]:
    """Where each window's first context token sits among the whole context's tokens.

    Args:
        windows: one example's windows in order, each the character offsets of its context
            tokens only (question and special tokens left out).

    Example: windows holding context tokens 0-5 and 3-9 give ``[0, 3]``.
    """
    starts = [0] if windows else []
    for prev, cur in zip(windows, windows[1:]):
        # the smallest shift at which prev's tail is cur's head (len(prev): they share no token)
        shift = next((k for k in range(1, len(prev)) if cur and prev[k] == cur[0] and prev[k:] == cur[: len(prev) - k]),
                     len(prev))
        starts.append(starts[-1] + shift)
    return starts


def max_context(offsets: list[Offsets], in_context: list[list[bool]]) -> list[list[bool]]:
    """Per window, per token: whether the token is a context token whose max-context window
    this is (XTREME's rule, see the module docstring).

    Args:
        offsets: one example's windows in order, the character offsets of every token.
        in_context: the same windows' masks of context tokens.

    A context that fits one window makes every context token max-context there.
    """
    ctx = [[o for o, c in zip(off, mask) if c] for off, mask in zip(offsets, in_context)]
    starts = context_starts(ctx)
    best: dict[int, tuple[float, int]] = {}  # context position -> (score, first window with it)
    for w, (start, tokens) in enumerate(zip(starts, ctx)):
        n = len(tokens)
        for j in range(n):
            score = min(j, n - 1 - j) + 0.01 * n
            if start + j not in best or score > best[start + j][0]:  # ties: the earlier window
                best[start + j] = (score, w)
    out = []
    for w, (start, mask) in enumerate(zip(starts, in_context)):
        j, row = 0, []
        for c in mask:
            row.append(bool(c) and best[start + j][1] == w)
            j += bool(c)
        out.append(row)
    return out
