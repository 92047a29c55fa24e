"""Experiment files: shared settings plus a grid that expands into runs.

An experiment file (YAML) holds ``shared`` settings plus a ``grid`` (a mapping of lists,
or a list of such mappings whose products are joined, like scikit-learn's
``ParameterGrid``) and ``analysis`` settings.  Keys are the flat parameter names of the
stage groups (:mod:`xltkit.pipeline.params`).  Unknown keys and bad values are refused
before any work starts, with the key, the allowed values and a suggestion.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xltkit.analysis.params import AnalysisParams
from xltkit.core.params import ParamsError, format_validation_error, unknown_key_message
from xltkit.pipeline import graph
from xltkit.pipeline.params import FIELD_GROUP, RunParams

#: keys the runner sets for every run; an experiment file cannot
RUNNER_KEYS = {"experiment": "the experiment's name (the file's top-level 'experiment')",
               "run_dir": "outputs/<experiment>/runs/<run_id>"}


class Experiment(BaseModel):
    """An experiment file: shared settings plus a grid that expands into runs."""

    model_config = ConfigDict(extra="forbid")

    experiment: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="name; outputs go to outputs/<experiment>")
    description: str = ""
    workers: int = Field(2, ge=1, description="parallel papermill processes")
    executor: dict[str, Any] = Field(default_factory=dict, description="resources of each stage job under "
                                     "--executor slurm (xltkit.pipeline.executors.SlurmParams)")
    shared: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    analysis: dict[str, Any] = Field(default_factory=dict)

    def grids(self) -> list[dict[str, list[Any]]]:
        return self.grid if isinstance(self.grid, list) else [self.grid]

    def _check_key(self, k: str, where: str) -> None:
        if k in RUNNER_KEYS:
            raise ParamsError(f"{self.experiment}: {where}: {k!r} is set by the runner ({RUNNER_KEYS[k]}); "
                              "remove it from the file")
        if k not in FIELD_GROUP:
            allowed = [f for f in FIELD_GROUP if f not in RUNNER_KEYS]
            raise ParamsError(unknown_key_message(k, allowed, f"{self.experiment}: {where}"))

    def runs(self, outputs: str | Path = "outputs") -> list[RunParams]:
        """Every run of the grid, validated, in file order, without duplicates.

        Each run writes to ``<outputs>/<experiment>/runs/<run_id>``; its stage cache is
        ``<outputs>/cache`` unless the file sets ``cache_dir``."""
        for k in self.shared:
            self._check_key(k, "shared")
        runs: dict[str, RunParams] = {}
        points: dict[str, dict] = {}
        for g in self.grids():
            for k, vals in g.items():
                self._check_key(k, "grid")
                if not isinstance(vals, list) or not vals:
                    raise ParamsError(f"{self.experiment}: grid key {k!r} must be a non-empty list, got {vals!r}")
            keys = list(g)
            for combo in itertools.product(*(g[k] for k in keys)):
                point = dict(zip(keys, combo))
                values = {"cache_dir": str(Path(outputs) / "cache"), **self.shared, **point,
                          "experiment": self.experiment}
                p = RunParams.from_flat(values, f"{self.experiment}: run {point}")
                rid = graph.run_id(p)
                p.evaluation.run_dir = str(Path(outputs) / self.experiment / "runs" / rid)
                if rid in runs:
                    raise ParamsError(f"{self.experiment}: grid points {points[rid]} and {point} are the same run "
                                      f"({rid}): a value listed twice, two grids that overlap, or a key this run "
                                      "does not read; list each run once")
                runs[rid], points[rid] = p, point
        if not runs:
            raise ParamsError(f"{self.experiment}: the grid expands to no runs")
        return list(runs.values())

    def analysis_params(self, outputs: str | Path = "outputs") -> AnalysisParams:
        vals = {"experiment_dir": str(Path(outputs) / self.experiment), **self.analysis}
        return AnalysisParams.from_dict(vals, f"{self.experiment}: analysis")


def load_experiment(path: str | Path, outputs: str | Path = "outputs") -> Experiment:
    """Read and validate an experiment YAML file, every run of it included (raises :class:`ParamsError`)."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping with keys experiment, shared, grid; got {type(raw).__name__}")
    unknown = [k for k in raw if k not in Experiment.model_fields]
    if unknown:
        raise ParamsError(unknown_key_message(unknown[0], list(Experiment.model_fields), str(path)))
    try:
        exp = Experiment(**raw)
    except ValidationError as e:
        raise ParamsError(f"{path}: " + format_validation_error(e)) from None
    exp.runs(outputs)  # validate every run now, before any work starts
    exp.analysis_params(outputs)
    from xltkit.pipeline.executors import SlurmParams

    SlurmParams.from_dict(exp.executor, str(path))
    return exp
