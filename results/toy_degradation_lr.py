"""Energy distance and precision against training step on thin_pinwheel (issue 16): toy.gin with
a constant learning rate (results/toy_degradation.md sec. 4, its eval rows) against the cosine
decay, 2000 and 8000 steps (run folders of sec. 5). Evaluations on 4096 samples, seed 0.

    python results/toy_degradation_lr.py results/runs/deg16/cos-thin_pinwheel-2000steps-s0 \
        results/runs/deg16/cos-thin_pinwheel-8000steps-s0          (writes toy_degradation_lr.png)
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from zoo.run.folder import Run  # noqa: E402
from zoo.sweeps.curves import series  # noqa: E402

CONSTANT = {"step": [500, 1000, 1500, 2000], "energy_distance": [0.00046, 0.00040, 0.00068, 0.00410],
            "precision": [0.706, 0.885, 0.900, 0.902]}  # sec. 4, split, constant lr


def evals(folder):
    """{"step", "energy_distance", "precision": [...]} of a run's evaluation records."""
    records = Run(folder).records()
    (steps, ed), (_, precision) = (series(records, "eval", k)
                                   for k in ("energy_distance", "precision"))
    return {"step": steps, "energy_distance": ed, "precision": precision}


fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
curves = [("constant lr, 2000 steps", CONSTANT, "tab:red")]
curves += [(f"cosine lr, {Path(f).name.split('-')[2].replace('steps', ' steps')}", evals(f), c)
           for f, c in zip(sys.argv[1:], ("tab:blue", "tab:green"))]
for ax, metric in zip(axes, ("energy_distance", "precision")):
    for label, d, colour in curves:
        ax.plot(d["step"], d[metric], "o-", color=colour, label=label, ms=3)
    ax.set_xlabel("step")
    ax.set_title(metric.replace("_", " ") + " (thin_pinwheel, seed 0)")
    ax.grid(alpha=0.3)
axes[0].set_yscale("symlog", linthresh=1e-4)
axes[0].legend()
fig.tight_layout()
out = Path(__file__).with_name("toy_degradation_lr.png")
fig.savefig(out, dpi=110)
print(f"wrote {out}")
