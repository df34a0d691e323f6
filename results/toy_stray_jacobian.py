"""Where strays come from in the generator's latent space (results/toy_degradation.md sec. 15):
|z| and the Jacobian norm |dx/dz|_F of the EMA generator at hits (rho <= 1) and strays
(rho > 1.5, ``zoo.metrics.misses.ball_ratio`` against 16384 held-out points, as ``drift-zoo
strays``); 16384 samples, noise seed 0. A stray on a seam of the map (a latent region torn
between two stretches of the support) has a large Jacobian; one from the latent's tails a
large |z|. Prints the 10 / 50 / 90% quantiles.

    PYTHONPATH=. python results/toy_stray_jacobian.py results/runs/lever/sp_def [<run> ...]
"""
import sys

import torch

from zoo import plugins
from zoo.metrics import ball_ratio
from zoo.metrics.misses import STRAY_RATIO
from zoo.run.sampling import restore

NUM = 16384


def main(workdirs):
    for workdir in workdirs:
        plugins.load_run(workdir)
        model, dataset, _ = restore(workdir)
        z = model.noise(NUM, torch.Generator().manual_seed(0)).requires_grad_(True)
        x = model(z)
        jac = torch.stack([torch.autograd.grad(x[:, d].sum(), z, retain_graph=True)[0]
                           for d in range(x.shape[1])], 1)                    # [n, D, noise]
        rho = ball_ratio(x.detach(), dataset.held_out(NUM), 3)
        hits, strays = rho <= 1, rho > STRAY_RATIO
        q = torch.tensor([0.1, 0.5, 0.9])
        fmt = lambda t: " / ".join(f"{v:.2f}" for v in t.quantile(q).tolist())
        zn, jn = z.detach().norm(dim=1), jac.flatten(1).norm(dim=1)
        print(f"{workdir}: precision {hits.float().mean():.4f}, strays {strays.float().mean():.4f}")
        print(f"  |z|    hits {fmt(zn[hits])}   strays {fmt(zn[strays])}")
        print(f"  |J|_F  hits {fmt(jn[hits])}   strays {fmt(jn[strays])}")


if __name__ == "__main__":
    main(sys.argv[1:])
