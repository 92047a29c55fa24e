"""The models a run can name in ``model``: neural encoders and the surface-cue controls.

One registry, one entry per name (hub encoders by prefix):

- ``lab-bert``: the lab's tiny BERT, pretrained by masked language modelling on the lab's
  corpora (it needs the lab's data and pretraining stages);
- ``lab-bert-untrained``: the same architecture with no pretraining, the control that
  says what fine-tuning alone gets;
- ``rule-length``, ``rule-bow``, ``rule-overlap``: surface-cue rules fitted on the
  source-language training set, one version per head kind they apply to
  (:mod:`xltkit.modeling.rules`; ``rule-bow`` covers every head kind but multiple choice);
- ``hf:<hub id or local path>``: any Hugging Face encoder, loaded with ``from_pretrained``
  (``revision`` pinned where given, ``trust_remote_code`` off unless the params turn it
  on; ``HF_HUB_OFFLINE=1`` makes it use the local cache only).

Every entry does the same three things for the stages, so no stage asks which kind it
has: :meth:`Model.fit` (target task), :meth:`Model.train_encoder` (intermediate task) and
:meth:`Model.predictor` (evaluation).  ``stages`` says which of the lab's stages it needs
before training; ``role`` says what the analysis should take it for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltkit.core.hashing import folder_fingerprint
from xltkit.core.io import write_json
from xltkit.core.registry import Registry
from xltkit.modeling.rules import RULE_DESCRIPTIONS, RULES, fit_rule, load_rule, make_rule, rules_for, save_rule

if TYPE_CHECKING:
    from xltkit.modeling.params import EncoderParams, LabEncoderParams, PretrainParams
    from xltkit.modeling.training import TrainJob
    from xltkit.tasks.base import Task


class ModelError(ValueError):
    """A model cannot do what a run asks of it."""


#: the shortest max_length that holds a translation pair of lab sentences ([CLS] a [SEP] b [SEP])
TLM_MIN_LENGTH = 64


class Model(ABC):
    """A registry entry of :data:`MODELS` (see the module docstring).

    Attributes:
        role: "encoder", "untrained" (the no-pretraining control) or "rule" (a surface-cue control).
        stages: the lab stages this model needs before task training ("data", "pretrain").
        trainable: whether it can take intermediate-task training.
        untrained_control: the model that is this encoder without pretraining, if any.
    """

    name: str
    role: str = "encoder"
    description: str = ""
    stages: tuple[str, ...] = ()
    trainable: bool = True
    untrained_control: str | None = None

    def reads(self, encoder: "EncoderParams", lab_encoder: "LabEncoderParams",
              pretraining: "PretrainParams") -> dict[str, Any]:
        """What of the run's parameters this model's weights depend on before task training."""
        return {"encoder": encoder.canonical()}

    def source(self, upstream: Path | None) -> Any:
        """What task training starts from: the upstream stage's folder (None: nothing upstream)."""
        return upstream

    def prepare(self, data_dir: Path, out: Path, lab, encoder, lab_encoder, pretraining) -> dict:
        """The pretraining stage of a model whose ``stages`` include "pretrain": build (and
        pretrain) the encoder from the data stage's folder into ``out``."""
        raise ModelError(f"model {self.name!r} has no pretraining stage (its stages: {', '.join(self.stages) or 'none'})")

    def check_task(self, task: "Task") -> None:
        """Raise :class:`ModelError` if this model cannot serve ``task``."""

    def check_params(self, run: Any) -> None:
        """Raise :class:`ModelError` if the run's parameters do not fit this model (e.g. TLM
        without parallel text); ``run`` is a :class:`xltkit.pipeline.params.RunParams`."""

    @abstractmethod
    def fit(self, task: "Task", train, out: Path, source: Any, job: "TrainJob", encoder: "EncoderParams") -> dict:
        """Train (or fit) on the target task's training set; save what :meth:`predictor` loads to ``out``."""

    def train_encoder(self, task: "Task", train, out: Path, source: Any, job: "TrainJob",
                      encoder: "EncoderParams") -> dict:
        """Intermediate-task training: train on ``task``, save the bare encoder (no head) to ``out``."""
        raise ModelError(f"model {self.name!r} ({self.role}) takes no intermediate training")

    def model_commit(self, source: Any, encoder: "EncoderParams") -> str | None:
        """The commit of the hub snapshot that loading ``source`` reads (a hub id may name a branch, which
        moves); None where ``source`` is not the hub's (a lab model, a rule, a local or trained folder)."""
        return None

    @abstractmethod
    def predictor(self, task: "Task", model_dir: Path, encoder: "EncoderParams", seed: int = 0) -> Callable[[Any], list]:
        """A function from a task dataset to one prediction per example (token tasks: per word);
        ``seed``: the run's training seed (a control drawn at evaluation time draws with it)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class NeuralEncoder(Model):
    """An encoder that trains with a task head through :func:`xltkit.modeling.training.train_task`."""

    def load_kwargs(self, source: Any, encoder: "EncoderParams") -> dict[str, Any]:
        return {}

    def tokenizer(self, source: Any, encoder: "EncoderParams"):
        from xltkit.modeling.tokenization import load_tokenizer

        tok = load_tokenizer(source, **self.load_kwargs(source, encoder))
        tok.model_max_length = encoder.max_length
        return tok

    def _train(self, task, train, source, job, encoder):
        import torch

        from xltkit.modeling.heads import get_head
        from xltkit.modeling.training import train_task

        head = get_head(task.head, encoder, task)
        tok = self.tokenizer(source, encoder)
        torch.manual_seed(job.training.seed)
        model = head.model(source, len(task.labels), **self.load_kwargs(source, encoder))
        stats = train_task(model, tok, train, task, head, job)  # the dataset: its fingerprint keys the encoding
        return model, tok, stats

    def fit(self, task, train, out, source, job, encoder) -> dict:
        model, tok, stats = self._train(task, train, source, job, encoder)
        model.save_pretrained(str(out))
        tok.save_pretrained(str(out))
        return stats

    def train_encoder(self, task, train, out, source, job, encoder) -> dict:
        model, tok, stats = self._train(task, train, source, job, encoder)
        model.base_model.save_pretrained(str(out))  # the bare encoder: the task head is discarded
        tok.save_pretrained(str(out))
        return stats

    def predictor(self, task, model_dir, encoder, seed: int = 0):
        from xltkit.modeling.head import evaluation_device
        from xltkit.modeling.heads import get_head, predict
        from xltkit.modeling.tokenization import load_tokenizer

        head = get_head(task.head, encoder, task)
        kw = self.load_kwargs(model_dir, encoder)
        tok = load_tokenizer(model_dir, **kw)
        tok.model_max_length = encoder.max_length
        model = evaluation_device(head.model(model_dir, len(task.labels), **kw))
        return lambda ds: predict(model, tok, ds, head)


class LabEncoder(NeuralEncoder):
    """The lab's tiny BERT (:func:`xltkit.modeling.pretraining.lab_bert`), pretrained or not."""

    stages = ("data", "pretrain")

    def __init__(self, name: str, pretrained: bool):
        self.name, self.pretrained = name, pretrained
        self.role = "encoder" if pretrained else "untrained"
        self.untrained_control = "lab-bert-untrained" if pretrained else None
        self.description = ("the lab's tiny BERT, pretrained on the lab's corpora" if pretrained else
                            "the lab's tiny BERT without pretraining (control)")

    def reads(self, encoder, lab_encoder, pretraining) -> dict[str, Any]:
        out = {"encoder": encoder.canonical(), "lab_encoder": lab_encoder.canonical()}
        if self.pretrained:  # the untrained control ignores the pretraining recipe
            out["pretraining"] = pretraining.canonical()
        return out

    def source(self, upstream: Path | None) -> Any:
        if upstream is None:
            raise ModelError(f"model {self.name!r} trains from its pretraining stage's folder; none was given")
        return upstream

    def check_params(self, run) -> None:
        pre, lab = run.pretraining, run.lab
        if self.pretrained and pre.tlm_share > 0:
            if not lab.parallel_sentences:
                raise ModelError(f"tlm_share={pre.tlm_share} needs parallel text: set parallel_sentences > 0 "
                                 "(pairs per language), or tlm_share: 0")
            if run.encoder.max_length < TLM_MIN_LENGTH:
                raise ModelError(f"tlm_share={pre.tlm_share}: a translation pair holds two sentences, so max_length "
                                 f"must be at least {TLM_MIN_LENGTH} (got {run.encoder.max_length})")

    def prepare(self, data_dir: Path, out: Path, lab, encoder, lab_encoder, pretraining) -> dict:
        """The pretraining stage: build the encoder from the lab's tokenizer, pretrain it by MLM
        (``tlm_share`` of the sequences translation pairs) unless it is the untrained control,
        and record held-out masked-word accuracy per language beside its unigram baseline."""
        import pandas as pd
        import torch

        from xltkit.modeling.pretraining import lab_bert, mlm_accuracy, pretrain_mlm, unigram_accuracy
        from xltkit.modeling.tokenization import load_tokenizer

        tok = load_tokenizer(data_dir / "tokenizer")
        tok.model_max_length = encoder.max_length
        torch.manual_seed(lab_encoder.pretrain_seed)
        model = lab_bert(len(tok), lab_encoder.hidden_size, lab_encoder.num_layers, lab_encoder.num_heads,
                         encoder.max_length, lab_encoder.init_std)
        stats: dict[str, Any] = {"encoder_parameters": sum(x.numel() for x in model.bert.parameters())}
        if self.pretrained and pretraining.pretrain_steps > 0:
            corpus = pd.read_parquet(data_dir / "corpus.parquet")
            corpora = {lang: g["text"].tolist() for lang, g in corpus.groupby("lang")}
            parallel = None
            if pretraining.tlm_share > 0:
                pairs = pd.read_parquet(data_dir / "parallel.parquet")
                parallel = {lang: list(zip(g["src_text"], g["text"])) for lang, g in pairs.groupby("lang")}
            stats.update(pretrain_mlm(model, tok, corpora, pretraining.pretrain_steps, pretraining.pretrain_batch_size,
                                      pretraining.pretrain_lr, pretraining.mask_prob, pretraining.language_alpha,
                                      lab_encoder.pretrain_seed, parallel=parallel, tlm_share=pretraining.tlm_share,
                                      parallel_source=lab.parallel_source))
        world = lab.build()
        heldout = {lang: world.corpus(lang, 300, stream="heldout") for lang in lab.langs}
        stats["heldout_mlm_accuracy"] = mlm_accuracy(model, tok, heldout)
        stats["heldout_unigram_accuracy"] = unigram_accuracy(tok, heldout)
        model.save_pretrained(str(out))
        tok.save_pretrained(str(out))
        write_json(stats, out / "stats.json")
        return stats


