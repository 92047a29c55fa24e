"""A run's parameters: the groups of every layer, composed.

Each concern is one typed group with help text, defined beside the code that reads it:
the lab (:class:`xltkit.lab.params.LabParams`), the encoder and its pretraining
(:mod:`xltkit.modeling.params`), the task data sizes (:class:`xltkit.tasks.base.TaskDataParams`),
training (:class:`xltkit.modeling.params.TrainingParams`), the noise knobs
(:class:`xltkit.modeling.noise.params.NoiseParams`), and here the intermediate and target
stages, evaluation and where the run writes.  :class:`RunParams` holds one of each.

Keys are flat, as in YAML files and notebook ``parameters`` cells (``finetune_lr: 2e-5``):
every field name is unique across the groups, so ``RunParams(seed=1, langs=[...])`` puts
each key in its group, and :meth:`RunParams.flat` gives them back.  What a group alone
can check, it checks; what spans groups (is the source language one of the task's? does
the rule apply to the task?) is checked here, by asking the task and the model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from xltkit.core.params import Group, ParamsError, format_validation_error, non_semantic, unknown_key_message
from xltkit.core.paths import ProjectPath
from xltkit.lab.params import LabParams
from xltkit.modeling.noise.params import NoiseParams, check_method, check_scale
from xltkit.modeling.params import EncoderParams, LabEncoderParams, PretrainParams, TrainingParams
from xltkit.pipeline.checks import _methods, check_head, check_noise
from xltkit.tasks import TASKS
from xltkit.tasks.base import DataContext, TaskDataParams
from xltkit.tasks.hub.params import HubParams


def _task(v: str) -> str:
    TASKS[v]  # raises naming the allowed tasks
    return v


class IntermediateParams(Group):
    """Stage 02: task training in one language before the target task (X-STILTs, Phang et al. 2020)."""

    intermediate_task: str = Field("roles", description="a registered task (`xltkit tasks` lists them)")
    intermediate_lang: str = Field("none", description="language of the intermediate task, or 'none' (no "
                                   "intermediate training: the baseline)")
    intermediate_steps: int = Field(20, ge=1, description="optimisation steps (unless intermediate_epochs is set)")
    intermediate_epochs: float | None = Field(None, gt=0, description="passes over the intermediate training set "
                                              "instead of intermediate_steps")
    intermediate_lr: float = Field(5e-4, gt=0, description="peak learning rate")
    intermediate_examples: int | None = Field(None, ge=10, description="training examples of the intermediate task "
                                              "(the same number in every language, so languages compete on equal "
                                              "terms; hub tasks: a deterministic subsample); None = n_train")
    intermediate_noise: str = Field("none", description="noise injection while training the intermediate task "
                                    "(`xltkit noise` lists the methods; see noise)")
    intermediate_noise_scale: float = Field(0.0, ge=0, description="strength of intermediate_noise (see noise_scale)")
    intermediate_eval_every: int | None = Field(None, ge=0, description="evaluate on the intermediate task's dev set "
                                                "every this many steps, keeping the best checkpoint; None = as "
                                                "eval_every; 0 = never (the last checkpoint is kept)")

    @field_validator("intermediate_task")
    @classmethod
    def _task_known(cls, v: str) -> str:
        return _task(v)

    @field_validator("intermediate_noise")
    @classmethod
    def _noise_known(cls, v: str) -> str:
        return check_method(v, "intermediate_noise")

    @model_validator(mode="after")
    def _scale(self):
        check_scale(self.intermediate_noise, self.intermediate_noise_scale, "intermediate_noise")
        return self

    def unused(self) -> set[str]:
        out = {"intermediate_steps"} if self.intermediate_epochs is not None else set()
        return out | ({"intermediate_eval_every"} if self.intermediate_eval_every is None else set())


class TargetParams(Group):
    """Stage 03: target-task fine-tuning in the source language (English-like by default)."""

    target_task: str = Field("anim", description="a registered task (`xltkit tasks` lists them)")
    source_lang: str = Field("lab_eng", description="language of the target-task training data")
    finetune_steps: int = Field(20, ge=1, description="optimisation steps (unless finetune_epochs is set)")
    finetune_epochs: float | None = Field(None, gt=0, description="passes over the training set instead of "
                                          "finetune_steps")
    finetune_lr: float = Field(5e-4, gt=0, description="peak learning rate")
    freeze_embeddings: bool = Field(True, description="keep input embeddings fixed while fine-tuning (helps transfer)")
    noise: str = Field("none", description="noise injection while fine-tuning (training only, never in evaluation); "
                       "`xltkit noise` lists the methods")
    noise_scale: float = Field(0.0, ge=0, description="strength of noise: rs-rp radius (per-token L2 norm in "
                               "input-embedding space); adv epsilon (per-token bound); both in noise_scale_unit; "
                               "word-dropout, word-swap, char-noise, rs-da, code-switch: probability per word "
                               "(at most 1)")

    @field_validator("target_task")
    @classmethod
    def _task_known(cls, v: str) -> str:
        return _task(v)

    @field_validator("noise")
    @classmethod
    def _noise_known(cls, v: str) -> str:
        return check_method(v, "noise")

    @model_validator(mode="after")
    def _scale(self):
        check_scale(self.noise, self.noise_scale, "noise")
        return self

    def unused(self) -> set[str]:
        return {"finetune_steps"} if self.finetune_epochs is not None else set()


class EvaluationParams(Group):
    """Stage 04: zero-shot evaluation, and where a run's results go."""

    eval_langs: list[str] | None = Field(None, description="languages to evaluate (default: all of the target "
                                         "task's languages)")
    generalized: bool = Field(True, description="pair tasks: also evaluate each language with the second sentence in "
                              "source_lang (the generalized cross-lingual setting; metrics column eval_setting)")
    generalized_pairs: Literal["source", "all"] = Field(
        "source", description="pair tasks, generalized setting: source pairs each evaluation language with "
        "source_lang; all evaluates every ordered pair of two different evaluation languages (Huang et al. 2021; "
        "15 XNLI languages: 210 pairs instead of 14; metrics column eval_lang2)")
    experiment: str = non_semantic("scratch", "experiment name (a column of the metrics table)")
    run_dir: ProjectPath = non_semantic("outputs/scratch/run", "where the run's metrics are written (relative: to "
                                        "the project root)", validate_default=True)

    @model_validator(mode="after")
    def _pairs_need_the_setting(self):
        if self.generalized_pairs != "source" and not self.generalized:
            raise ValueError(f"generalized_pairs: {self.generalized_pairs} chooses the pairs of the generalized "
                             "setting, which generalized: false turns off; set generalized: true")
        return self


