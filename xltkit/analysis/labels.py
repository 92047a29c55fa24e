"""Labels of a row's training setting, for tables, models and figures."""

from __future__ import annotations

import pandas as pd

from xltkit.core.results import same_setting


def with_noise_settings(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the noise-setting and ``eval_setting`` columns; tables from before
    they existed get labels from what they have ("rs-rp@0.1": their other knobs are
    unknown; "same": only single-language evaluation)."""
    add = {}
    if "noise_setting" not in results:
        add["noise_setting"] = results["noise"].astype(str).where(
            results["noise"] == "none", results["noise"].astype(str) + "@" + results["noise_scale"].map("{:g}".format))
    if "intermediate_noise_setting" not in results:
        add["intermediate_noise_setting"] = "none"
    return same_setting(results.assign(**add) if add else results)


def noise_label(df: pd.DataFrame) -> pd.Series:
    """The noise setting of each row, every knob included (the ``noise_setting`` column),
    e.g. "adv(pgd,l2,K=3,eps=0.01,rel)" or "none"; preceded by the intermediate stage's
    where that has noise ("rs-rp(...) > adv(...)")."""
    df = with_noise_settings(df)
    target, inter = df["noise_setting"].astype(str), df["intermediate_noise_setting"].astype(str)
    return target.where(inter == "none", inter + " > " + target)


def setting(df: pd.DataFrame) -> pd.Series:
    """A row's training setting as a label: the intermediate language (with its task where
    the table has several: "nli:lab_fin"), plus the noise setting where there is noise
    ("lab_fin +rs-rp(ball,r=0.1,m=1)")."""
    label = df["intermediate_lang"].astype(str)
    if "intermediate_task" in df and df.loc[df.intermediate_lang != "none", "intermediate_task"].nunique() > 1:
        label = label.where(df.intermediate_lang == "none", df["intermediate_task"].astype(str) + ":" + label)
    noise = noise_label(df)
    return label.where(noise == "none", label + " +" + noise)
