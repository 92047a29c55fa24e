"""Where the hub's datasets come from in a run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from xltkit.core.params import Group, seed_field
from xltkit.core.paths import ProjectPath


class HubParams(Group):
    """Hub datasets: a local mirror (or fixtures) instead of the hub, pinned revisions, local
    files for languages the hub lacks, and the seed of the deterministic subsamples."""

    hub_root: ProjectPath | None = Field(None, description="a local folder laid out like the hub (<root>/<owner>/<name>/"
                                 "... as the dataset repository is): datasets load from it with the same "
                                 "load_dataset call instead of from the hub (an offline mirror, or test fixtures)")
    dataset_revisions: dict[str, str] | None = Field(None, description="hub dataset id -> revision (commit, tag "
                                                     "or branch) to load instead of the registry's pinned one")
    source_choices: dict[str, dict[str, str]] | None = Field(
        None, description="task -> language -> one of the task's alternative sources for that language (`xltkit "
        "tasks --sources` lists them), e.g. {paraphrase: {eng: qqp}}: English QQP instead of PAWS, which is "
        "PAWS-X's own English training set")
    task_files: dict[str, dict[str, ProjectPath]] | None = Field(
        None, description="task -> language -> a local folder with that language's splits in the hub dataset's "
        "schema (<split>*.parquet|jsonl|csv), for languages the hub lacks (e.g. a machine translation of MNLI "
        "into Finnish for the rte intermediate task)")
    qa_unanswerable: Literal["keep", "drop"] = Field(
        "drop", description="extractive QA: questions without an answer (SQuAD 2.0-style: the Finnish and Hungarian "
        "intermediate sets, English SQuAD 2.0) are dropped (default: every language then trains on answerable "
        "questions only, as English SQuAD v1.1 and the XQuAD / MLQA / TyDiQA targets, which have none) or kept "
        "(the head may then predict no answer); the load notes count either")
    subsample_seed: int = seed_field(0, "seed of the subsamples of hub datasets to n_train / n_dev / n_test / "
                                        "intermediate_examples examples (the same indices in every language of a "
                                        "parallel set, so it stays parallel)")

    @field_validator("task_files")
    @classmethod
    def _folders_exist(cls, v):
        from pathlib import Path

        for task, langs in (v or {}).items():
            for lang, path in langs.items():
                if not Path(path).exists():
                    raise ValueError(f"task_files: {task}/{lang}: {path!r} does not exist")
        return v
