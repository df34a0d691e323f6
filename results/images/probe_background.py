"""Background speckle of a digits run: RMS of (sample + 1) on the pixels that are black (-1)
in at least 95% of the held-out digits of the sample's class (real digits: 0 there by
construction of the mask, up to the 5% that are not), 1000 samples, balanced labels.

    PYTHONPATH=. python results/images/probe_background.py results/runs/<digits run> ...      (from the repository root; results/images.md)
"""
import sys, torch, zoo
from zoo.run.sampling import restore, sample, eval_labels
ds = zoo.build("dataset", "digits")
labels_all = ds.test_labels
test = ds._test
def mask(c):
    rows = test[labels_all == c]
    return ((rows <= -0.999).float().mean(0) >= 0.95)
masks = torch.stack([mask(c) for c in range(10)])
def speckle(rows, labels):
    m = masks[labels]
    return float(((rows + 1) * m).pow(2).sum() / m.sum()).__pow__(0.5)
real = ds.sample_class(torch.arange(1000) % 10, torch.Generator().manual_seed(5))
print(f"real training digits: {speckle(real, torch.arange(1000) % 10):.3f}")
for wd in sys.argv[1:]:
    model, _, _ = restore(wd)
    x = sample(model, 1000, 123)
    print(f"{wd}: {speckle(x.clamp(-1, 1), eval_labels(model, 1000)):.3f}")
