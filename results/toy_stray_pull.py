"""How far one drift step moves a stray sample back toward the data (issue 16, sec. 9 of
results/toy_degradation.md): ``split`` (leave-one-out repulsion, as the release) against
``split_self`` (each sample's own pair kept), at the toy default's final temperatures.

The batch is 1024 fresh draws of graded_spiral with its first 32 replaced by strays (uniform
points in the box farther than 1.5 k-NN radii from 16384 data points: ``zoo.metrics.misses``);
positives are 1024 more draws. The drift is toy.gin's (laplace, scaling official, combine
per_temperature, temperatures (0.03, 0.12) mean distances); per temperature the table gives the
strays' displacement toward their nearest data point as a fraction of that distance, and the
mean |V| of the 992 samples on the support. Mean over 8 draws, seed 0.

    PYTHONPATH=. python results/toy_stray_pull.py
"""
import torch

import zoo
from zoo.data.graded import graded_spiral
from zoo.drift import drift_target
from zoo.kernels import laplace
from zoo.metrics.misses import ball_ratio

TEMPERATURES, BATCH, STRAYS, DRAWS = (0.03, 0.12), 1024, 32, 8


def draw(data, g):
    """(batch [N,2] with STRAYS strays first, positives [N,2], unit vectors and distances of the
    strays to their nearest data point)."""
    q, p, ref = data.sample(BATCH, g), data.sample(BATCH, g), data.sample(16384, g)
    box = (torch.rand(4000, 2, generator=g) * 2 - 1) * 1.1
    q[:STRAYS] = box[ball_ratio(box, ref) > 1.5][:STRAYS]
    d = torch.cdist(q[:STRAYS], ref)
    dist, nearest = d.min(1)
    return q, p, (ref[nearest] - q[:STRAYS]) / dist[:, None], dist


def main():
    g, data = torch.Generator().manual_seed(0), graded_spiral()
    rows = {name: torch.zeros(len(TEMPERATURES), 2) for name in ("split", "split_self")}
    for _ in range(DRAWS):
        q, p, unit, dist = draw(data, g)
        for name in rows:
            target, _ = drift_target(q[None], p[None], field=zoo.registry.lookup("field", name),
                                     kernel=laplace, temperatures=TEMPERATURES,
                                     combine="per_temperature")
            v = target[:, 0] - q                                               # [T,N,2]
            back = (v[:, :STRAYS] * unit).sum(-1) / dist                       # [T,S]
            rows[name] += torch.stack([back.mean(1), v[:, STRAYS:].norm(dim=-1).mean(1)], 1) / DRAWS
    print("| field | tau (mean distances) | stray moved back (fraction of its distance) "
          "| mean \\|V\\| on the support |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        for t, (back, on) in zip(TEMPERATURES, r.tolist()):
            print(f"| `{name}` | {t} | {back:.2f} | {on:.4f} |")


if __name__ == "__main__":
    main()
