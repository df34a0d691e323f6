"""The evaluator network: a small CNN classifier whose penultimate layer embeds images for
FD / KID / precision-recall (``zoo.metrics.image``) and whose predictions score
class-conditional samples ("does a 3 look like a 3").

    x [N, C, H, W] in [-1, 1]  (or flat rows [N, C*H*W])
      -> S stages of (conv3x3 -> ReLU -> conv3x3 -> ReLU -> maxpool 2), channels w, 2w, 4w ...
      -> global average pool                     = features(x)  [N, F],  F = w 2^(S-1)
      -> linear                                  = logits       [N, K]

with S = min(3, log2(H) - 1) stages: 2 for the 8x8 digits (8 -> 4 -> 2), 3 for the 32x32
shapes (32 -> 16 -> 8 -> 4). Like Inception's pool3 features (Heusel et al. 2017) the
embedding is a pooled post-ReLU map, so its covariance may be rank-deficient; the Frechet
distance handles that (see ``zoo.metrics.image``).

A checkpoint (``tools/train_evaluator.py``) is a dict of plain tensors and numbers, loaded with
``torch.load(..., weights_only=True)``: ``{"config": {...}, "state_dict": {...}}``, with the
same config (and test accuracy) in a ``.json`` beside it. ``load_evaluator(path)`` rebuilds
the network in eval mode, gradients off.
"""
from __future__ import annotations

import math
import pickle
from pathlib import Path

import torch
from torch import nn

from zoo.metrics.blur import random_blur

ROOT = Path(__file__).resolve().parents[2]
EVALUATOR_DIR = ROOT / "results" / "evaluators"
DEFAULT_WIDTH = {"digits": 32, "shapes": 16}
BLUR_RECIPE = "--blur 1.5 --steps 2000"  # results/evaluators/shapes_blur.pt


