"""Negative-mixing strategies (zoo/negatives.py): contract, CFG arithmetic and sampler, queue, other-class."""
import math

import pytest
import torch

import zoo
from zoo.drift import drift
from zoo.fields import meanshift, split
from zoo.kernels import laplace
from zoo.negatives import check_supported, powerlaw_alpha, uncond_weight
from zoo.registry import name_of

B, N, P, U, D = 3, 8, 6, 5, 4


def inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, N, D, generator=g), torch.randn(B, P, D, generator=g) + 1,
            torch.randn(B, U, D, generator=g) - 1)


def mix(name, gen, pos, uncond, step=0, seed=0, **kw):
    s = zoo.build("negatives", name, **kw)
    g = torch.Generator().manual_seed(seed)
    alpha = s.draw(gen.shape[0], g)
    return s, s(gen, step, alpha=alpha, pos=pos, uncond=uncond, generator=g)


def test_registry_lists_every_strategy():
    assert {"self", "cfg", "queue", "other_class"} <= set(zoo.names("negatives"))


@pytest.mark.parametrize("name", zoo.names("negatives"))
def test_contract_shapes_weights_and_state(name):
    gen, pos, uncond = inputs()
    s, (neg, neg_w) = mix(name, gen, pos, uncond)
    assert name_of(s) == name                    # the run folder's <negatives> slot
    _, (neg2, _) = mix(name, gen, pos, uncond)  # deterministic for a seed
    assert (neg is None) == (neg_w is None) == (neg2 is None)
    if neg is not None:
        assert neg.dim() == 3 and neg.shape[0] == B and neg.shape[2] == D
        assert neg_w.shape == neg.shape[:2] and (neg_w >= 0).all() and torch.equal(neg, neg2)
        v = meanshift(gen, pos, neg, kernel=laplace(tau=1.0), neg_w=neg_w)
        assert v.shape == gen.shape and torch.isfinite(v).all()
    state = s.state_dict()
    assert isinstance(state, dict)
    s.load_state_dict(state)


# --- cfg ------------------------------------------------------------------------------------

def release_uncond_w(cfg, gen_per_label, n_uncond):
    # Release JAX train.py, train_step (line 91 of the stored version):
    #   uncond_w = (cfg - 1) * (gen_per_label - 1) / max(1, negative_samples.shape[1])  # [B]
    return (cfg - 1) * (gen_per_label - 1) / max(1, n_uncond)


@pytest.mark.parametrize("alpha,g,u", [(1.0, 8, 5), (1.5, 64, 16), (4.0, 16, 16), (2.7, 2, 1),
                                       (3.0, 32, 0)])
def test_cfg_weight_matches_release_formula(alpha, g, u):
    a = torch.tensor([alpha, 1.0, 2.0])
    expect = torch.tensor([release_uncond_w(float(x), g, u) for x in a])
    assert torch.allclose(uncond_weight(a, g, u), expect, rtol=1e-6, atol=0)
    if u == 0:
        return
    s = zoo.build("negatives", "cfg")
    gen, uncond = torch.zeros(3, g, D), torch.ones(3, u, D)
    neg, neg_w = s(gen, 0, alpha=a, uncond=uncond)
    assert torch.equal(neg, uncond) and neg_w.shape == (3, u)
    assert torch.allclose(neg_w, expect[:, None].expand(3, u))


def test_cfg_weights_imply_the_guided_mixture():
    """Uncond share of the (self-masked) negative mass is 1 - 1/alpha: q~ = q/alpha + (1-1/alpha) p."""
    a = torch.tensor([1.0, 1.25, 2.0, 4.0])
    for g, u in [(8, 3), (64, 16)]:
        uncond_mass = uncond_weight(a, g, u) * u
        share = uncond_mass / (uncond_mass + (g - 1))
        assert torch.allclose(share, 1 - 1 / a, atol=1e-6)


def draws(n, seed=0, **kw):
    s = zoo.build("negatives", "cfg", **kw)
    return s.draw(n, torch.Generator().manual_seed(seed)).double()


@pytest.mark.parametrize("power", [0.0, 1.0, 3.0, 5.0])
def test_cfg_alpha_follows_the_power_law(power):
    lo, hi, n = 1.0, 4.0, 100_000
    a = draws(n, alpha_min=lo, alpha_max=hi, power=power)
    assert a.min() >= lo and a.max() <= hi
    grid = torch.linspace(lo, hi, 20001, dtype=torch.float64)    # CDF of alpha^-power, numerically
    pdf = grid ** -power
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64),
                     torch.cumsum((pdf[1:] + pdf[:-1]) / 2 * (grid[1] - grid[0]), 0)])
    cdf = cdf / cdf[-1]
    emp = torch.searchsorted(a.sort().values, grid, right=True).double() / n
    assert (emp - cdf).abs().max() < 1.95 / math.sqrt(n)          # KS test at the 0.1% level
    for q in (0.1, 0.5, 0.9):                                      # quantiles vs analytic inverse
        want = float(powerlaw_alpha(torch.tensor(q, dtype=torch.float64), lo, hi, power))
        assert abs(float(a.quantile(q)) - want) < 0.02 * (hi - lo)


