"""The classification fine-tune of the MAE (zoo/encoders/cls_finetune.py, ``drift-zoo
train-encoder --cls_steps``): the lambda ramp, the loss mix, the own head's held-out accuracy,
a saved state dict without the head, and clear errors."""
from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.cli import train_encoder
from zoo.encoders.cls_finetune import ClsHead, cls_finetune, cls_lambda
from zoo.encoders.mae import ResNet


def test_lambda_ramps_linearly_from_zero_then_holds():
    assert [cls_lambda(t, 0.1, 4) for t in range(7)] == pytest.approx(
        [0.0, 0.025, 0.05, 0.075, 0.1, 0.1, 0.1], abs=1e-15)
    assert cls_lambda(0, 0.1, 4) == 0.0
    assert cls_lambda(0, 0.3, 0) == 0.3 and cls_lambda(9, 0.3, 0) == 0.3


def _finetune(weight, warmup, steps=1):
    """One tiny fine-tune under SGD; returns (head moved, recon parameter moved)."""
    torch.manual_seed(0)
    net, head = ResNet(1, 4, (1, 1), 1), ClsHead(8, 3)
    recon_param = torch.nn.Parameter(torch.ones(()))
    opt = torch.optim.SGD([*net.parameters(), *head.parameters(), recon_param], lr=0.1)
    head0 = [p.detach().clone() for p in head.parameters()]
    g = torch.Generator().manual_seed(1)
    batches = lambda: (torch.randn(8, 1, 8, 8, generator=g), torch.arange(8) % 3,  # noqa: E731
                       torch.ones(8, 1, 8, 8))
    recon = lambda x, mask: recon_param * 2.0 + 0 * net.encode(x)[0]["layer2"].mean()  # noqa: E731
    cls_finetune(net, head, opt, batches, recon, steps, weight, warmup)
    moved = any(not torch.equal(a, b) for a, b in zip(head0, head.parameters()))
    return moved, recon_param.item() != 1.0


def test_the_loss_is_lambda_ce_plus_one_minus_lambda_recon():
    assert _finetune(weight=1.0, warmup=0) == (True, False)     # lambda = 1: CE only
    assert _finetune(weight=0.0, warmup=0) == (False, True)     # lambda = 0: recon only
    assert _finetune(weight=1.0, warmup=5) == (False, True)     # lambda_0 = 0 on the ramp
    assert _finetune(weight=0.5, warmup=0) == (True, True)


def test_fine_tune_raises_the_own_heads_held_out_accuracy_and_saves_no_head(tmp_path):
    out = tmp_path / "mae_cls.pt"
    rc = train_encoder.main(["--dataset", "digits", "--out", str(out), "--steps", "25",
                             "--batch", "32", "--base_channels", "8", "--eval_batch", "128",
                             "--cls_steps", "30", "--cls_weight", "0.5", "--quiet"])
    assert rc == 0
    config = json.loads(out.with_suffix(".json").read_text())
    assert config["cls_steps"] == 30 and config["cls_weight"] == 0.5
    assert config["cls_warmup"] == 10                             # default cls_steps // 3
    assert config["cls_accuracy_before"] < 0.2                    # a fresh head: chance 0.1
    assert config["cls_accuracy_after"] > config["cls_accuracy_before"] + 0.15
    assert config["eval_loss_after"] < config["eval_loss_before"]
    state = torch.load(out, weights_only=True)
    assert set(state) == set(ResNet(1, 8, (1, 1, 1, 1), 1).state_dict())  # no head, no decoder
    enc = zoo.build("encoder", "mae", path=str(out))
    assert torch.equal(enc.net.stages[-1][0].body[0][0].weight, state["stages.3.0.body.0.0.weight"])


def _fit(dataset, *extra):
    args = train_encoder.parse(["--dataset", "digits", "--out", "unused.pt", "--steps", "1",
                                "--quiet", *extra])
    return train_encoder.fit(args, dataset)


def test_clear_errors():
    with pytest.raises(ValueError, match="--cls_steps fine-tunes on the dataset's class labels, "
                                         "but dataset 'digits' is not class-conditional"):
        _fit(zoo.build("dataset", "digits", conditional=False), "--cls_steps", "3")
    with pytest.raises(ValueError, match=r"0 <= cls_weight <= 1"):
        _fit(zoo.build("dataset", "digits"), "--cls_steps", "3", "--cls_weight", "1.5")
    with pytest.raises(ValueError, match=r"last block output \(32 channels, 1x1\) is the same "
                                         r"for every image.*fewer --layers"):
        _fit(zoo.build("dataset", "digits"), "--cls_steps", "3", "--base_channels", "4")
