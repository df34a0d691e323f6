"""``drift-zoo gpu-check`` without a GPU: the no-CUDA line, the markdown table, failure rows,
and every check's function run on the CPU at tiny size (the CUDA run is the same code)."""
from __future__ import annotations

import re

import pytest
import torch

from zoo.cli import gpu_check as gc
from zoo.cli import main as drift_zoo


def test_without_cuda_one_line_and_exit_0(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert drift_zoo(["gpu-check", "--out", str(tmp_path / "t.md")]) == 0
    out = capsys.readouterr().out
    assert out.strip() == gc.NO_CUDA and len(out.strip().splitlines()) == 1
    assert "no CUDA device" in out and not (tmp_path / "t.md").exists()


def test_markdown_table():
    text = gc.markdown([("faiss", "ok", "recall@10 1.0000", "0.1 s"),
                        ("ddp", "FAIL: a|b", "-", "2.0 s")], "machine X")
    assert text.splitlines() == [
        "# GPU check (`drift-zoo gpu-check`)", "", "machine X", "",
        "| check | result | number | time |", "| --- | --- | --- | --- |",
        "| faiss | ok | recall@10 1.0000 | 0.1 s |", "| ddp | FAIL: a\\|b | - | 2.0 s |"]


def test_a_failing_check_is_a_row_and_the_rest_still_run(monkeypatch):
    def boom(device, tiny):
        raise RuntimeError("no nvJPEG\nhere")

    monkeypatch.setattr(gc, "CHECKS", {"a": boom, "b": lambda device, tiny: ("ok", "3 x")})
    rows = gc.run_checks("cpu", tiny=True)
    assert [r[:3] for r in rows] == [("a", "FAIL: RuntimeError: no nvJPEG here", "-"),
                                     ("b", "ok", "3 x")]
    assert all(re.fullmatch(r"\d+\.\d s", r[3]) for r in rows)


def test_main_writes_the_table_and_fails_on_a_failed_check(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr("zoo.bench.common.machine", lambda device: f"machine on {device}")
    rows = [("faiss", "ok", "recall@10 1.0000", "0.1 s")]
    monkeypatch.setattr(gc, "run_checks", lambda device, names=None: rows)
    out = tmp_path / "r" / "gpu.md"
    assert drift_zoo(["gpu-check", "--out", str(out)]) == 0
    assert out.read_text() == gc.markdown(rows, "machine on cuda")
    rows.append(("ddp", "FAIL: x", "-", "1.0 s"))
    assert drift_zoo(["gpu-check", "--out", str(out)]) == 1


def test_only_names_unknown_checks(capsys):
    assert drift_zoo(["gpu-check", "--only", "faiss,nvjpeg"]) == 2
    assert "unknown check(s) ['nvjpeg']; --only takes a comma-separated subset of train_step" \
        in capsys.readouterr().err


@pytest.mark.parametrize("name,number", [
    ("train_step", r"loss \d+\.\d{4}"), ("faiss", r"recall@10 1\.0000"),
    ("jpeg_decode", r"\d\.\d{3} levels"), ("loader", r"\d+ images/s"),
    ("dit_b_latent", r"\d+\.\d\d steps/s \(batch 8\)")])
def test_each_check_runs_on_cpu_at_tiny_size(name, number):
    result, value = gc.CHECKS[name]("cpu", tiny=True)
    assert result == "ok" and re.fullmatch(number, value), (result, value)


def test_ddp_check_over_two_gloo_ranks():
    """The spawned DDP step: gradients averaged across ranks, so the weights agree exactly."""
    assert gc.check_ddp("cpu", tiny=True, world=2) == ("ok", "2 ranks, spread 0.0e+00")
