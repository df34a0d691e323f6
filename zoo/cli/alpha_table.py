r"""Guidance-scale table: class-conditional runs evaluated at their guidance scales alpha.

    drift-zoo alpha-table results/runs/sweeps/digits_cfg --alpha 1,1.5,2,3 \
        --markdown results/digits_cfg.md --grids results/digits_cfg

Every finished run folder under the given roots is evaluated (EMA weights, the run's eval seed
and ``train.eval_samples``; ``zoo.run.evaluation.assess``) at:
  * alpha = 1 for runs without guidance (``train.negatives`` other than ``@cfg()``),
  * its own alpha for runs trained at one alpha (``cfg.alpha_min = cfg.alpha_max``),
  * every ``--alpha`` inside [alpha_min, alpha_max] for runs trained with the alpha sampler.
Rows group runs by (negatives, trained alpha range, evaluated alpha) with metrics as mean +- std
over seeds. ``--grids DIR`` writes one sample grid per row (the lowest seed; one row per class)
as ``DIR/<negatives>_<range>_at<alpha>.png``. Every run's numbers also go to its summary.json
(``alpha_metrics``).
"""
from __future__ import annotations

import shlex
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from zoo import plugins
from zoo.cli import parser
from zoo.run.report import print_error


def run_folders(roots) -> list[Path]:
    """Finished run folders (summary status ``finished``) under ``roots``, sorted."""
    import json

    found = []
    for root in roots:
        for summary in sorted(Path(root).rglob("summary.json")):
            try:
                if json.loads(summary.read_text()).get("status") == "finished":
                    found.append(summary.parent)
            except (ValueError, OSError):
                continue
    return found


def guidance(bindings: dict, negatives: str) -> tuple[float, float] | None:
    """(alpha_min, alpha_max) a run was trained with, or None without cfg mixing."""
    if negatives != "cfg":
        return None
    return float(bindings.get("alpha_min", 1.0)), float(bindings.get("alpha_max", 4.0))


def eval_alphas(trained, alphas: list[float]) -> list[float | None]:
    """The alphas a run is evaluated at (module docstring); None = the default alpha 1."""
    if trained is None:
        return [None]
    lo, hi = trained
    if lo == hi:
        return [lo]
    return [a for a in alphas if lo <= a <= hi]


def evaluate_run(path: Path, alphas: list[float]):
    """[(label, alpha, eval seed, metrics, model, dataset)] for one run folder."""
    import gin

    from zoo.run.evaluation import assess
    from zoo.run.sampling import eval_settings, restore

    plugins.load_run(path)  # the run's own plug-ins, kept in its folder
    model, dataset, run = restore(path)
    negatives = run.summary().get("negatives", "self")
    trained = guidance(gin.get_bindings("cfg") if negatives == "cfg" else {}, negatives)
    n, seed = eval_settings()
    label = negatives if trained is None else f"cfg alpha {trained[0]:g}-{trained[1]:g}"
    if trained is not None and trained[0] == trained[1]:
        label = f"cfg alpha {trained[0]:g}"
    out = []
    for a in eval_alphas(trained, alphas):
        metrics = assess(model, dataset, n, seed, alpha=a)[0]
        out.append((label, 1.0 if a is None else a, seed, metrics, model, dataset))
    run.update_summary(alpha_metrics={f"{a:g}": m for _, a, _, m, _, _ in out})
    return out


def cell(values: list[float]) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.4g}" + (f" +- {statistics.stdev(values):.2g}" if len(values) > 1 else "")


IMAGE_ORDER = ("fd", "kid", "feature_precision", "feature_recall", "class_accuracy",
               "class_coverage", "energy_distance")


def columns(results) -> list[str]:
    """The metrics every result has: image metrics first, then ``METRIC_GOAL`` order."""
    from zoo.metrics import METRIC_GOAL

    order = list(IMAGE_ORDER) + [k for k in METRIC_GOAL if k not in IMAGE_ORDER]
    return [k for k in order if all(k in r[3] for r in results)]


def row_order(key) -> tuple:
    """No guidance first, then fixed-alpha runs by alpha, then sampler runs by eval alpha."""
    label, alpha = key
    return (label.startswith("cfg"), "-" in label, alpha, label)


def table_rows(results, keys) -> list[list[str]]:
    """Rows (trained, evaluated alpha, n, metrics...) aggregated over seeds."""
    groups = defaultdict(list)
    for label, alpha, _, metrics, _, _ in results:
        groups[(label, alpha)].append(metrics)
    return [[label, f"{alpha:g}", str(len(ms)), *(cell([m[k] for m in ms]) for k in keys)]
            for (label, alpha), ms in sorted(groups.items(), key=lambda kv: row_order(kv[0]))]


def write_grids(results, directory: Path) -> None:
    """One grid per (label, alpha): the lowest seed's samples, one row per class."""
    from zoo.images import save_grid
    from zoo.run.sampling import eval_labels, sample

    done = set()
    for label, alpha, seed, _, model, dataset in sorted(results, key=lambda r: r[2]):
        if (label, alpha) in done:
            continue
        done.add((label, alpha))
        n = 8 * (model.num_classes or 1)
        x = sample(model, n, seed, alpha=alpha)
        name = label.replace(" ", "_").replace("alpha_", "") + f"_at{alpha:g}.png"
        save_grid(directory / name, x, dataset.shape, labels=eval_labels(model, n),
                  names=getattr(dataset, "class_names", None))


def markdown(rows, keys, command: str) -> str:
    head = ["trained with", "eval alpha", "n", *keys]
    lines = ["# Guidance scale: metrics per evaluated alpha", "", "Regenerate with:", "",
             "```bash", command, "```", "",
             "Image runs: metrics in the committed evaluator's features (FD, KID, k-NN "
             "precision/recall, accuracy of the conditioning class, share of classes whose "
             "samples are mostly right) and pixel energy distance; mean +- std over n seeds.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = parser("alpha-table", __doc__)
    ap.add_argument("roots", nargs="+", help="sweep folders or run folders")
    ap.add_argument("--alpha", default="1,1.5,2,3", help="alphas for sampler-trained runs")
    ap.add_argument("--markdown", default=None, help="write the table here")
    ap.add_argument("--grids", default=None, help="write one sample grid per row here")
    args = ap.parse_args(argv)
    try:
        alphas = [float(a) for a in args.alpha.split(",") if a]
        folders = run_folders(args.roots)
        if not folders:
            raise FileNotFoundError(f"no finished runs under {args.roots}")
    except (ValueError, FileNotFoundError) as err:
        return print_error(err)
    results = []
    for path in track(folders, description="evaluating", console=Console(stderr=True)):
        results += evaluate_run(path, alphas)
    keys = columns(results)
    rows = table_rows(results, keys)
    table = Table(title="metrics per guidance scale", title_justify="left")
    for col in ["trained with", "eval alpha", "n", *keys]:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    if args.markdown:
        command = "drift-zoo alpha-table " + shlex.join(argv)
        Path(args.markdown).write_text(markdown(rows, keys, command))
    if args.grids and getattr(results[0][5], "shape", None):
        write_grids(results, Path(args.grids))
    return 0
