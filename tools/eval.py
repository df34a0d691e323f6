#!/usr/bin/env python
"""Re-evaluate a trained run (EMA weights) against held-out data; updates summary.json.

    python tools/eval.py --workdir results/runs/<run> [--num 10000]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402

from zoo.report import print_error  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--num", type=int, default=None, help="samples (default: train.eval_samples)")
    ap.add_argument("--seed", type=int, default=None, help="noise seed (default: the run's eval seed)")
    args = ap.parse_args(argv)
    import gin

    from zoo.metrics import evaluate
    from zoo.plots import samples_png
    from zoo.report import metrics_table
    from zoo.sampling import EVAL_SEED_OFFSET, eval_labels, restore, sample

    try:
        model, dataset, run = restore(args.workdir)
    except (FileNotFoundError, ValueError) as err:
        return print_error(err)
    bound = gin.get_bindings("train")
    n = args.num or bound.get("eval_samples", 4096)
    seed = args.seed if args.seed is not None else bound.get("seed", 0) + EVAL_SEED_OFFSET
    samples, data = sample(model, n, seed), dataset.held_out(n)
    metrics = evaluate(samples, data, modes=dataset.modes, mode_std=dataset.mode_std,
                       labels=eval_labels(model, n))
    samples_png(run.file("samples.png"), data, samples, title=run.path.name)
    summary = run.update_summary(final_metrics=metrics, eval_samples=n)
    Console().print(metrics_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
