"""The head interface: what every head kind does for training and prediction (the heads
themselves are in :mod:`xltkit.modeling.heads`, :mod:`xltkit.modeling.qa` and
:mod:`xltkit.modeling.retrieval`)."""

from __future__ import annotations

from typing import Any

import numpy as np

_quiet = False


def _quiet_libraries() -> None:
    """No progress bars or info logs from datasets / transformers inside stage notebooks."""
    global _quiet
    if not _quiet:
        import datasets
        from transformers.utils import logging as hf_logging

        datasets.disable_progress_bars()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        _quiet = True


def on_device(batch: dict, model) -> dict:
    """A collated batch on the model's device (a GPU where the predictor put the model there)."""
    device = getattr(model, "device", None)
    return batch if device is None or str(device) == "cpu" else {k: v.to(device) for k, v in batch.items()}


def evaluation_device(model):
    """The model on the GPU where there is one (evaluation is forward passes only), else as it is."""
    import torch

    return model.to("cuda") if torch.cuda.is_available() else model


class Head:
    """A model head for one head kind (see the module docstring)."""

    name: str
    auto_class: str

    #: whether the head has one output per label (a classifier) and so takes ``num_labels``; multiple choice
    #: (a score per choice), QA (start and end logits) and retrieval (no head) do not
    takes_num_labels: bool = True

    def model(self, source: Any, num_labels: int, **kwargs):
        """The encoder at ``source`` (a folder or hub id) with a fresh head (for ``num_labels``
        labels where the head has one output per label)."""
        import transformers

        _quiet_libraries()
        if self.takes_num_labels:
            kwargs["num_labels"] = num_labels
        return getattr(transformers, self.auto_class).from_pretrained(str(source), **kwargs)

    def encode(self, tokenizer, ds):
        """The dataset as model inputs (input_ids, attention_mask, [token_type_ids], labels, length)."""
        raise NotImplementedError

    def collator(self, tokenizer, pad_to_multiple_of: int | None = None):
        raise NotImplementedError

    def decode(self, logits, labels) -> list:
        """Per-example predictions from a batch's logits and its (padded) labels."""
        raise NotImplementedError

    #: columns :meth:`encode` adds that are not model inputs: kept aside and given to :meth:`place`
    extra_columns: tuple[str, ...] = ()

    def place(self, pred, *extra):
        """One example's prediction from :meth:`decode`'s and the example's extra columns."""
        return pred

    def eval_pairs(self, logits: np.ndarray, label_ids: np.ndarray) -> tuple[list, list]:
        """(gold, predictions) in the metrics' form from a Trainer evaluation's arrays."""
        raise NotImplementedError(f"the {self.name} head cannot score a dev set during training (eval_every); "
                                  "set eval_every (or intermediate_eval_every) to null for this task")

    def recorded(self) -> dict[str, Any]:
        """Columns every score of this head carries (settings a score depends on that the
        metrics table has no column for); none by default."""
        return {}

    def inputs_per_example(self, max_length: int, context_tokens: int, question_tokens: int) -> int:
        """How many model inputs an example of the given typical lengths (subwords) makes, for cost
        estimates (``xltkit plan``): one; extractive QA, a window per stretch of its context."""
        return 1

    def for_run(self, encoder, task) -> "Head":
        """This head with its settings from the run's encoder parameters and its task (heads
        without settings are themselves)."""
        return self

    def configured(self, **settings) -> "Head":
        """This head with its own settings (see :func:`get_head`); heads without settings are themselves."""
        return self

    def predict(self, model, tokenizer, ds, batch_size: int = 256) -> list:
        """Predicted label per example (classification) or per word (token heads) of a task dataset.

        Examples are batched in order of length (less padding, about half the compute on lab
        sentences) and returned in the original order; no gradients, the model in eval mode.
        """
        import torch

        from xltkit.modeling import tokenized

        model.eval()
        enc = tokenized.encode(self, tokenizer, ds)  # from the stage's tokenized cache where it has it
        collator = self.collator(tokenizer)
        order = np.argsort(np.asarray(list(enc["length"])), kind="stable")  # by length: less padding
        extra = {c: enc[c] for c in self.extra_columns}
        rows = enc.remove_columns(["length", *self.extra_columns]).to_list()
        out: list = [None] * len(rows)
        with torch.no_grad():
            for i in range(0, len(rows), batch_size):
                idx = order[i: i + batch_size]
                batch = collator([rows[j] for j in idx])
                labels = batch.pop("labels")
                logits = model(**on_device(batch, model)).logits.float().cpu()  # (batch, labels) | (batch, seq, labels)
                for j, p in zip(idx, self.decode(logits, labels)):
                    out[j] = self.place(p, *(extra[c][j] for c in self.extra_columns))
        return out