class HubEncoder(NeuralEncoder):
    """A Hugging Face encoder by hub id or local path (``hf:xlm-roberta-base``); its
    no-pretraining control is ``hf-untrained:<the same id>``."""

    def __init__(self, model_id: str):
        self.model_id = model_id
        self.name = f"hf:{model_id}"
        self.description = f"Hugging Face encoder {model_id}"
        self.untrained_control = f"hf-untrained:{model_id}"

    def source(self, upstream: Path | None) -> Any:
        return upstream if upstream is not None else self.model_id

    def load_kwargs(self, source, encoder) -> dict[str, Any]:
        """``trust_remote_code`` on every load (a folder saved after training still needs the
        model's own code); ``revision`` only for the hub id (a saved folder has none)."""
        kw: dict[str, Any] = {"trust_remote_code": encoder.trust_remote_code}
        if source == self.model_id:
            kw["revision"] = encoder.revision
        return kw

    def _train(self, task, train, source, job, encoder):
        model, tok, stats = super()._train(task, train, source, job, encoder)
        if self.reads_hub(source):  # the hub's weights: the commit they were read at (a revision may name a
            stats["model_commit"] = self.commit(encoder)  # branch, which moves)
        return model, tok, stats

    def reads_hub(self, source: Any) -> bool:
        """Whether loading ``source`` reads the hub's snapshot (the hub id, not a local folder nor a trained one)."""
        return source == self.model_id and not Path(self.model_id).is_dir()

    def model_commit(self, source, encoder) -> str | None:
        return self.commit(encoder) if self.reads_hub(source) else None

    def commit(self, encoder) -> str | None:
        """The commit of the hub cache's snapshot that loading read (its folder is named by it), or None."""
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(self.model_id, "config.json", revision=encoder.revision)
        return Path(path).parent.name if isinstance(path, str) else None

    def reads(self, encoder, lab_encoder, pretraining) -> dict[str, Any]:
        """The encoder's parameters and, for a local folder, what is in it (the config, the
        tokenizer files and a sample of the weights): a retrained or replaced folder at the
        same path is another encoder.  A hub id is known by its ``revision``: without one the
        default branch is used and a later upload there would reuse cached results, so pin
        ``revision`` for results you will cite."""
        out = super().reads(encoder, lab_encoder, pretraining)
        folder = Path(self.model_id)
        if folder.is_dir():
            out["files"] = folder_fingerprint(folder)
        return out



