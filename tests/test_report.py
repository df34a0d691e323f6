"""The run's metrics table says which metrics are unbiased estimates that can be negative."""
from rich.console import Console

from zoo.run.report import metrics_table


def _text(summary) -> str:
    console = Console(width=80, color_system=None)
    with console.capture() as cap:
        console.print(metrics_table(summary))
    return cap.get()


def test_signed_estimators_are_marked_with_a_footer():
    text = _text({"workdir": "results/runs/0a1b-mlp-meanshift-laplace-self-s0", "step": 2000,
                  "final_metrics": {"energy_distance": -4e-05, "mmd": 1e-05, "precision": 0.95}})
    assert "energy_distance *" in text and "mmd *" in text and "precision *" not in text
    assert "-4e-05" in text
    assert "* unbiased estimate: ~0 at a match, may be < 0" in text
    assert "results/runs/0a1b-mlp-meanshift-laplace-self-s0" in text  # the title is not wrapped


def test_no_footer_without_signed_estimators():
    text = _text({"workdir": "r", "final_metrics": {"fd": 27.3, "class_accuracy": 0.99}})
    assert "unbiased" not in text and "*" not in text
