"""Deng et al. 2026, App. A.2 (style embeddings): the generator with and without 32 random
style tokens, on the 32x32 shapes.

    drift-zoo sweep gin/sweeps/paper_style.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_style --paper \
        --metric fd,class_accuracy,feature_precision,feature_recall \
        --markdown results/paper/style.md --title "Style tokens"

gin/experiments/shapes.gin with the ``dit_tiny`` generator (patch 4; style tokens exist only
on the DiT) and the fixed random ResNet encoder, 600 steps of 6 classes x 16;
``dit_tiny.style_tokens`` 0 or 32 (each an index into 64 codes, summed into the conditioning).
Paper (ImageNet B/2, FID): without 8.86, with 8.46. Not yet run here
(results/paper_ablations.md).
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/shapes.gin"]
PARAMS = ["train.generator = @dit_tiny", "dit_tiny.patch = 4", "train.encoder = @random_conv()"]
SEEDS = [0, 1]
AXES = sweep("dit_tiny.style_tokens", [32, 0])

PAPER = {"style_tokens=32": 8.46, "style_tokens=0": 8.86}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "fd"
PAPER_BASELINE = "style_tokens=32"
