"""A measured rate prices only the jobs it measured: their precision, their step shape (or says how
far from it each job is), by the rule of xltkit/modeling/throughput.py's docstring."""

import pytest

from xltkit.modeling.throughput import THROUGHPUT, measured, throughput

NOT_MEASURED = "not the measurement (bf16 only; this job runs in fp32)"
REPORT = {"device": "NVIDIA H100", "size": "base", "model": "xlm-roberta-base", "batch": 8, "seq": 64, "ok": True,
          "precision": "bf16", "checks": {"sequence": {"bf16_tokens_per_second": 40_000, "bf16_seconds_per_step": 0.02},
                                          "token": {"bf16_tokens_per_second": 30_000, "bf16_seconds_per_step": 0.03}}}


def test_a_measured_rate_prices_its_own_shape_and_precision_and_says_how_far_other_jobs_are():
    table = {**THROUGHPUT, **measured(REPORT, where="gpu.json")}
    rate = table["xlm-roberta-base"]
    assert (rate.precision, rate.batch, rate.seq) == ("bf16", 8, 64)
    same = throughput("hf:xlm-roberta-base", table, precision="bf16", shape=(8, 60))  # within a quarter of 64
    assert same.tokens_per_second == 30_000 and same.source.endswith("this job bf16, 8 x 60 tokens a step: the "
                                                                     "measured shape")
    for shape in [(8, 30), (8, 256), (32, 64)]:  # emptier, fuller, another micro-batch: per token, step as a floor
        other = throughput("hf:xlm-roberta-base", table, precision="bf16", shape=shape)
        assert (other.tokens_per_second, other.step_seconds) == (30_000, 0.03)
        assert f"{shape[0]} x {shape[1]} tokens a step: per token at the measured rate, a step at least the " \
               f"measured 30 ms (likely over; measure at --batch {shape[0]} --seq {shape[1]}" in other.source
    fp32 = throughput("hf:xlm-roberta-base", table, precision="fp32", shape=(8, 60))  # e.g. every evaluation
    assert fp32.tokens_per_second == THROUGHPUT["xlm-roberta-base"].tokens_per_second
    assert fp32.source.startswith("estimate") and NOT_MEASURED in fp32.source
    assert throughput("hf:xlm-roberta-base", table) is rate  # no job given: the row as it is
    with pytest.raises(ValueError, match="no batch and seq"):
        measured({k: v for k, v in REPORT.items() if k != "seq"})
    assert measured({k: v for k, v in REPORT.items() if k != "precision"})["xlm-roberta-base"].precision == "bf16"


def test_the_plan_prices_training_as_measured_and_the_fp32_jobs_by_the_estimate_saying_why(repo):
    from xltkit.pipeline.experiment import load_experiment
    from xltkit.pipeline.plan import plan, summary

    exp = load_experiment(repo / "params" / "real_check.yaml")
    rates = measured(REPORT)
    runs = exp.runs()
    est, meas = plan(runs), plan(runs, rates=rates)
    hub = meas.model == "hf:xlm-roberta-base"
    train = meas[hub & meas.stage.isin(["intermediate", "finetune"])]
    assert len(train) == 3 and train.rate_source.str.endswith("8 x 60 tokens a step: the measured shape").all()
    ev = meas[hub & (meas.stage == "evaluate")]
    assert len(ev) and ev.rate_source.str.contains(NOT_MEASURED, regex=False).all()  # forward passes run in fp32
    assert ev.device_hours.tolist() == pytest.approx(est[hub & (est.stage == "evaluate")].device_hours.tolist())
    assert "the measured shape" in summary(meas)
    exp.shared["precision"] = "fp32"  # the same grid trained in fp32: nothing is priced by the bf16 measurement
    fp32 = plan(exp.runs(), rates=rates)
    assert not fp32.rate_source.str.contains("the measured shape").any()
    assert fp32[fp32.model == "hf:xlm-roberta-base"].rate_source.str.startswith("estimate").all()
