"""Deng et al. 2026, Fig. 5 (CFG scale at inference): one generator trained with the release's
alpha sampler on [1, 4], evaluated at alpha 1 ... 4 on the digits.

    drift-zoo sweep gin/sweeps/paper_cfg.py --workers 1
    drift-zoo alpha-table results/runs/sweeps/paper_cfg --alpha 1,1.25,1.5,2,3,4 \
        --markdown results/paper/cfg.md

gin/experiments/digits.gin with mixed negatives (``@cfg()``: U = 32 unconditional real digits per
class, weight (alpha - 1)(G - 1)/U, alpha ~ alpha^-1 on [1, 4]), 1500 steps. Paper: FID is
U-shaped in alpha (best at 1.0-1.1 for the final models, ~2.0 for the ablation model) while IS
rises; on the digits expect FD U-shaped and precision up / recall down as alpha grows.
The leaderboard cannot show alpha (it is an inference setting): the table is the alpha-table's.
results/digits_cfg.md has the fixed-alpha rows. Not yet run here (results/paper_ablations.md).
"""
GIN_FILES = ["gin/experiments/digits.gin"]
# digits.gin's recipe before issue 15 (linear output, constant lr), which these tables measured
# digits.gin had 32 real digits per class until 2026-12-03 (now 64): pinned, so the table
# keeps its meaning
PARAMS = ["train.data_batch_size = 320",
          "conv.tanh = False", "train.lr_schedule = @schedule.constant()",
          "train.steps = 1500", "train.eval_every = 500", "train.checkpoint_every = 500",
          "train.negatives = @cfg()", "cfg.alpha_min = 1.0", "cfg.alpha_max = 4.0"]
SEEDS = [0, 1]