class RunInfo(Group):
    """Where stages cache their outputs and how many threads they use: never part of a result."""

    cache_dir: ProjectPath = non_semantic("outputs/cache", "where stage outputs are cached, keyed by parameters "
                                          "(relative: to the project root)", validate_default=True)
    threads: int = non_semantic(1, "torch threads (one thread per worker is fastest on small CPUs)", ge=1)
    checkpoint_every: int = non_semantic(1000, "training stages save a checkpoint every this many steps and a "
                                         "killed stage resumes from the last one (0: no checkpoints)", ge=0)
    checkpoint_keep: int = non_semantic(1, "how many of a training call's newest checkpoints are kept", ge=1)


#: the groups of a run, by name (the attribute of RunParams that holds each)
GROUPS: dict[str, type[Group]] = {
    "lab": LabParams, "encoder": EncoderParams, "lab_encoder": LabEncoderParams, "pretraining": PretrainParams,
    "data": TaskDataParams, "hub": HubParams, "training": TrainingParams, "noise_knobs": NoiseParams, "intermediate": IntermediateParams,
    "target": TargetParams, "evaluation": EvaluationParams, "run": RunInfo,
}
FIELD_GROUP: dict[str, str] = {}
for _g, _cls in GROUPS.items():
    for _f in _cls.model_fields:
        if _f in GROUPS:
            raise TypeError(f"field {_f!r} of group {_g} has the name of a group: keys must differ from group names")
        if _f in FIELD_GROUP:
            raise TypeError(f"field {_f!r} is in two parameter groups ({FIELD_GROUP[_f]}, {_g}): keys must be unique")
        FIELD_GROUP[_f] = _g


