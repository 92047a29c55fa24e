"""Training throughput by encoder, for ``xltkit plan``'s cost estimates.

Each row says where its number comes from.  Measured rows were timed on the machine they
name; the GPU rows are *estimates*, not measurements: training costs about 6 x N FLOPs per
token for an encoder of N non-embedding parameters (Kaplan et al. 2020, sec. 2.1), and the
table assumes 10% of an H200's dense bf16 peak (about 790 TFLOP/s: 0.10 x 790e12 / (6 N)): small fine-tuning batches (32 x 128 tokens) spend much of a step outside the matrix units.
A step also costs at least ``step_seconds`` (an estimate too: at the study's micro-batch of
8 sentences a step of XLM-R base is bound by kernel launches and the optimizer, about 25 ms,
not by arithmetic).  Replace them with a measurement before you budget a grid on them:
``benchmarks/gpu_check.py --batch 8 --seq 64 --out gpu.json`` times XLM-R base at the study's
shapes, and ``xltkit plan PARAMS --rates gpu.json`` prices the grid with that measurement
(:func:`measured`), labelled as such.

A measurement is a rate at one step shape and precision: bf16 training of micro-batches of
``batch`` sequences of ``seq`` tokens.  It prices a job by this rule (:func:`for_job`), which
each job's ``rate_source`` states:

- a job in another precision (fp32 or fp16 training; every evaluation, whose forward passes
  run in fp32) is not priced by it: it keeps the table's estimate (a bf16 estimate, so likely
  too fast for it), and says so;
- a job whose step is the measured shape (the same micro-batch, and its tokens per example,
  themselves an estimate, within a quarter of ``seq``) is priced as measured;
- any other job is priced per token at the measured rate, each step costing at least the
  measured step's time, and says its shape beside the measured one: likely an overestimate,
  since a fuller step runs faster per token (attention's share of the work grows with the
  length, but is a few percent at these lengths) and an emptier one takes less than the
  measured step.  Measure at the job's shape to price it as measured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

H200_BF16_PEAK = 790e12
ASSUMED_MFU = 0.10


@dataclass(frozen=True)
class Throughput:
    tokens_per_second: float
    device: str
    source: str
    step_seconds: float = 0.0  # the least a training step (one micro-batch) costs
    precision: str = "bf16"  # what the rate is a rate of (the lab's CPU rows: fp32)
    batch: int | None = None  # a measurement's step shape: micro-batch x seq tokens (None: an estimate)
    seq: int | None = None


def _estimate(non_embedding_params: float) -> float:
    return ASSUMED_MFU * H200_BF16_PEAK / (6 * non_embedding_params)


#: encoder (model id or lab name) -> training tokens per second
THROUGHPUT: dict[str, Throughput] = {
    "lab-bert": Throughput(5_000, "2-core CPU, 1 thread", "measured: pretraining a 1M-parameter BERT (FACTS.md)",
                           precision="fp32"),
    "lab-bert-untrained": Throughput(5_000, "2-core CPU, 1 thread", "as lab-bert", precision="fp32"),
    "xlm-roberta-base": Throughput(_estimate(85e6), "H200, bf16",
                                   "estimate: 6N FLOPs/token, 10% of peak, N=85M; at least 25 ms a step", 0.025),
    "xlm-roberta-large": Throughput(_estimate(303e6), "H200, bf16",
                                    "estimate: 6N FLOPs/token, 10% of peak, N=303M; at least 60 ms a step", 0.060),
    "bert-base-multilingual-cased": Throughput(_estimate(85e6), "H200, bf16",
                                               "estimate: 6N FLOPs/token, 10% of peak, N=85M; at least 25 ms a step",
                                               0.025),
}
#: evaluation is a forward pass: about a third of a training step's FLOPs per token
FORWARD_SHARE = 1 / 3


def throughput(model: str, table: dict[str, Throughput] | None = None, precision: str | None = None,
               shape: tuple[int, int] | None = None) -> Throughput | None:
    """The row of a model name (``hf:`` / ``hf-untrained:`` prefixes ignored) in ``table`` (default:
    :data:`THROUGHPUT`), or None; given a job's ``precision`` and step ``shape`` (micro-batch, tokens
    per example), a measured row as it prices that job (:func:`for_job`)."""
    table = THROUGHPUT if table is None else table
    name = model.split(":", 1)[1] if model.startswith(("hf:", "hf-untrained:")) else model
    row = table.get(name) or table.get(name.split("/")[-1])
    if row is None or row.seq is None or precision is None or shape is None:
        return row
    return for_job(row, throughput(model), precision, shape)


def for_job(rate: Throughput, estimate: Throughput | None, precision: str, shape: tuple[int, int]) -> Throughput:
    """The measured ``rate`` as it prices a job in ``precision`` whose steps are ``shape`` (micro-batch,
    tokens per example), by the rule of the module docstring; ``estimate``: the table's row, which a
    job in another precision keeps.  The returned row's ``source`` says which case the job is."""
    batch, length = shape
    job = f"this job {precision}, {batch} x {length} tokens a step"
    if precision != rate.precision:
        why = f"not the measurement ({rate.precision} only; this job runs in {precision})"
        if estimate is None:
            return replace(rate, source=f"{rate.source}; {why}, and no estimate: the measured rate, likely too fast")
        return replace(estimate, source=f"{estimate.source}; {why}")
    if batch == rate.batch and abs(length - rate.seq) <= rate.seq / 4:
        return replace(rate, source=f"{rate.source}; {job}: the measured shape")
    return replace(rate, source=f"{rate.source}; {job}: per token at the measured rate, a step at least the measured "
                                f"{rate.step_seconds * 1e3:.0f} ms (likely over; measure at --batch {batch} --seq "
                                f"{length} to price it as measured)")


def measured(report: dict, where: str = "") -> dict[str, Throughput]:
    """Rows from a ``benchmarks/gpu_check.py --out`` report: the encoder it built, at the slower
    of its two heads' bf16 rates (sequence and token classification) and step times, with the step
    shape (``batch`` x ``seq``) and precision it was measured at.  A report of
    the tiny size, or one whose checks failed, is refused: it is no rate for a real encoder."""
    model = report.get("model") or ("xlm-roberta-base" if report.get("size") == "base" else None)
    if model is None or model == "tiny":
        raise ValueError(f"{where or 'the rates file'}: measured at the tiny size (size={report.get('size')!r}); "
                         "run benchmarks/gpu_check.py without --size tiny on the GPU the grid will use")
    if not report.get("ok", False):
        raise ValueError(f"{where or 'the rates file'}: its checks failed (ok is false): bf16 training did not "
                         "work there, so its speed prices nothing; see the report's checks")
    checks = report.get("checks") or {}
    try:
        rate = min(float(c["bf16_tokens_per_second"]) for c in checks.values())
        step = max(float(c["bf16_seconds_per_step"]) for c in checks.values())
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where or 'the rates file'}: not a benchmarks/gpu_check.py report (no "
                         f"bf16_tokens_per_second / bf16_seconds_per_step in its checks: {e})") from None
    precision = report.get("precision", "bf16")  # reports from before the key: gpu_check times bf16 only
    try:
        batch, seq = int(report["batch"]), int(report["seq"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where or 'the rates file'}: no batch and seq (the step shape it was measured at): not a "
                         "benchmarks/gpu_check.py report") from None
    source = (f"measured: {report.get('device', '?')}, {precision}, batch {batch} x {seq} tokens "
              f"(benchmarks/gpu_check.py{', ' + where if where else ''})")
    return {model: Throughput(rate, f"{report.get('device', '?')}, {precision}", source, step, precision, batch, seq)}
