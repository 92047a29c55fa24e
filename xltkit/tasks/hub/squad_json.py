"""SQuAD's own nested JSON (``data[].paragraphs[].qas[]``) as flat rows of the extractive-QA
contract, with both layouts of a question's answers that the hub's nested QA sets may have:
SQuAD's list and SzegedAI/MILQA's long and short answers (:func:`nested_rows`).  Read by
:class:`~xltkit.tasks.hub.qa.QATask` for the sources it lists as ``nested`` and for
``task_files`` folders of such files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from xltkit.tasks.base import TaskError

#: the layouts of a question's answers that :func:`nested_rows` reads
ANSWER_SHAPES = ("SQuAD's list [{text, answer_start}, ...], or MILQA's {long: [...], short: [{text, start}, ...]} "
                 "(start an integer or a string of one)")


def nested_rows(doc, where: str, long_only: list[str] | None = None) -> list[dict]:
    """SQuAD's own JSON (``data[].paragraphs[].qas[]``) as flat rows.

    A question's ``answers`` may be laid out two ways, and each is read explicitly:

    - SQuAD's list of ``{text, answer_start}`` (TurkuNLP/squad_v2_fi);
    - SzegedAI/MILQA's dict ``{"long": [...], "short": [...]}`` of ``{text, start}`` items
      (``start`` possibly a string; MILQA's items may carry ``end`` and ``modanswer`` and its
      questions ``qtype``), as two public readers of its files take them (Deatron01/Project-Mimir
      ``tests/eval/mimir_eval/importers.py``, ``_answers`` / ``_span``; an unnamed EDA script of
      ``train.MILQA-2023-03-27.squad.s.json``; others read the same files as SQuAD's list, and
      no copy was seen here, so both are read).  The **short** answers are the extractive spans:
      MILQA's card marks "the (shortest possible) answer" in the text, several for a list-type
      question, read here as alternatives as SQuAD's several answers are.  The **long** answer is
      the passage that holds the answer (a sentence or more), not a SQuAD answer: it is not read,
      nor is ``modanswer`` (a reworded answer, which need not stand at ``start``).  A question
      with a long answer and no short one (not marked ``is_impossible``) has no span to learn
      and is not unanswerable either: its id goes to ``long_only`` (the task drops and counts
      it), and it is read without answers.

    A question marked ``is_impossible`` (a boolean, or "true" / "false") has no answers whatever
    its answers say (SQuAD 2.0 keeps its plausible ones apart).  Any other layout, or an answer
    without its text or an integer start, is refused naming the question's id and the shape
    found.

    Example: ``{"id": "q1", "question": "Mikor?", "is_impossible": false, "answers": {"long":
    [{"text": "1848-ban kitört a forradalom.", "start": 120}], "short": [{"text": "1848-ban",
    "start": "120"}]}}`` reads as ``answers={"text": ["1848-ban"], "answer_start": [120]}``,
    as ``"answers": [{"text": "1848-ban", "answer_start": 120}]`` does.
    """
    rows = []
    try:
        for article in doc["data"]:
            for par in article["paragraphs"]:
                for qa in par["qas"]:
                    qid = str(qa["id"])
                    answers = [] if _impossible(qa, qid, where) else _spans(qa.get("answers"), qid, where)
                    if answers is None:  # MILQA: a long answer only
                        if long_only is not None:
                            long_only.append(qid)
                        answers = []
                    rows.append({"id": qid, "context": par["context"], "question": qa["question"],
                                 "answers": {"text": [t for t, _ in answers], "answer_start": [a for _, a in answers]}})
    except TaskError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise TaskError(f"{where} is not SQuAD's JSON (data[].paragraphs[].qas[] with id, question and answers "
                        f"[text, answer_start]): {type(e).__name__}: {e}") from None
    if not rows:
        raise TaskError(f"{where} holds no questions (data[].paragraphs[].qas[])")
    return rows


def _shape(x) -> str:
    """What ``x`` is, in a few words (for a refusal)."""
    if isinstance(x, dict):
        return "a dict with " + (", ".join(sorted(map(str, x))) or "no keys")
    if isinstance(x, list):
        return f"a list of {len(x)}" + (f" whose first is {_shape(x[0])}" if x else "")
    return f"{type(x).__name__} {x!r}"[:80]


def _impossible(qa: dict, qid: str, where: str) -> bool:
    v = qa.get("is_impossible")
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    if v is None or (isinstance(v, (bool, int)) and v in (0, 1)):
        return bool(v)
    raise TaskError(f"{where}: question {qid!r} has is_impossible {_shape(v)}; xltkit reads true or false")


def _spans(answers, qid: str, where: str) -> list[tuple[str, int]] | None:
    """A question's extractive answers as (text, start): SQuAD's list or MILQA's short answers
    (:func:`nested_rows`); None for a MILQA question with a long answer and no short one."""
    def refuse(found: str):
        raise TaskError(f"{where}: question {qid!r} has answers in a layout xltkit does not read: {found}; it "
                        f"reads {ANSWER_SHAPES}")

    if not answers:  # absent, null, [] or {}: no answer
        return []
    if isinstance(answers, list):
        items, text, start = answers, "text", "answer_start"
    elif isinstance(answers, dict) and set(answers) <= {"long", "short"}:
        items, longs, text, start = answers.get("short") or [], answers.get("long") or [], "text", "start"
        for part, value in (("short", items), ("long", longs)):
            if not isinstance(value, list):
                refuse(f"{_shape(answers)}, its {part} {_shape(value)}, not a list")
        if not items:
            return None if longs else []
    else:
        refuse(_shape(answers))
    outer = "a list" if isinstance(answers, list) else _shape(answers)
    out = []
    for x in items:
        if not isinstance(x, dict):
            refuse(f"{outer}, an answer {_shape(x)}")
        if not isinstance(x.get(text), str) or start not in x:
            refuse(f"{outer}, an answer without {text!r} (a string) or {start!r}: {_shape(x)}")
        at = x[start]
        if isinstance(at, str) and at.strip().lstrip("-").isdigit():
            at = int(at)
        if isinstance(at, float) and at.is_integer():
            at = int(at)
        if isinstance(at, bool) or not isinstance(at, int):
            refuse(f"{outer}, an answer whose {start!r} is {_shape(x[start])}, not an integer")
        out.append((x[text], at))
    return out


def read_json(path: Path):
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")) as f:
        return json.load(f)
