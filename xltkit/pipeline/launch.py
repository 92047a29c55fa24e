"""A stage without its notebook, for launchers that start one process per GPU:

    torchrun --standalone --nproc_per_node 4 -m xltkit.pipeline.launch finetune PARAMS.yaml

``PARAMS.yaml`` holds the stage's flat parameters (what its notebook would be given: the
runner writes it next to the stage's log).  Every process runs the stage; the Trainer inside
trains one model over all of them (DDP: ``batch_size`` stays the global batch, split over
the processes, so the run sees the examples one process would), only the first process
saves checkpoints and publishes the stage folder (the others discard theirs and wait for it,
:func:`xltkit.core.io.building`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m xltkit.pipeline.launch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["data", "pretrain", "intermediate", "finetune", "evaluate"])
    ap.add_argument("params", help="a YAML file of the stage's flat parameters")
    args = ap.parse_args(argv)
    from xltkit.core.params import ParamsError
    from xltkit.pipeline.stages import run_from_notebook

    values = yaml.safe_load(Path(args.params).read_text()) or {}
    try:
        run_from_notebook(args.stage, values)
    except ParamsError as e:
        print(f"xltkit: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