class HubUntrained(HubEncoder):
    """The no-pretraining control of a hub encoder (``hf-untrained:xlm-roberta-base``): the same
    architecture and tokenizer, weights drawn from the config's initializer (seeded by the
    training seed), so it says what fine-tuning alone gets."""

    role = "untrained"

    def __init__(self, model_id: str):
        super().__init__(model_id)
        self.name = f"hf-untrained:{model_id}"
        self.description = f"{model_id} without pretraining (random weights from its config; control)"
        self.untrained_control = None

    def _train(self, task, train, source, job, encoder):
        if source != self.model_id:  # after intermediate training: already this run's own random start
            return super()._train(task, train, source, job, encoder)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="xltkit-untrained-") as tmp:  # nothing trained yet: start from
            folder = self._random_copy(Path(tmp), encoder, job.training.seed)  # the config, not the weights
            model, tok, stats = super()._train(task, train, folder, job, encoder)
        return model, tok, {**stats, "model_commit": self.model_commit(self.model_id, encoder)}  # config, tokenizer

    def predictor(self, task, model_dir, encoder, seed: int = 0):
        """A task that is not trained (retrieval) straight from the hub id: the random copy's embeddings."""
        if str(model_dir) != self.model_id:
            return super().predictor(task, model_dir, encoder, seed)
        import tempfile

        tmp = tempfile.TemporaryDirectory(prefix="xltkit-untrained-")
        folder = self._random_copy(Path(tmp.name), encoder, seed)
        fn = super().predictor(task, folder, encoder, seed)
        return lambda ds, _keep=tmp: fn(ds)

    def _random_copy(self, folder: Path, encoder, seed: int) -> Path:
        """The encoder with random weights (and its tokenizer) saved in ``folder``."""
        import torch
        from transformers import AutoConfig, AutoModel

        kw = self.load_kwargs(self.model_id, encoder)
        torch.manual_seed(seed)
        AutoModel.from_config(AutoConfig.from_pretrained(self.model_id, **kw),
                              trust_remote_code=encoder.trust_remote_code).save_pretrained(str(folder))
        self.tokenizer(self.model_id, encoder).save_pretrained(str(folder))
        return folder


