"""The what-if notebook's widgets (ipywidgets): each panel is widgets, one callback that calls a
plain function of :mod:`xltkit.analysis.whatif` and keeps its result on the view (``.table``,
``.scenario``, ``.hypo``, ``.power``), and an output that shows it.  Tests set widget values
and read those results, without a browser; the notebook is its parameters, :func:`view` and
the display.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if not matplotlib.get_backend().lower().startswith(("module://", "inline")) else None
import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from xltkit.analysis import whatif  # noqa: E402

FMT = {"float_format": lambda x: f"{x:.2f}"}


class WhatIfView:
    """Four panels over one experiment: the selection, two scenarios, a hypothetical language
    pair, and power."""

    def __init__(self, w: whatif.WhatIf, static: bool = False, power_sims: int = 100):
        self.w, opts, self.static = w, w.options(), static  # static: print into the cell (an HTML report)
        self.power_sims = power_sims  # simulated data sets per power estimate (about 0.1 s each)
        low = sorted(w.gains[w.gains.eval_low_resource.fillna(False).astype(bool)].eval_lang.unique()) \
            if "eval_low_resource" in w.gains else []
        self.task = W.Dropdown(options=opts["target_task"], description="target task")
        self.langs = W.SelectMultiple(options=opts["eval_lang"], value=tuple(low or opts["eval_lang"]),
                                      description="eval langs", rows=min(8, len(opts["eval_lang"])))
        self.inter = W.SelectMultiple(options=opts["intermediate_lang"], value=tuple(opts["intermediate_lang"]),
                                      description="intermediate")
        self.noise = W.SelectMultiple(options=opts["noise_setting"], value=tuple(opts["noise_setting"]),
                                      description="noise")
        self.out_table = W.Output()
        scen = [(f"{lang} / {n}", (lang, n)) for lang, n in
                sorted(set(zip(w.seed_gains.intermediate_lang, w.seed_gains.noise_setting)))]
        self.a = W.Dropdown(options=scen, value=scen[0][1], description="scenario A")
        self.b = W.Dropdown(options=scen, value=scen[-1][1], description="scenario B")
        self.out_scenario = W.Output()
        self.sliders = {k: W.FloatSlider(value=(lo + hi) / 2, min=min(0.0, lo - (hi - lo)), max=hi + (hi - lo) + 1e-9,
                                         step=max((hi - lo) / 50, 1e-3), description=k, readout_format=".3f",
                                         continuous_update=False)
                        for k, (lo, hi) in whatif.typology_ranges(w).items()}
        self.out_hypo = W.Output()
        self.effect = W.FloatSlider(value=2.0, min=0.5, max=20, step=0.5, description="gain (pts)",
                                    continuous_update=False)
        self.seeds = W.IntSlider(value=3, min=2, max=20, description="seeds", continuous_update=False)
        self.n_langs = W.IntSlider(value=max(2, len(opts["eval_lang"])), min=2, max=50, description="languages",
                                   continuous_update=False)
        self.run_power = W.Button(description="simulate power")
        self.out_power = W.Output()
        self.table = self.scenario = self.hypo = self.power = None
        for wid in (self.task, self.langs, self.inter, self.noise):
            wid.observe(lambda _: self.update_table(), names="value")
        for wid in (self.a, self.b, self.langs, self.task):
            wid.observe(lambda _: self.update_scenario(), names="value")
        for wid in self.sliders.values():
            wid.observe(lambda _: self.update_hypothetical(), names="value")
        self.run_power.on_click(lambda _: self.update_power())
        if not static:
            self.update_table()
            self.update_scenario()
            self.update_hypothetical()

    def snapshot(self, power: bool = True) -> None:
        """Every panel at its current values, printed and plotted into the cell (static)."""
        self.static = True
        for title, fn in (("Observed gains beside the mixed model and the controls", self.update_table),
                          ("Two scenarios", self.update_scenario),
                          ("A hypothetical language pair (the sliders' midpoints)", self.update_hypothetical),
                          *((("Power", self.update_power),) if power else ())):
            print(f"\n== {title} ==")
            fn()

    # ---- callbacks: compute, keep, show -------------------------------------------------------
    def _into(self, out: W.Output):
        """Where a callback shows its result: its output widget, or the cell itself when static."""
        from contextlib import nullcontext

        if self.static:
            return nullcontext()
        out.clear_output(wait=True)
        return out

    def update_table(self) -> pd.DataFrame:
        self.table = whatif.observed_vs_model(self.w, self.task.value, list(self.langs.value), list(self.inter.value),
                                              list(self.noise.value))
        with self._into(self.out_table):
            if self.table.empty:
                print("no gains in this selection")
            else:
                print(self.table.to_string(index=False, **FMT))
                self._plot_table()
        return self.table

    def _plot_table(self) -> None:
        t = self.table
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.2))
        y = range(len(t))
        ax.errorbar(t.observed, [i + 0.15 for i in y], xerr=[t.observed - t.observed_low, t.observed_high - t.observed],
                    fmt="o", label="observed (bootstrap CI)")
        if t.predicted.notna().any():
            ax.errorbar(t.predicted, [i - 0.15 for i in y],
                        xerr=[t.predicted - t.predicted_low, t.predicted_high - t.predicted], fmt="s",
                        label="mixed model (CI)")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(list(y), [f"{r.eval_lang} <- {r.setting}" for r in t.itertuples()], fontsize=7)
        ax.set_xlabel("gain over no intermediate task (points)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        if matplotlib.get_backend().lower() != "agg":
            plt.show()  # the inline backend displays it into the output (or the cell, static)
        plt.close(fig)
        self.figure = fig  # the figure behind the output (tests read it)

    def update_scenario(self) -> dict | None:
        a, b = whatif.Scenario(*self.a.value), whatif.Scenario(*self.b.value)
        with self._into(self.out_scenario):
            try:
                self.scenario = whatif.scenario_difference(self.w, a, b, list(self.langs.value), self.task.value,
                                                           n_boot=1000)
            except whatif.WhatIfError as e:
                self.scenario = None
                print(e)
                return None
            s = self.scenario
            print(f"{s['a']} minus {s['b']} over {s['n_langs']} languages ({s['n_pairs']} language-seed pairs): "
                  f"{s['difference']:+.2f} points (95% CI {s['ci_low']:+.2f} to {s['ci_high']:+.2f})")
            print(pd.Series(s["per_language"], name="difference (points)").to_string(**FMT))
        return self.scenario

    def update_hypothetical(self) -> dict | None:
        with self._into(self.out_hypo):
            if not self.sliders:
                self.hypo = None
                print("\n".join(self.w.notes) or "no typology model")
                return None
            self.hypo = whatif.hypothetical(self.w, {k: s.value for k, s in self.sliders.items()}, noise="none")
            h = self.hypo
            flag = f"  EXTRAPOLATION: outside the data for {sorted(h['outside'])}" if h["extrapolation"] else ""
            print(f"predicted gain {h['predicted']:+.2f} points; mean 95% CI {h['ci_low']:+.2f} to {h['ci_high']:+.2f}; "
                  f"one new language pair: {h['pi_low']:+.2f} to {h['pi_high']:+.2f}{flag}")
        return self.hypo

    def update_power(self):
        with self._into(self.out_power):
            try:
                self.power = whatif.power_for(self.w, self.effect.value, self.seeds.value, self.n_langs.value,
                                              n_sim=self.power_sims)
            except (whatif.WhatIfError, ValueError) as e:
                self.power = None
                print(e)
                return None
            print(self.power.describe())
        return self.power

    def widget(self) -> W.Widget:
        """The four panels one under the other (all visible: a co-author scrolls, a browser test clicks)."""
        def title(text: str) -> W.HTML:
            return W.HTML(f"<h3>{text}</h3>")

        return W.VBox([
            title("Observed gains beside the mixed model and the controls"),
            W.HBox([self.task, self.noise]), W.HBox([self.langs, self.inter]), self.out_table,
            title("Two scenarios"), W.HBox([self.a, self.b]), self.out_scenario,
            title("A hypothetical language pair (typology model)"), *self.sliders.values(), self.out_hypo,
            title("Power of a design (simulated from the fitted variance components)"),
            self.effect, self.seeds, self.n_langs, self.run_power, self.out_power,
        ])


def view(experiment_dir, static: bool = False, power_sims: int = 100) -> WhatIfView | None:
    """The what-if view of an experiment folder; where it cannot answer yet, prints what to run
    (and returns None) instead of raising.  ``static``: no widgets, every panel printed at its
    default values (what an HTML report shows)."""
    try:
        v = WhatIfView(whatif.load(experiment_dir), static=static, power_sims=power_sims)
    except whatif.WhatIfError as e:
        print(e)
        return None
    if static:
        v.snapshot()
    return v