class RunParams(BaseModel):
    """Everything one run needs: one instance of each group (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    lab: LabParams = Field(default_factory=LabParams)
    encoder: EncoderParams = Field(default_factory=EncoderParams)
    lab_encoder: LabEncoderParams = Field(default_factory=LabEncoderParams)
    pretraining: PretrainParams = Field(default_factory=PretrainParams)
    data: TaskDataParams = Field(default_factory=TaskDataParams)
    hub: HubParams = Field(default_factory=HubParams)
    training: TrainingParams = Field(default_factory=TrainingParams)
    noise_knobs: NoiseParams = Field(default_factory=NoiseParams)
    intermediate: IntermediateParams = Field(default_factory=IntermediateParams)
    target: TargetParams = Field(default_factory=TargetParams)
    evaluation: EvaluationParams = Field(default_factory=EvaluationParams)
    run: RunInfo = Field(default_factory=RunInfo)

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, values: Any) -> Any:
        """Flat keys (``seed``, ``langs``) go to their group; group names may be given whole."""
        if not isinstance(values, dict):
            return values
        nested: dict[str, Any] = {}
        flat: dict[str, dict[str, Any]] = {}
        for k, v in values.items():
            if k in GROUPS:
                nested[k] = v
            elif k in FIELD_GROUP:
                flat.setdefault(FIELD_GROUP[k], {})[k] = v
            else:
                raise ValueError(unknown_key_message(k, list(FIELD_GROUP), "parameters"))
        for g, vals in flat.items():
            base = nested.get(g)
            if isinstance(base, BaseModel):
                base = base.model_dump()
            nested[g] = {**(base or {}), **vals}
        return nested

    @classmethod
    def from_flat(cls, values: dict[str, Any], where: str = "parameters",
                  groups: tuple[str, ...] | None = None) -> "RunParams":
        """Validate flat ``values`` into a run, raising :class:`ParamsError` with a readable message.

        ``groups``: the groups the values are for (a stage notebook's); checks that span other
        groups are skipped, since those hold defaults the stage never reads."""
        unknown = [k for k in values if k not in FIELD_GROUP and k not in GROUPS]
        if unknown:
            raise ParamsError(unknown_key_message(unknown[0], list(FIELD_GROUP), where))
        try:
            return cls.model_validate(values, context={"groups": groups} if groups else None)
        except ValidationError as e:
            raise ParamsError(f"{where}: " + format_validation_error(e)) from None

    def flat(self, groups: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The fields of ``groups`` (default: all) as one flat dictionary."""
        out: dict[str, Any] = {}
        for g in groups or GROUPS:
            out.update(getattr(self, g).model_dump())
        return out

    # ---- the parts the parameters name --------------------------------------------------
    @property
    def model(self):
        from xltkit.modeling.models import get_model

        return get_model(self.encoder.model)

    @property
    def target_task(self):
        return TASKS[self.target.target_task]

    @property
    def intermediate_task(self):
        return TASKS[self.intermediate.intermediate_task]

    @property
    def has_intermediate(self) -> bool:
        return self.intermediate.intermediate_lang != "none"

    @property
    def intermediate_same_data(self) -> bool:
        """Whether the intermediate task trains on a corpus the target task also trains on (English
        MNLI before XNLI, whose English train is MNLI): its gain is then more training on the
        target's own data, not transfer from another task."""
        if not self.has_intermediate:
            return False
        ours = set(self.intermediate_task.train_corpora(self.intermediate.intermediate_lang,
                                                        self.data_context("intermediate")))
        return bool(ours & set(self.target_task.train_corpora(self.target.source_lang, self.data_context())))

    def data_context(self, stage: str | None = None) -> DataContext:
        """What tasks need to load data; for the intermediate stage the training size is
        ``intermediate_examples`` where given."""
        train = self.data.n_train
        if stage == "intermediate" and self.intermediate.intermediate_examples is not None:
            train = self.intermediate.intermediate_examples
        return DataContext(cache_dir=self.run.cache_dir, params={g: getattr(self, g) for g in GROUPS},
                           sizes={"train": train, "dev": self.data.n_dev, "test": self.data.n_test})

    def eval_langs(self) -> list[str]:
        """The languages evaluated: ``eval_langs``, else every language of the target task with a test split."""
        return list(self.evaluation.eval_langs or self.target_task.eval_languages(self.data_context()))

    def second_langs(self, lang: str) -> list[str]:
        """The languages of the second sentence that ``lang`` (the first sentence's) is paired with in
        the generalized setting: none for a one-sentence task or with ``generalized: false``; else
        source_lang (``generalized_pairs: source``; none for source_lang itself, which is the same
        setting) or every other evaluation language (``all``)."""
        ev = self.evaluation
        if not (self.target_task.two_languages and ev.generalized):
            return []
        if ev.generalized_pairs == "all":
            return [c for c in self.eval_langs() if c != lang]
        return [] if lang == self.target.source_lang else [self.target.source_lang]

    def eval_every(self, stage: str) -> int | None:
        """Dev evaluation interval of a training stage ("intermediate" | "finetune"): None = never."""
        every = self.intermediate.intermediate_eval_every if stage == "intermediate" else None
        if every is None:
            return self.training.eval_every
        return every or None

    def stage_training(self, stage: str):
        """The training settings of a stage (the intermediate stage may evaluate at its own interval)."""
        every = self.eval_every(stage)
        return self.training if every == self.training.eval_every else \
            self.training.model_copy(update={"eval_every": every})

    def stage_noise(self, stage: str) -> tuple[str, float, str]:
        """(method, scale, training language) of the noise of ``stage`` ("intermediate" | "finetune")."""
        if stage == "intermediate":
            if not self.has_intermediate:  # no intermediate training: nothing to inject noise into
                return "none", 0.0, "none"
            i = self.intermediate
            return i.intermediate_noise, i.intermediate_noise_scale, i.intermediate_lang
        if stage == "finetune":
            t = self.target
            return t.noise, t.noise_scale, t.source_lang
        raise ValueError(f"unknown stage {stage!r}; allowed: intermediate, finetune")

    def noise_label(self, stage: str) -> str:
        from xltkit.modeling.noise.params import setting_label

        method, scale, lang = self.stage_noise(stage)
        return setting_label(method, scale, self.noise_knobs, lang)

    # ---- what spans groups ------------------------------------------------------------------
    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        from xltkit.modeling.models import ModelError

        groups = (info.context or {}).get("groups") or tuple(GROUPS)
        model, data = self.model, self.data_context()  # an unknown model name raises, naming the allowed ones
        try:
            model.check_params(self)
            if "target" in groups:
                model.check_task(self.target_task)
        except ModelError as e:
            raise ValueError(str(e)) from None
        if "intermediate" in groups:
            self._check_intermediate(model, data)
        if "training" in groups:
            self._check_training(model)
        if "target" not in groups:
            return self
        target = self.target_task
        langs = target.languages(data)
        if self.target.source_lang not in langs:
            raise ValueError(f"source_lang {self.target.source_lang!r} is not a language of task {target.name!r}; "
                             f"allowed: {', '.join(langs)}")
        if self.evaluation.eval_langs == []:
            raise ValueError("eval_langs is empty: give languages to evaluate, or None for all of the task's")
        testable = target.eval_languages(data)
        for code in self.evaluation.eval_langs or []:
            if code not in testable:
                raise ValueError(f"eval_langs: {code!r} is not a language of task {target.name!r} with a test split; "
                                 f"allowed: {', '.join(testable)}")
        if not model.trainable and self.target.noise != "none":
            raise ValueError(f"model {model.name!r} ({model.description}) is fitted, not trained: it takes no "
                             "noise (set noise: none)")
        # checked even where no stage code-switches: against the languages of every task of the run
        run_langs = set(langs) | (set(self.intermediate_task.languages(data)) if self.has_intermediate else set())
        for code in self.noise_knobs.code_switch_langs or []:
            if code not in run_langs:
                raise ValueError(f"code_switch_langs: {code!r} is not a language of the run's tasks; allowed: "
                                 f"{', '.join(sorted(run_langs))}")
        from xltkit.tasks.base import HEADS

        if not HEADS[target.head].trained and (self.target.noise != "none" or self.eval_every("finetune")):
            raise ValueError(f"task {target.name!r} ({target.head}) is evaluated on the encoder without target "
                             "fine-tuning: noise and eval_every have nothing to act on; set noise: none and "
                             "eval_every: null (intermediate training takes intermediate_noise)")
        check_head(self, target, "finetune")
        if target.head == "extractive_qa":  # every evaluated language has an answer normalization
            from xltkit.modeling.qa_metrics import check_rule

            for code in self.eval_langs():
                check_rule(getattr(target, "qa_normalization", "squad"), code)
        check_noise(self, target, "finetune", data)
        return self

    def _check_training(self, model) -> None:
        t = self.training
        if {"warmup_steps", "warmup_ratio"} <= t.model_fields_set and t.warmup_steps is not None:
            raise ValueError(f"warmup_steps={t.warmup_steps} and warmup_ratio={t.warmup_ratio} are both set; the "
                             "steps would win silently: give one of them")
        if not model.trainable:  # a fitted rule reads no training setting (so shared settings may hold them)
            return
        steps = [(n, getattr(g, f"{n}_steps"), getattr(g, f"{n}_epochs"))
                 for n, g in (("intermediate", self.intermediate), ("finetune", self.target))]
        for name, n_steps, epochs in steps:
            every = self.eval_every(name)
            knob = "intermediate_eval_every" if every != t.eval_every else "eval_every"
            if every is not None and epochs is None and every > n_steps and \
                    (name == "finetune" or self.has_intermediate):
                raise ValueError(f"{knob}={every} is more than {name}_steps={n_steps}: the dev set would "
                                 f"never be evaluated and no best checkpoint kept; lower {knob}")

    def _check_intermediate(self, model, data: DataContext) -> None:
        if not self.has_intermediate:
            return
        if not model.trainable:
            raise ValueError(f"model {model.name!r} ({model.description}) is fitted, not trained: it takes no "
                             "intermediate training (set intermediate_lang: none)")
        inter = self.intermediate_task
        ilangs = inter.languages(data)
        if self.intermediate.intermediate_lang not in ilangs:
            raise ValueError(f"intermediate_lang {self.intermediate.intermediate_lang!r} is not a language of "
                             f"task {inter.name!r}; allowed: none, {', '.join(ilangs)}")
        n = self.intermediate.intermediate_examples
        rows = inter.split_size(self.intermediate.intermediate_lang, "train", self.data_context("intermediate"))
        if n is not None and rows is not None and n > rows:
            raise ValueError(f"intermediate_examples={n} is more than the {rows} training examples of task "
                             f"{inter.name!r} in {self.intermediate.intermediate_lang!r}: it would train on fewer than "
                             f"the other languages; lower intermediate_examples to at most {rows}")
        check_head(self, inter, "intermediate")
        check_noise(self, inter, "intermediate", data)

def stage_params(groups: tuple[str, ...], values: dict[str, Any], where: str) -> RunParams:
    """A run from a notebook's flat parameters: keys outside ``groups`` are refused."""
    allowed = [f for g in groups for f in GROUPS[g].model_fields]
    unknown = [k for k in values if k not in allowed]
    if unknown:
        raise ParamsError(unknown_key_message(unknown[0], allowed, where))
    return RunParams.from_flat(values, where, groups)