class ImageEvaluator(nn.Module):
    """Small CNN classifier for images of ``shape`` = (C, H, W) with ``num_classes`` classes."""

    def __init__(self, shape: tuple[int, int, int], num_classes: int, width: int = 32):
        super().__init__()
        c, h, w = (int(s) for s in shape)
        if h != w or h < 4 or h & (h - 1):
            raise ValueError(f"evaluator: images must be square with a power-of-two side >= 4, "
                             f"got shape {tuple(shape)}")
        if int(num_classes) < 2:
            raise ValueError(f"evaluator: num_classes must be >= 2, got {num_classes}")
        self.shape, self.num_classes, self.width = (c, h, w), int(num_classes), int(width)
        stages = min(3, int(math.log2(h)) - 1)
        layers, cin = [], c
        for s in range(stages):
            cout = self.width * 2 ** s
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.feature_dim = cin
        self.head = nn.Linear(cin, self.num_classes)

    def config(self) -> dict:
        """The constructor arguments (plain JSON)."""
        return {"shape": list(self.shape), "num_classes": self.num_classes, "width": self.width}

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] float32 from flat rows [N, C*H*W] or images; ValueError on a bad shape."""
        x = torch.as_tensor(x)
        n = x.shape[0] if x.dim() else 0
        if x.dim() == 2 and x.shape[1] == math.prod(self.shape):
            x = x.reshape(n, *self.shape)
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"evaluator expects images {self.shape} or rows of "
                             f"{math.prod(self.shape)}, got shape {tuple(x.shape)}")
        return x.float()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate embedding [N, F] of images/rows x in [-1, 1]."""
        return self.body(self.images(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, K]."""
        return self.head(self.features(x))

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """(features [N, F], predicted class [N]) in batches, no grad, on the evaluator's device."""
        dev = next(self.parameters()).device
        feats, preds = [], []
        for i in range(0, len(x), batch_size):
            f = self.features(torch.as_tensor(x[i:i + batch_size]).to(dev))
            feats.append(f.cpu())
            preds.append(self.head(f).argmax(1).cpu())
        return torch.cat(feats), torch.cat(preds)


def default_path(dataset: str) -> Path:
    """results/evaluators/<dataset>.pt in the repository."""
    return EVALUATOR_DIR / f"{dataset}.pt"


def make_command(path) -> str:
    """The command that trains the evaluator stored at ``path`` (dataset = the file's stem)."""
    stem = Path(path).stem
    size = stem[len("shapes"):] if stem.startswith("shapes") else ""
    if size.isdigit():
        return f"drift-zoo train-evaluator --dataset shapes --size {size} --out {path}"
    if stem == "shapes_blur":  # the blur-robust second opinion (zoo.metrics.blur)
        return f"drift-zoo train-evaluator --dataset shapes {BLUR_RECIPE} --out {path}"
    dataset = stem if stem in DEFAULT_WIDTH else "digits|shapes"
    return f"drift-zoo train-evaluator --dataset {dataset} --out {path}"


def save_evaluator(model: ImageEvaluator, path, extra: dict | None = None) -> None:
    """Write ``{"config", "state_dict"}`` to ``path`` (atomically) and the config + ``extra``
    (dataset, accuracy, ...) as JSON beside it (``path`` with suffix .json)."""
    import json

    from zoo.run.folder import save_weights  # late: the run machinery imports the registry

    config = model.config()
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    save_weights(path, {"config": config, "state_dict": state},
                 json.dumps({**config, **(extra or {})}, indent=2) + "\n")


def load_evaluator(path, device: str | torch.device = "cpu") -> ImageEvaluator:
    """The evaluator stored at ``path`` (eval mode, no grad). FileNotFoundError names the path
    and the command that makes it; ValueError for a file that is not an evaluator checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no evaluator checkpoint at {path}; train one with: "
                                f"{make_command(path)}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = ckpt["config"]
        model = ImageEvaluator(tuple(cfg["shape"]), cfg["num_classes"], cfg["width"])
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError, EOFError,
            pickle.UnpicklingError) as err:
        raise ValueError(f"{path} is not an evaluator checkpoint ({err}); remake it with: "
                         f"{make_command(path)}") from err
    return model.to(device).eval().requires_grad_(False)


def test_set(dataset, n: int = 1200) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows [n, D], labels [n]) held out for the evaluator: the whole test split when the
    dataset has one (``test_labels``, digits), else n balanced held-out draws (shapes)."""
    labels = getattr(dataset, "test_labels", None)
    if labels is None:
        labels = torch.arange(n) % dataset.num_classes
    return dataset.held_out_class(labels), labels


@torch.no_grad()
def accuracy(model: ImageEvaluator, x: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of rows x whose predicted class is ``labels``."""
    return float((model.embed(x)[1] == torch.as_tensor(labels)).float().mean())


def fit(model: ImageEvaluator, dataset, steps: int, *, batch_size: int = 128, lr: float = 2e-3,
        seed: int = 0, blur: float = 0.0, callback=None) -> ImageEvaluator:
    """Train ``model`` for ``steps`` Adam steps (cosine learning rate) on class-balanced draws
    ``dataset.sample_class(labels, g)``, g seeded by ``seed``; ``blur`` > 0 blurs each training
    image with sigma ~ U[0, blur] pixels (``zoo.metrics.blur``), so the classifier reads shape
    rather than edge sharpness. ``callback(step, loss)`` after every step. Returns the model in
    eval mode."""
    if not getattr(dataset, "conditional", False):
        raise ValueError(f"evaluator: dataset {dataset!r} must be class-conditional")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / max(steps, 1))))
    model.train()
    for step in range(1, steps + 1):
        labels = torch.randint(model.num_classes, (batch_size,), generator=g)
        x = random_blur(model.images(dataset.sample_class(labels, g)), blur, g)
        loss = nn.functional.cross_entropy(model(x), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss = loss.detach()
        if callback is not None:
            callback(step, loss.item())
    return model.eval()
