"""How much data mass sits around each generated sample at the kernel's resolution: strays
against hits (results/toy_degradation.md sec. 15).

For a trained run: 16 batches of 1024 EMA samples (noise seeds 100-115); per batch, tau =
TEMPERATURE x the mean distance from the samples to [samples; 1024 fresh data draws] (the drift's
scale, ``zoo.scale``), and per sample the data mass within tau, a_i = sum_p exp(-|x_i - y_p| / tau)
over 16384 fresh data draws scaled to 1024 (the laplace kernel, k(0) = 1: "how many of the 1024
positives a training step draws lie at x_i, at the kernel's resolution"). Samples are hits
(rho <= 1) or strays (rho > 1.5) by ``zoo.metrics.misses.ball_ratio`` against 16384 held-out
points, as ``drift-zoo strays``. Prints the quantiles of a_i for hits and strays; with two runs,
the share of the second run's strays whose a_i lies below the first run's hits' 1, 2 and 5%
quantiles (a rule on the local data mass that pulls them must act on that share of the first
run's support).

    PYTHONPATH=. python results/toy_stray_mass.py results/runs/lever/tp_def results/runs/lever/sp_def
"""
import sys

import torch

from zoo import plugins
from zoo.metrics import ball_ratio
from zoo.metrics.misses import STRAY_RATIO
from zoo.run.sampling import restore, sample
from zoo.scale import feature_scale

TEMPERATURE, BATCH, BATCHES, BANK = 0.03, 1024, 16, 16384
QUANTILES = torch.tensor([0.01, 0.05, 0.1, 0.5, 0.9])


def mass_and_ratio(workdir):
    """(a [n], rho [n]) over BATCHES x BATCH EMA samples of the run."""
    plugins.load_run(workdir)
    model, dataset, _ = restore(workdir)
    held, g = dataset.held_out(BANK), torch.Generator().manual_seed(1)
    masses, ratios = [], []
    for b in range(BATCHES):
        x, pos, bank = sample(model, BATCH, 100 + b), dataset.sample(BATCH, g), dataset.sample(BANK, g)
        tau = TEMPERATURE * feature_scale(x[None], pos[None])
        masses.append(torch.exp(-torch.cdist(x, bank) / tau).sum(1) * BATCH / BANK)
        ratios.append(ball_ratio(x, held, 3))
    return torch.cat(masses), torch.cat(ratios)


def main(workdirs):
    runs = [(w, *mass_and_ratio(w)) for w in workdirs]
    fmt = lambda t: " / ".join(f"{v:.3g}" for v in t.quantile(QUANTILES).tolist())
    print(f"data mass within tau = {TEMPERATURE} mean distances, quantiles "
          f"{' / '.join(f'{q:g}' for q in QUANTILES.tolist())}")
    for w, a, rho in runs:
        print(f"{w}: strays {(rho > STRAY_RATIO).float().mean():.4f}; hits {fmt(a[rho <= 1])}; "
              f"strays {fmt(a[rho > STRAY_RATIO])}")
    if len(runs) == 2:
        (w0, a0, r0), (w1, a1, r1) = runs
        strays = a1[r1 > STRAY_RATIO]
        for q in (0.01, 0.02, 0.05):
            level = a0[r0 <= 1].quantile(q)
            print(f"below {w0}'s hits' {q:.0%} quantile ({level:.3g}): "
                  f"{(strays < level).float().mean():.2f} of {w1}'s strays")


if __name__ == "__main__":
    main(sys.argv[1:])