@pytest.mark.parametrize("frac", [0.0, 0.3, 0.5, 1.0])
def test_cfg_no_cfg_fraction(frac):
    n = 40_000
    a = draws(n, alpha_min=1.5, alpha_max=3.0, power=2.0, no_cfg_frac=frac)
    ones = float((a == 1.0).float().mean())
    assert abs(ones - frac) <= 4 * math.sqrt(frac * (1 - frac) / n) + 1e-12
    rest = a[a != 1.0]
    assert rest.numel() == 0 or (rest.min() >= 1.5 and rest.max() <= 3.0)


def test_cfg_draw_is_seeded_and_keeps_nothing():
    s = zoo.build("negatives", "cfg", no_cfg_frac=0.5)
    before = dict(vars(s))
    g = torch.Generator().manual_seed(3)
    a = s.draw(7, g)
    assert a.shape == (7,) and a.dtype == torch.float32
    s(torch.zeros(7, 4, D), 0, alpha=a, uncond=torch.ones(7, 2, D))
    assert vars(s) == before and not hasattr(s, "alpha")  # alpha travels in the call only
    assert torch.equal(a, draws(7, seed=3, no_cfg_frac=0.5).float())
    assert not torch.equal(s.draw(7, g), a)                          # the generator advanced
    g2 = torch.Generator().manual_seed(3)
    g2.set_state(torch.Generator().manual_seed(3).get_state())
    assert torch.equal(s.draw(7, g2), a)                              # resume from a saved state


@pytest.mark.parametrize("scaling", ["official", "none"])
def test_cfg_at_alpha_one_reduces_to_self_with_split(scaling):
    gen, pos, uncond = inputs(1)
    s = zoo.build("negatives", "cfg")
    neg, neg_w = s(gen, 0, alpha=torch.ones(B), uncond=uncond)
    assert (neg_w == 0).all()
    k = laplace(tau=0.5)
    assert torch.allclose(split(gen, pos, neg, kernel=k, neg_w=neg_w), split(gen, pos, kernel=k),
                          atol=1e-6)
    kw = dict(field=split, kernel=laplace, temperatures=(0.05, 0.2), scaling=scaling)
    goal, c, _ = drift(gen, pos, neg, neg_w=neg_w, **kw)
    goal0, c0, _ = drift(gen, pos, **kw)
    assert torch.allclose(c, c0) and torch.allclose(goal, goal0, atol=1e-5)


def test_cfg_at_alpha_one_with_meanshift_is_a_row_rescaling():
    """As in the release, zero-weight negatives still share the row softmax before the weights
    apply, so meanshift's V at alpha = 1 is V_self scaled per row by a factor in (0, 1]
    (exactly so without the affinity floor, which clamps entries before the weights)."""
    gen, pos, uncond = inputs(2)
    s = zoo.build("negatives", "cfg")
    neg, neg_w = s(gen, 0, alpha=torch.ones(B), uncond=uncond)
    k = laplace(tau=1.0)
    v = meanshift(gen, pos, neg, kernel=k, neg_w=neg_w, affinity_floor=0)
    v0 = meanshift(gen, pos, kernel=k, affinity_floor=0)
    r = (v * v0).sum(-1) / (v0 * v0).sum(-1)
    assert torch.allclose(v, r[..., None] * v0, atol=1e-6)
    assert (r > 0).all() and (r <= 1 + 1e-6).all()


@pytest.mark.parametrize("kw,needle", [
    (dict(alpha_min=0.5), "alpha_min"), (dict(alpha_min=3.0, alpha_max=2.0), "alpha_max"),
    (dict(alpha_max=float("inf")), "alpha_max"), (dict(no_cfg_frac=1.5), "no_cfg_frac"),
    (dict(no_cfg_frac=-0.1), "no_cfg_frac"), (dict(power=float("nan")), "power"),
])
def test_cfg_bad_args(kw, needle):
    with pytest.raises(ValueError, match=needle):
        zoo.build("negatives", "cfg", **kw)


