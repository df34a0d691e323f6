"""How much of the drift's feature distance a change of shape is worth, against a change of
colour, position, size, rotation or background: 600 real shapes, each re-rendered with one
factor redrawn (the class: to another class), the per-set distance between the pair divided
by the set's mean distance between independent real images (the scale the drift's kernel
sees, up to its temperatures). Printed: the median of that ratio over the pairs, pooled over
all feature sets (each set's distance averaged over its locations), for each factor; then for
class changes within the filled convex shapes (circle / square / triangle) and to the others.

    PYTHONPATH=. python results/images/probe_factor_distance.py [encoder.pt ...]   (from the repository root; results/images.md)
"""
import sys, torch, zoo

torch.manual_seed(0)
ds = zoo.build("dataset", "shapes")
n = 600
g = torch.Generator().manual_seed(7)
base = ds.factors(n, g)
other = ds.factors(n, torch.Generator().manual_seed(8))
CONVEX = {0, 1, 2}  # circle, square, triangle


def changed(key):
    f = {k: v.clone() for k, v in base.items()}
    if key == "label":
        f["label"] = (base["label"] + torch.randint(1, 6, (n,), generator=g)) % 6
    elif key == "position":  # keep it inside the canvas for the base scale
        f["position"] = (2 * torch.rand(n, 2, generator=g) - 1) * (1 - base["scale"][:, None])
    else:
        f[key] = other[key]
    return f


def set_distances(fa, enc, b):
    """{set: [n] distance per pair, averaged over the set's locations}; fa = enc(a), computed once."""
    with torch.no_grad():
        fb = enc(b)
    return {k: (fa[k] - fb[k]).norm(dim=-1).mean(-1) for k in fa}


def main(paths):
    x0 = ds.render(base)
    rand = ds.render(other)
    for path in paths:
        enc = zoo.build("encoder", "mae", path=path)
        with torch.no_grad():
            f0 = enc(x0)
        scale = {k: v.mean() for k, v in set_distances(f0, enc, rand).items()}  # independent pairs
        print(f"\n{path}: {len(scale)} feature sets; median over {n} pairs of "
              f"(distance of the pair / mean distance of independent images), pooled over sets")
        print("| factor redrawn | all sets | location sets | global mean/std sets |")
        print("|---|---|---|---|")
        rows = {}
        for key in ("label", "colour", "background", "position", "scale", "rotation"):
            f = changed(key)
            d = set_distances(f0, enc, ds.render(f))
            r = torch.stack([d[k] / scale[k] for k in d])  # [sets, n]
            loc = torch.stack([d[k] / scale[k] for k in d if "_" not in k and k not in ("global", "norm_x")])
            glob = torch.stack([d[k] / scale[k] for k in d if k.endswith("_mean") or k.endswith("_std")])
            rows[key] = (r, f)
            print(f"| {key} | {r.mean(0).median():.3f} | {loc.mean(0).median():.3f} | {glob.mean(0).median():.3f} |")
        r, f = rows["label"]
        a, b = base["label"], f["label"]
        within = torch.tensor([int(i) in CONVEX and int(j) in CONVEX for i, j in zip(a, b)])
        print(f"class redrawn, circle/square/triangle among themselves: "
              f"{r.mean(0)[within].median():.3f} (n={int(within.sum())}); "
              f"any other class change: {r.mean(0)[~within].median():.3f} (n={int((~within).sum())})")


main(sys.argv[1:] or ["results/encoders/mae_shapes_cls.pt"])
