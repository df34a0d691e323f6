"""How much the constant feature sets of random_conv (base 16) steer a digits generator: the
gradient norm on a batch of noisy real digits (10 classes x 32, positives 10 x 32 real digits)
from the sets that GroupNorm with one channel per group makes constant (layer1/layer2 _mean,
_std; layer2 _mean_4/_std_4 repeat them) against the gradient from all other sets. Base 40 (two
channels per group) as the control where the same sets are not constant.

    PYTHONPATH=. python results/images/probe_constant_sets.py    (from the repository root; results/paper_ablations.md 5)

Measured: base 16: constant sets loss 27.3, grad norm 0.0038; other sets loss 180, grad norm 1.93
(0.2%); base 40: 44.4, 0.56 against 181, 1.40.
"""
import torch
import zoo
from zoo.features import feature_drift_loss
from zoo.registry import lookup
from zoo.run.feature_step import features

CONSTANT = ("layer1_mean", "layer1_std", "layer2_mean", "layer2_std", "layer2_mean_4", "layer2_std_4")
ds = zoo.build("dataset", "digits")
g = torch.Generator().manual_seed(0)
labels = torch.arange(10).repeat_interleave(32)
pos = ds.sample_class(labels, g).reshape(10, 32, 64)
x = (ds.sample_class(labels, g).reshape(10, 32, 64) + 0.5 * torch.randn(10, 32, 64, generator=g)).clamp(-1, 1)
field, kernel = lookup("field", "split"), zoo.build("kernel", "laplace")
for base in (16, 40):
    enc = zoo.build("encoder", "random_conv", in_channels=1, shape=(1, 8, 8), base_channels=base)
    names = list(features(enc, x[:1, :2], (1, 8, 8)))
    for which, off in (("constant sets", [n for n in names if n not in CONSTANT]),
                       ("other sets", list(CONSTANT))):
        xg = x.clone().requires_grad_(True)
        with torch.no_grad():
            pf = features(enc, pos, (1, 8, 8))
        loss, _ = feature_drift_loss(features(enc, xg, (1, 8, 8)), pf, None,
                                     weights={n: 0.0 for n in off if n in names}, field=field,
                                     kernel=kernel, temperatures=(0.02, 0.05, 0.2))
        loss.mean().backward()
        print(f"base {base}, {which}: loss {loss.mean().item():.3g}, grad norm {xg.grad.norm().item():.3g}")
