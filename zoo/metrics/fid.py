"""FID through clean-fid (Parmar et al. 2022, "On aliased resizing and surprising subtleties
in GAN evaluation"), with the Inception weights read from a local file only.

    FID = FD( Inception pool3 features of folder 1, ... of folder 2 )    (Heusel et al. 2017)

clean-fid's "clean" mode resizes every image to 299 x 299 with PIL bicubic in float and feeds
clean-fid's ``InceptionV3W`` wrapper of the TorchScript Inception network of the StyleGAN2-ADA
metrics, the file ``inception-2015-12-05.pt`` (~91 MB). clean-fid downloads that file into
/tmp when it is missing; here it never does:

* the file comes from ``inception=`` (argument or gin binding ``fid.inception``) or the
  ``ZOO_INCEPTION`` environment variable -- the file itself or the folder holding it; when
  neither points at it, ``MissingInceptionError`` says which file to put where;
* we build the extractor ourselves (``InceptionV3W`` with its downloading constructor
  bypassed) and hand it to ``cleanfid.fid.compute_fid`` as ``custom_feat_extractor``, so
  clean-fid's own ``build_feature_extractor`` is never reached;
* every clean-fid download helper is replaced by one that raises while we run (``no_downloads``).

Any other feature network plugs in the same way: ``feature_extractor`` maps a float batch
[B, 3, H, W] in [0, 255] to [B, F]; ``evaluator_extractor`` wraps the in-repo evaluator
(``zoo.metrics.evaluator``), whose FD then equals ``zoo.metrics.image.frechet_distance`` of
its features (tested). Folders are read recursively (png, jpg, ...; grayscale files become
RGB), so ``drift-zoo sample --png_dir`` output and a class-per-folder data tree both work.

    ZOO_INCEPTION=/data/inception-2015-12-05.pt drift-zoo fid DIR1 DIR2    (zoo/cli/fid.py)
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import torch

from zoo.registry import register

INCEPTION_FILE = "inception-2015-12-05.pt"
ENV = "ZOO_INCEPTION"


class MissingInceptionError(FileNotFoundError):
    """The Inception weights are not where the configuration says (or nowhere is said)."""


def _source_hint() -> str:
    try:
        from cleanfid.downloads_helper import inception_url
        return f" (clean-fid fetches it from {inception_url})"
    except ImportError:  # pragma: no cover - clean-fid is a dependency
        return ""


def inception_path(inception: str | os.PathLike | None = None) -> Path:
    """The local Inception TorchScript file: ``inception``, else $ZOO_INCEPTION (a file, or a
    folder holding ``inception-2015-12-05.pt``). MissingInceptionError says what to put where."""
    given = inception if inception is not None else os.environ.get(ENV) or None
    what = (f"FID needs clean-fid's Inception-v3 weights, the TorchScript file {INCEPTION_FILE} "
            f"(~91 MB){_source_hint()}; nothing is downloaded here.")
    fix = (f"Put {INCEPTION_FILE} in a local folder (e.g. ~/.cache/zoo/{INCEPTION_FILE}) and set "
           f"{ENV}=/path/to/{INCEPTION_FILE} (or its folder), or pass inception=PATH "
           f"(gin: fid.inception = '/path/to/{INCEPTION_FILE}').")
    if given is None:
        raise MissingInceptionError(f"{what} No path is set: {ENV} is unset and no inception "
                                    f"argument was given. {fix}")
    path = Path(given).expanduser()
    if path.is_dir():
        path = path / INCEPTION_FILE
    if not path.is_file():
        source = "inception argument" if inception is not None else ENV
        raise MissingInceptionError(f"{what} {source} points at {path}, which does not exist. "
                                    f"{fix}")
    return path


@contextlib.contextmanager
def no_downloads():
    """Within the block, every clean-fid download helper raises RuntimeError instead."""
    import cleanfid.downloads_helper as dh
    import cleanfid.features as feats
    import cleanfid.fid as cfid
    import cleanfid.inception_torchscript as its

    def refuse(*args, **kwargs):
        raise RuntimeError("clean-fid tried to download a file; zoo.metrics.fid reads local "
                           f"files only (Inception: {ENV}; reference statistics: not supported)")

    targets = [(dh, "check_download_inception"), (dh, "check_download_url"),
               (dh, "download_google_drive"), (its, "check_download_inception"),
               (feats, "check_download_url"), (feats, "build_feature_extractor"),
               (feats, "get_reference_statistics"), (cfid, "build_feature_extractor"),
               (cfid, "get_reference_statistics")]
    saved = [(mod, name, getattr(mod, name)) for mod, name in targets if hasattr(mod, name)]
    try:
        for mod, name, _ in saved:
            setattr(mod, name, refuse)
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)


def load_inception(inception=None, device: str | torch.device = "cpu") -> torch.nn.Module:
    """clean-fid's ``InceptionV3W`` ("clean" mode: input [B, 3, 299, 299] in [0, 255] ->
    [B, 2048]) around the local TorchScript file, built without its download step."""
    from cleanfid.inception_torchscript import InceptionV3W

    path = inception_path(inception)
    model = InceptionV3W.__new__(InceptionV3W)
    torch.nn.Module.__init__(model)
    model.base = torch.jit.load(str(path), map_location="cpu").eval()
    model.layers = model.base.layers
    model.resize_inside = False
    return model.to(device).eval()


def evaluator_extractor(evaluator) -> "callable":
    """clean-fid feature extractor from an ImageEvaluator: [B, 3, H, W] in [0, 255] -> [B, F]
    (channel mean for a 1-channel evaluator; images must already be the evaluator's size)."""
    c = evaluator.shape[0]

    @torch.no_grad()
    def extract(batch: torch.Tensor) -> torch.Tensor:
        x = batch.float() / 127.5 - 1.0
        if c == 1:
            x = x.mean(1, keepdim=True)
        return evaluator.features(x)

    return extract


def _keep_size(size: tuple[int, int] | None):
    """clean-fid ``custom_fn_resize``: HWC uint8 array -> float32 (PIL bicubic to ``size``
    (H, W) when given and different), values kept in [0, 255]."""
    from PIL import Image

    def resize(img: np.ndarray) -> np.ndarray:
        if size is not None and img.shape[:2] != tuple(size):
            img = np.asarray(Image.fromarray(img).resize(size[::-1], Image.BICUBIC))
        return img.astype(np.float32)

    return resize


def _device(device) -> torch.device:
    return torch.device(device if device else ("cuda" if torch.cuda.is_available() else "cpu"))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")  # what clean-fid reads from a folder


def image_count(directory) -> int:
    """Images under ``directory`` at any depth (clean-fid globs ``**/*.<ext>``), so a
    class-per-folder tree (``train/<class>/*.JPEG``) counts its files; suffixes any case."""
    return sum(1 for p in Path(directory).rglob("*")
               if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


@register("metric", "fid")
def fid(dir1, dir2, inception: str | None = None, feature_extractor=None,
        device: str | None = None, batch_size: int = 64, num_workers: int = 0) -> float:
    """FID between the image folders ``dir1`` and ``dir2`` through clean-fid ("clean" mode).

    feature_extractor None: Inception from ``inception`` / $ZOO_INCEPTION; an ImageEvaluator:
    its features, images resized to its size; any other callable: clean-fid's
    ``custom_feat_extractor`` ([B, 3, 299, 299] in [0, 255] -> [B, F]).
    """
    from cleanfid.fid import compute_fid

    for d in (dir1, dir2):
        if not Path(d).is_dir():
            raise FileNotFoundError(f"fid: image folder {d} does not exist")
        if image_count(d) == 0:
            raise ValueError(f"fid: image folder {d} holds no images ({', '.join(IMAGE_SUFFIXES)}) "
                             "at any depth; write samples with drift-zoo sample --png_dir DIR")
    dev, resize = _device(device), None
    if feature_extractor is None:
        feature_extractor = load_inception(inception, dev)
    elif hasattr(feature_extractor, "features") and hasattr(feature_extractor, "shape"):
        feature_extractor.to(dev)
        resize = _keep_size(tuple(feature_extractor.shape[1:]))
        feature_extractor = evaluator_extractor(feature_extractor)
    with no_downloads():
        return float(compute_fid(str(dir1), str(dir2), mode="clean",
                                 custom_feat_extractor=feature_extractor,
                                 custom_fn_resize=resize, device=dev, batch_size=batch_size,
                                 num_workers=num_workers, verbose=False))


def fid_generator(gen, ref_dir, *, z_dim: int, num_gen: int, inception: str | None = None,
                  device: str | None = None, batch_size: int = 64) -> float:
    """FID of a generator against the folder ``ref_dir`` (clean-fid's ``gen`` path):
    ``gen(z [B, z_dim] ~ N(0, I) on device)`` -> images [B, 3, H, W] in [0, 255]."""
    from cleanfid.fid import compute_fid

    dev = _device(device)
    model = load_inception(inception, dev)
    with no_downloads():
        return float(compute_fid(gen=gen, fdir2=str(ref_dir), mode="clean", z_dim=z_dim,
                                 num_gen=num_gen, custom_feat_extractor=model, device=dev,
                                 batch_size=batch_size, num_workers=0, verbose=False))
