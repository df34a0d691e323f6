"""Deng et al. 2026, App. A.2 (style embeddings): the generator with and without 32 random
style tokens, on the 8x8 digits.

    drift-zoo sweep gin/sweeps/paper_style.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_style --paper \
        --metric fd,class_accuracy,feature_precision,feature_recall \
        --markdown results/paper/style.md --title "Style tokens"

gin/experiments/digits.gin (identity encoder: the question is the generator's input, and pixel
space keeps a run at ~0.14 s a step on one thread; ``split``, cosine lr, 10 classes x 32 + 32
per step) with the ``dit_tiny`` generator (style tokens exist only on the DiT: depth 2, width
64, 2 heads, linear output as in the release) at patch 2: 8x8 -> 16 tokens of 4 pixels;
**1000 steps** (cosine lr to 0 over them). Measured on the shared 2-core machine, one thread:
150-155 CPU-s (5-8 min) a run, 10 CPU-minutes for the 4 runs (~0.15 s a step; 2000 steps would
fit the ~25 CPU-minutes, chosen before the sweep's 2-thread oversubscription was fixed).
``dit_tiny.style_tokens`` 32 or 0: 32 indices drawn with the noise into 64 learnt codes, their
embeddings summed into the conditioning (the paper's text). Without them the only randomness is
the 1x8x8 noise image. Paper (ImageNet B/2, FID): without 8.86, with 8.46. Results:
results/paper_ablations.md section 5.
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/digits.gin"]
# digits.gin had 32 real digits per class until 2026-12-03 (now 64): pinned, so the table
# keeps its meaning
PARAMS = ["train.data_batch_size = 320",
          "train.generator = @dit_tiny", "dit_tiny.patch = 2", "train.steps = 1000",
          "train.eval_every = 500", "train.checkpoint_every = 1000"]
SEEDS = [0, 1]
AXES = sweep("dit_tiny.style_tokens", [32, 0])

PAPER = {"style_tokens=32": 8.46, "style_tokens=0": 8.86}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "fd"
PAPER_BASELINE = "style_tokens=32"
