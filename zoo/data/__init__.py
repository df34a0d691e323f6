"""Datasets: the protocol every source of positives follows, and a sanity check for it.

A dataset is a (possibly infinite) distribution ``p`` the generator is drifted toward:

    x_1..x_n ~ p      sample(n, generator) -> [n, D] float32   (training draws)
    y_1..y_n ~ p      held_out(n)          -> [n, D] float32   (evaluation, fixed, independent)

``sample`` must draw *only* from the ``torch.Generator`` it is given: the trainer checkpoints
that generator's state, so a resumed run replays the same positives bit for bit. ``held_out``
uses its own fixed seed (``HELD_OUT_SEED + n``), so evaluation data never depends on, nor
disturbs, the training stream.

Mixtures of isotropic Gaussians also expose their centres, ``modes [K, D]``, and the shared
``mode_std``; point-cloud metrics use them for mode coverage and quality (fraction of samples
within a few std of a centre). Other datasets leave both ``None``.

Class-conditional datasets (``conditional = True``; the Gaussian mixtures with
``conditional=True``, class = mode index) also draw from p(.|c) for given labels:

    x_i ~ p(.|c_i)    sample_class(labels [n] int64, generator) -> [n, D] (training draws)
    y_i ~ p(.|c_i)    held_out_class(labels)                    -> [n, D] (fixed seed)

with classes 0..``num_classes``-1. ``sample`` stays the marginal p = mean_c p(.|c) (the
unconditional real samples of classifier-free guidance, ``zoo.negatives.cfg``).

Image datasets (``digits``, ``shapes``, ``image_folder``) keep the same flat rows, D = C*H*W, and
say how to fold them back with ``shape = (C, H, W)``: ``x.view(n, *ds.shape)`` is [n, C, H, W],
pixel values in [-1, 1]. Point datasets leave ``shape = None``.

Every dataset is registered under kind ``"dataset"`` (``zoo.registry``) with its class name as
the key, e.g. ``build("dataset", "checkerboard")`` or ``train.dataset = @checkerboard()`` in gin.

A dataset that cannot be built without arguments (a file, a folder, shards) names them in
``needs_args`` (e.g. ``("path",)`` for ``points``): exactly its constructor's parameters without
a default. ``tests/test_data.py`` builds such a dataset from a small fixture or skips it naming
those arguments; any other TypeError from a constructor is a failure, not a skip. Datasets with
named classes list them in ``class_names`` (row labels of sample grids, ``zoo.images``).

Adding a dataset: drop a file in ``zoo/data/`` with one ``@register("dataset", "<name>")``
subclass of ``Dataset`` named like the file; ``import_all`` below imports it, nothing to list.
"""
from __future__ import annotations

import torch

HELD_OUT_SEED = 10**6  # held_out(n) draws from torch.Generator().manual_seed(HELD_OUT_SEED + n)


class Dataset:
    """Base class of the dataset protocol.

    Attributes:
        dim: D, the dimension of one sample.
        modes: [K, D] mode centres for mixtures of isotropic Gaussians, else None.
        mode_std: the per-coordinate std of every mixture component, else None.
        conditional: True when ``sample_class`` draws from p(.|c) (read by the trainer and
            ``zoo.negatives.check_supported``).
        num_classes: K, the number of classes, when conditional.
        shape: (C, H, W) for image datasets (rows are images flattened C-major), else None.
        needs_args: names of the constructor's required arguments (e.g. ("path",)), else ().
        class_names: [K] names of the classes when they have names, else None (indices).
    """

    dim: int = 2
    modes: torch.Tensor | None = None
    mode_std: float | None = None
    conditional: bool = False
    num_classes: int | None = None
    shape: tuple[int, ...] | None = None
    needs_args: tuple[str, ...] = ()
    class_names: list[str] | None = None

    @property
    def name(self) -> str:
        """The registry name (file = class = registry key = gin name)."""
        return type(self).__name__

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, dim] float32 training draws, on ``generator.device``, using only ``generator``."""
        raise NotImplementedError

    def held_out(self, n: int) -> torch.Tensor:
        """[n, dim] float32 evaluation draws: deterministic, independent of training draws.

        The default suits synthetic sets: ``sample`` under the fixed seed HELD_OUT_SEED + n.
        """
        generator = torch.Generator().manual_seed(HELD_OUT_SEED + n)
        return self.sample(n, generator)

    def sample_class(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[n, dim] float32 draws x_i ~ p(.|labels[i]), labels [n] int64; only ``generator``."""
        raise ValueError(f"dataset '{self.name}' is unconditional: it has no sample_class")

    def held_out_class(self, labels: torch.Tensor) -> torch.Tensor:
        """[n, dim] deterministic evaluation draws from p(.|labels[i]), seed HELD_OUT_SEED + n."""
        generator = torch.Generator().manual_seed(HELD_OUT_SEED + len(labels))
        return self.sample_class(labels, generator)

    def __repr__(self) -> str:
        return f"{self.name}(dim={self.dim})"


def _check_batch(ds: Dataset, x: object, n: int, what: str) -> None:
    """Raise ValueError unless ``x`` is a finite [n, ds.dim] floating tensor."""
    where = f"dataset '{ds.name}': {what}"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{where} returned {type(x).__name__}, "
                         f"expected a torch.Tensor [{n}, {ds.dim}]")
    if x.numel() == 0:
        raise ValueError(f"{where} returned an empty tensor of shape {tuple(x.shape)}; "
                         f"expected [{n}, {ds.dim}] -- is the data source empty?")
    if tuple(x.shape) != (n, ds.dim):
        raise ValueError(f"{where} returned shape {tuple(x.shape)}, expected [{n}, {ds.dim}] "
                         f"(n rows of dim={ds.dim}); check the dataset's dim attribute")
    if not x.is_floating_point():
        raise ValueError(f"{where} returned dtype {x.dtype}; expected a floating tensor (float32)")
    finite = torch.isfinite(x).all(dim=1)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{where} returned {bad} of {n} rows with NaN or inf values; "
                         f"clean the data source (drop or impute those rows)")


def check_dataset(ds: Dataset, n: int = 16) -> None:
    """Draw ``n`` training and ``n`` held-out samples from ``ds`` and validate them.

    Uses a private generator (seed 0), so the caller's training generator is not advanced.
    Raises ValueError, naming the dataset and the problem, if a batch is empty, not
    [n, ds.dim], not floating point, or has non-finite values.
    """
    generator = torch.Generator().manual_seed(0)
    _check_batch(ds, ds.sample(n, generator), n, f"sample({n}, generator)")
    _check_batch(ds, ds.held_out(n), n, f"held_out({n})")
    if getattr(ds, "conditional", False):
        k = ds.num_classes
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"dataset '{ds.name}' is conditional but num_classes = {k}; "
                             f"it must be a positive int")
        labels = torch.arange(n) % k
        _check_batch(ds, ds.sample_class(labels, generator), n, f"sample_class(labels [{n}])")


from zoo.registry import import_all  # noqa: E402  (after Dataset: the modules subclass it)

import_all(__name__, __path__, globals())  # every module registers itself

__all__ = ["Dataset", "HELD_OUT_SEED", "check_dataset"]
