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
