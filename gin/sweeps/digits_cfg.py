"""Classifier-free guidance on the digits (gin/experiments/digits.gin): mixed negatives vs none.

    drift-zoo sweep gin/sweeps/digits_cfg.py --workers 2
    drift-zoo alpha-table results/runs/sweeps/digits_cfg --alpha 1,1.5,2,3 \
        --markdown results/digits_cfg.md

Rows: ``self`` negatives (no cfg mixing); ``cfg`` trained at one fixed alpha in {1, 1.5, 2, 3}
(alpha_min = alpha_max; each evaluated at its own alpha); ``cfg`` with the release's per-class
alpha sampler on [1, 4] (one generator conditioned on alpha, evaluated at every alpha).
U = 32 unconditional real digits per class enter the negatives with the release's weight
(alpha - 1)(G - 1)/U. 1500 steps, 2 seeds; metrics in the committed evaluator's features.
"""
from zoo.sweeps import chain, fixed, product, zip

GIN_FILES = ["gin/experiments/digits.gin"]
# digits.gin's recipe before issue 15 (linear output, constant lr), which these tables measured
# digits.gin had 32 real digits per class until 2026-12-03 (now 64): pinned, so the table
# keeps its meaning
PARAMS = ["train.data_batch_size = 320",
          "conv.tanh = False", "train.lr_schedule = @schedule.constant()",
          "train.steps = 1500", "train.eval_every = 500", "train.checkpoint_every = 500"]
SEEDS = [0, 1]

SELF = [{"train.negatives": "@self()"}]
FIXED = product(
    fixed("train.negatives", "@cfg()"),
    zip([{"cfg.alpha_min": a} for a in ("1.0", "1.5", "2.0", "3.0")],
        [{"cfg.alpha_max": a} for a in ("1.0", "1.5", "2.0", "3.0")]),
)
SAMPLED = [{"train.negatives": "@cfg()", "cfg.alpha_min": "1.0", "cfg.alpha_max": "4.0"}]
AXES = chain(SELF, FIXED, SAMPLED)
