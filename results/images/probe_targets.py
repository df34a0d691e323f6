"""Hypothesis (a): how consistent is a sample's attraction target across steps in pixel space?
For x = real images of class c (stand-ins for good samples), the tau-weighted mean of its
positives (the attraction target) over R independent steps: fresh P positives per step vs the
P nearest rows of a fixed bank. Reports: ||mean target - x|| and ||mean target - class mean||
in units of the mean distance between images; effective neighbours 1/sum w^2.

    PYTHONPATH=. python results/images/probe_targets.py      (from the repository root; results/images.md)
"""
import torch, zoo, sys
torch.manual_seed(0)
ds = zoo.build("dataset", "shapes")
g = torch.Generator().manual_seed(1)
P, R, N = 16, 50, 48
labels = torch.arange(N) % 6
x = ds.sample_class(labels, g)                      # [N, D]
bank = {c: ds.sample_class(torch.full((1000,), c), g) for c in range(6)}
cmean = {c: ds.sample_class(torch.full((4000,), c), g).mean(0) for c in range(6)}
scale = torch.cdist(x, ds.sample(256, g)).mean()
def target(xi, pos, tau):
    d = torch.cdist(xi[None], pos)[0]
    w = torch.softmax(-d / (tau * scale), 0)
    return w @ pos, 1 / (w * w).sum()
for tau in (0.02, 0.05, 0.2):
    out = {}
    for kind in ("fresh", "knn"):
        to_x, to_mean, neff = [], [], []
        for i in range(N):
            c = int(labels[i])
            ts = []
            for r in range(R if kind == "fresh" else 1):
                if kind == "fresh":
                    pos = ds.sample_class(torch.full((P,), c), g)
                else:
                    near = torch.cdist(x[i:i+1], bank[c])[0].topk(P, largest=False).indices
                    pos = bank[c][near]
                t, ne = target(x[i], pos, tau); ts.append(t); neff.append(float(ne))
            m = torch.stack(ts).mean(0)
            to_x.append(float((m - x[i]).norm() / scale)); to_mean.append(float((m - cmean[c]).norm() / scale))
        out[kind] = (sum(to_x)/N, sum(to_mean)/N, sum(neff)/len(neff))
    print(f"tau={tau}: " + "  ".join(f"{k}: |E[target]-x|={a:.3f} |E[target]-class mean|={b:.3f} n_eff={n:.1f}" for k,(a,b,n) in out.items()))
print("class mean to x:", float(torch.stack([(cmean[int(labels[i])]-x[i]).norm() for i in range(N)]).mean()/scale))