class SurfaceRule(Model):
    """A surface-cue rule as a model: fitted on the training set, no encoder, no intermediate training."""

    role = "rule"
    trainable = False

    def __init__(self, name: str):
        self.name, self.description = name, RULE_DESCRIPTIONS[name]

    def reads(self, encoder, lab_encoder, pretraining) -> dict[str, Any]:
        return {"model": self.name}

    def check_task(self, task) -> None:
        heads = RULES[self.name]
        if self.name in task.controls and task.head in heads:
            return
        from xltkit.tasks import TASKS

        fits = [t for t in TASKS if self.name in TASKS[t].controls and TASKS[t].head in heads]
        why = f"it has no version for {task.head} tasks (it has for: {', '.join(heads)}; the rules for {task.head} " \
              f"tasks: {', '.join(rules_for(task.head)) or 'none'})" if task.head not in heads else \
            f"the task does not list it among its controls ({', '.join(task.controls) or 'none'})"
        raise ModelError(f"model {self.name!r} ({self.description}) does not apply to task {task.name!r} "
                         f"({task.head} head): {why}; use a task it applies to ({', '.join(fits)}) or one of "
                         f"the task's controls ({', '.join(task.controls) or 'none'})")

    def fit(self, task, train, out, source, job, encoder) -> dict:
        rule = fit_rule(self.name, task.head, train.to_pandas())
        (Path(out) / "rule.pkl").write_bytes(save_rule(rule))
        return dict(getattr(rule, "stats", {}))  # what was fitted, where the rule says (QA: its window and span)

    def predictor(self, task, model_dir, encoder, seed: int = 0):
        from xltkit.tasks.base import HEADS

        if HEADS[task.head].trained:
            rule = load_rule((Path(model_dir) / "rule.pkl").read_bytes())
        else:  # a task that is not trained (retrieval): nothing was fitted, the rule works as it is
            rule = make_rule(self.name, task.head)
        return lambda ds: rule.predict(ds.to_pandas())


MODELS: Registry[Model] = Registry("model")
for _model in (LabEncoder("lab-bert", pretrained=True), LabEncoder("lab-bert-untrained", pretrained=False),
               *(SurfaceRule(name) for name in RULES)):
    MODELS.register(_model.name, _model)
MODELS.register_prefix("hf:", HubEncoder, "hf:<hub id or local path>")
MODELS.register_prefix("hf-untrained:", HubUntrained, "hf-untrained:<hub id or local path>")


def get_model(name: str) -> Model:
    return MODELS[name]
