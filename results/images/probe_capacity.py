"""Capacity probe: can the conv generator draw shapes when told exactly what to draw?
Supervised: z = the image's factors (the 10 uniforms behind it, padded with noise to 64 dims),
target = the rendered image; MSE, Adam 1e-3, 96 images per step. Evaluator accuracy of f(z, c)
on held-out factors every 150 steps. If this reaches high accuracy within the drift runs' step
budget, the generator is not what limits them.

    PYTHONPATH=. python results/images/probe_capacity.py 32 2400 [conv|coord_conv|...] [size]
    (from the repository root; results/images.md; size 16 scores with results/evaluators/shapes16.pt)
"""
import sys, time, torch, zoo
from zoo.metrics.evaluator import load_evaluator, default_path
torch.manual_seed(0)
width = int(sys.argv[1]) if len(sys.argv) > 1 else 32
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 600
name = sys.argv[3] if len(sys.argv) > 3 else "conv"
size = int(sys.argv[4]) if len(sys.argv) > 4 else 32
ds = zoo.build("dataset", "shapes", size=size)
gen = zoo.build("generator", name, shape=(3, size, size), num_classes=6, noise_dim=64, width=width)
ev = load_evaluator(str(default_path(getattr(ds, "evaluator", "shapes"))))
opt = torch.optim.Adam(gen.parameters(), 1e-3)
def batch(n, g):
    u = torch.rand(n, 10, generator=g)
    labels = torch.randint(6, (n,), generator=g)
    f = ds.factors(n, torch.Generator().manual_seed(0), labels=labels)  # then overwrite with u
    lo, hi = ds.scale_range
    import math
    from zoo.data.shapes import hsv_to_rgb
    f["scale"] = lo + (hi - lo) * u[:, 0]
    f["position"] = (2 * u[:, 1:3] - 1) * (1 - f["scale"][:, None])
    f["rotation"] = 2 * math.pi * u[:, 3]
    f["colour"] = hsv_to_rgb(torch.stack([u[:, 4], 0.6 + 0.4 * u[:, 5], 0.75 + 0.25 * u[:, 6]], 1))
    f["background"] = hsv_to_rgb(torch.stack([u[:, 7], 0.6 * u[:, 8], 0.45 * u[:, 9]], 1))
    z = torch.cat([u * 2 - 1, torch.randn(n, 54, generator=g)], 1)
    return z, labels, ds.render(f)
g = torch.Generator().manual_seed(1)
zt, lt, xt = batch(600, torch.Generator().manual_seed(2))
t0 = time.process_time()
for s in range(1, steps + 1):
    z, l, x = batch(96, g)
    loss = (gen(z, l) - x).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if s % 150 == 0:
        with torch.no_grad():
            out = gen(zt, lt).clamp(-1, 1)
            _, pred = ev.embed(out.reshape(600, -1), 300)
        print(f"{name} width {width} step {s} loss {loss.item():.4f} evaluator accuracy {(torch.as_tensor(pred) == lt).float().mean():.3f} cpu {time.process_time() - t0:.0f}s", flush=True)
