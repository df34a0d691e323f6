"""The training progress bar: headline metrics of the last eval stay; no 'nan' before values."""
import io

from rich.console import Console

from zoo.run.progress import StepProgress


def _bar(total=100):
    out = io.StringIO()
    console = Console(file=out, width=240, force_terminal=False, color_system=None)
    return StepProgress(total, console=console), console, out


def _render(bar, console) -> str:
    """The bar's line as text (its live display is off on a non-terminal console)."""
    with console.capture() as cap:
        console.print(bar._progress.make_tasks_table(bar._progress.tasks))
    return cap.get()


def test_step_zero_shows_dashes_not_nan():
    bar, console, _ = _bar()
    with bar:
        text = _render(bar, console)
        assert "nan" not in text and "loss -" in text and "drift -" in text
        bar.update(1, 2.5, float("nan"))  # an encoder run's first step may lack a drift
        text = _render(bar, console)
        assert "nan" not in text and "loss 2.5000" in text and "drift -" in text


def test_eval_headline_metrics_stay_until_the_next_eval():
    bar, console, _ = _bar()
    with bar:
        bar.update(1, 3.0, 0.5)
        assert "energy_distance" not in _render(bar, console)
        bar.evaluated({"energy_distance": 0.0123, "mmd": 0.001, "precision": 0.9512, "recall": 0.7})
        for step in (2, 3):
            bar.update(step, 2.9, 0.4)
            text = _render(bar, console)
            assert "energy_distance 0.0123" in text and "precision 0.9512" in text
            assert "recall" not in text and "mmd" not in text  # only the headline
        bar.evaluated({"energy_distance": -0.0004, "precision": 0.97})
        bar.update(4, 2.8, 0.3)
        assert "energy_distance -0.0004" in _render(bar, console)


def test_image_runs_show_fd_and_class_accuracy():
    bar, console, _ = _bar()
    with bar:
        bar.evaluated({"fd": 27.31, "kid": 0.5, "feature_precision": 0.8, "class_accuracy": 0.99,
                       "energy_distance": 0.2})
        text = _render(bar, console)
        assert "fd 27.31" in text and "class_accuracy 0.99" in text and "energy_distance" not in text