def test_cfg_bad_calls():
    gen, pos, uncond = inputs()
    s = zoo.build("negatives", "cfg")
    with pytest.raises(ValueError, match=r"cfg needs alpha=\[3\] .*got None"):
        s(gen, 0, uncond=uncond)                                     # no alpha passed
    with pytest.raises(ValueError, match="torch.Generator"):
        s.draw(B, 0)
    alpha = s.draw(B, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="unconditional"):
        s(gen, 0, alpha=alpha)
    with pytest.raises(ValueError, match="uncond has shape"):
        s(gen, 0, alpha=alpha, uncond=torch.zeros(B, U, D + 1))
    with pytest.raises(ValueError, match=r"cfg needs alpha=\[3\] .*got \(4,\)"):
        s(gen, 0, alpha=s.draw(B + 1, torch.Generator().manual_seed(0)), uncond=uncond)
    neg, _ = s(gen, 0, alpha=alpha, uncond=uncond[0])                # shared [U, D] broadcasts
    assert neg.shape == (B, U, D)


# --- queue ----------------------------------------------------------------------------------

def test_queue_is_a_fifo_of_past_batches_with_state():
    q = zoo.build("negatives", "queue", size=5, weight=0.5)
    batches = [torch.full((1, 2, 3), float(i)) for i in range(5)]
    assert q(batches[0], 0) == (None, None)
    neg, w = q(batches[1], 1)
    assert torch.equal(neg, batches[0]) and torch.equal(w, torch.full((1, 2), 0.5))
    q(batches[2], 2)
    neg, _ = q(batches[3], 3)                                        # holds 0,0,1,1,2,2 -> last 5
    assert neg[0, :, 0].tolist() == [0.0, 1.0, 1.0, 2.0, 2.0]
    copy = zoo.build("negatives", "queue", size=5, weight=0.5)
    copy.load_state_dict({k: v.clone() for k, v in q.state_dict().items()})
    a, b = q(batches[4], 4), copy(batches[4], 4)
    assert torch.equal(a[0], b[0]) and torch.equal(q.feats, copy.feats)
    q.reset()
    assert q(batches[0], 0) == (None, None) and q.state_dict()["feats"].shape == (1, 2, 3)
    batches[0].add_(1)                                               # stored, not aliased
    assert q.feats.max() == 0


def test_queue_bad_args_and_shape_change():
    for kw in (dict(size=0), dict(size=2.5), dict(weight=-1.0), dict(weight=float("inf"))):
        with pytest.raises(ValueError, match="queue"):
            zoo.build("negatives", "queue", **kw)
    q = zoo.build("negatives", "queue")
    q(torch.zeros(1, 4, 2), 0)
    with pytest.raises(ValueError, match="must not change"):
        q(torch.zeros(2, 4, 2), 1)


# --- other_class ----------------------------------------------------------------------------

def test_other_class_uses_the_other_groups_positives():
    gen, pos, _ = inputs()
    _, (neg, w) = mix("other_class", gen, pos, None, weight=0.25)
    assert neg.shape == (B, (B - 1) * P, D) and torch.equal(w, torch.full((B, (B - 1) * P), 0.25))
    for b in range(B):
        assert torch.equal(neg[b], torch.cat([pos[o] for o in range(B) if o != b]))


def test_other_class_subsamples_per_class():
    gen, pos, _ = inputs()
    _, (neg, _) = mix("other_class", gen, pos, None, per_class=2, seed=5)
    _, (again, _) = mix("other_class", gen, pos, None, per_class=2, seed=5)
    assert neg.shape == (B, (B - 1) * 2, D) and torch.equal(neg, again)
    rows = {tuple(r.tolist()): o for o in range(B) for r in pos[o]}
    for b in range(B):
        owners = [rows[tuple(r.tolist())] for r in neg[b]]
        assert b not in owners and sorted(owners) == sorted(o for o in range(B) if o != b for _ in range(2))
    s = zoo.build("negatives", "other_class", per_class=2)
    assert torch.equal(s(gen, 0, pos=pos)[0][0, :2], pos[1, :2])     # no generator: the first k


def test_other_class_bad_args():
    gen, pos, _ = inputs()
    for kw in (dict(per_class=0), dict(weight=-1.0)):
        with pytest.raises(ValueError, match="other_class"):
            zoo.build("negatives", "other_class", **kw)
    s = zoo.build("negatives", "other_class")
    with pytest.raises(ValueError, match="B >= 2"):
        s(gen[:1], 0, pos=pos[:1])
    with pytest.raises(ValueError, match="B >= 2"):
        s(gen, 0)
    with pytest.raises(ValueError, match="exceeds"):
        zoo.build("negatives", "other_class", per_class=P + 1)(gen, 0, pos=pos)


# --- the trainer's check ----------------------------------------------------------------------

def test_class_strategies_refuse_unconditional_data():
    toy = zoo.build("dataset", "checkerboard")
    for name in ("self", "queue"):
        check_supported(zoo.build("negatives", name), toy)
    for name in ("cfg", "other_class"):
        with pytest.raises(ValueError, match="class-conditional"):
            check_supported(zoo.build("negatives", name), toy)
    toy.conditional = True
    check_supported(zoo.build("negatives", "cfg"), toy)
