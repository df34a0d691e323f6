"""Issue 15's remaining axes on the shapes recipe as it was before guidance, one at a time
(gin/experiments/shapes.gin with train.negatives = @self(): the classification-fine-tuned MAE,
conv width 32, split, 6 classes x 16 generated / 16 real, 600 steps). Its guidance row won and
is shapes.gin's default since.

    drift-zoo sweep gin/sweeps/shapes_study.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/shapes_study \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,energy_distance,cpu_time \
        --markdown results/images/shapes_study.md
    drift-zoo alpha-table results/runs/sweeps/shapes_study/<cfg run>_s0 <cfg run>_s1 --alpha 1,2,3

Rows: guidance (``cfg``: U = 16 unconditional real shapes per class as extra negatives with the
release's weight (alpha - 1)(G - 1)/U, alpha drawn per class on [1, 4] by the release's sampler,
one generator conditioned on alpha, evaluated at alpha 1, 2, 3); the generator (``dit_tiny`` at
patch 4: 8x8 tokens, with 4 style tokens as the paper's default); the field (``meanshift``, the
paper's, against the default ``split``); the temperatures (the paper's three, in mean distances,
shifted down or up by 2.5x). Does any of them move the class accuracy past the ~0.5 plateau
(results/images.md)? Readings and the 1800-step runs of the guided rows: results/images.md,
section "Guidance, field, temperatures, generator".
"""
from zoo.sweeps import chain

GIN_FILES = ["gin/experiments/shapes.gin"]
# measured before shapes.gin turned guidance on (2026-12-02): keep their meaning
# and with the first fine-tuned MAE, pinned so that a change of shapes.gin's encoder keeps it
PARAMS = ["train.negatives = @self()", "mae.path = 'results/encoders/mae_shapes_cls.pt'"]
SEEDS = [0, 1]
CFG = {"train.negatives": "@cfg()", "cfg.alpha_min": "1.0", "cfg.alpha_max": "4.0",
       "train.uncond_per_class": "16"}
AXES = chain(
    [CFG],
    [{"train.field": "@meanshift"}],
    [{"train.temperatures": "(0.008, 0.02, 0.08)"}],
    [{"train.temperatures": "(0.05, 0.125, 0.5)"}],
    [{"train.generator": "@dit_tiny", "dit_tiny.patch": "4", "dit_tiny.style_tokens": "4"}],
    # second round, after the first: guidance with the other field, a fixed scale, and the
    # recipe before guidance itself on this machine (its CPU time next to the others')
    [{**CFG, "train.field": "@meanshift"}],
    [{**CFG, "cfg.alpha_min": "3.0", "cfg.alpha_max": "3.0"}],
    [{"train.lr": "1e-3"}],                                      # the recipe before guidance
)
