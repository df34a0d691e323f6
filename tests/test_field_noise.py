"""zoo/field_noise.py and drift-zoo field-noise: a field's terms along a thin cloud at q = p."""
import pytest
import torch

import zoo
from zoo.cli import field_noise as cli
from zoo.field_noise import field_terms

split, laplace = zoo.registry.lookup("field", "split"), zoo.registry.lookup("kernel", "laplace")


def test_frame_points_along_the_arm_toward_its_dense_middle():
    ds = zoo.build("dataset", "thin_pinwheel")
    r = torch.linspace(0.4, 1.6, 25)
    arm = lambda r: torch.stack([r * torch.cos(ds.rate * torch.exp(r)),  # noqa: E731
                                 r * torch.sin(ds.rate * torch.exp(r))], 1)
    tangent = arm(r + 1e-3) - arm(r - 1e-3)  # d/dr of the arm's centre line (class 0)
    z, inward, across = ds.frame(arm(r))
    cos = torch.nn.functional.cosine_similarity(inward, tangent, dim=1)
    assert torch.allclose(cos, -torch.sign(r - 1), atol=1e-4)  # outward half: against dr
    assert torch.allclose(z, (r - 1) / ds.radial_std, atol=1e-5)
    assert (inward * across).sum(1).abs().max() < 1e-6


def test_attraction_points_inward_and_the_field_has_no_bias_at_q_equal_p():
    ds = zoo.build("dataset", "thin_pinwheel")
    terms = field_terms(ds, split, laplace, (0.12,), n=512, reps=4)
    mid = {term: terms[(0.12, term)][1] for term in ("V+", "V-", "V")}  # the 1 <= |z| < 2 band
    assert mid["V+"][1] > 0.05 and mid["V-"][1] > 0.05  # both terms pull toward denser data ...
    assert abs(mid["V"][1]) < 0.1 * mid["V+"][1]        # ... and cancel: no bias in V


def test_cli_prints_the_table_and_names_datasets_without_a_frame(capsys):
    assert cli.main(["--n", "128", "--reps", "2", "--temperatures", "0.1",
                     "--particle_steps", "10"]) == 0
    out = capsys.readouterr().out
    assert "mean inward" in out and "share beyond |z| > 2 by step: 0:" in out
    assert cli.main(["--dataset", "checkerboard", "--reps", "1"]) != 0
    assert "has no frame(x)" in capsys.readouterr().err + capsys.readouterr().out


def test_split_cancels_its_finite_sample_bias_only_with_equal_counts():
    """At a thin cloud's ends V+ and V- each carry a ratio-estimator bias that shrinks with their
    count; split is unbiased at q = p because both come from the same count. 4x the positives
    halves V+'s pull there and leaves V pushing samples outward (results/toy_degradation.md,
    section 11: train.data_batch_size = 4096 with batch 1024 drops graded_spiral's precision)."""
    ds = zoo.build("dataset", "thin_pinwheel")
    ends = {}
    for p in (511, 2048):
        terms = field_terms(ds, split, laplace, (0.03,), n=512, positives=p, reps=12)
        ends[p] = {term: terms[(0.03, term)][2] for term in ("V+", "V")}  # the |z| >= 2 band
    (_, v_plus, _, _, _), (_, v, se, _, _) = ends[511]["V+"], ends[511]["V"]
    assert abs(v) < 2 * se                                  # equal counts: no bias in V
    assert ends[2048]["V+"][1] < 0.7 * v_plus               # more positives: less of V+'s pull
    assert ends[2048]["V"][1] < min(-2 * ends[2048]["V"][2], v - 0.015)  # V points outward
