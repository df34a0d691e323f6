"""Kernel x temperatures on the default 2-D recipe (gin/experiments/toy.gin), 3 seeds.

    drift-zoo sweep gin/sweeps/toy_kernels.py --dry_run
    drift-zoo sweep gin/sweeps/toy_kernels.py --workers 2
    drift-zoo leaderboard results/runs/sweeps/toy_kernels --markdown results/toy_kernels.md

laplace exp(-r/tau) against gaussian exp(-r^2/2tau^2) (Lai et al. 2026: the Gaussian drift is a
score difference of smoothed densities), each with the recipe's temperatures (1.0, 4.0) and a
half-width set (0.5, 2.0), both annealed by the recipe's exponential schedule. Short runs
(300 steps) so the 12 runs take a few minutes on a small machine.
"""
from zoo.sweeps import product, sweep

GIN_FILES = ["gin/experiments/toy.gin"]
# exponential.delay = 0.2 and a constant lr: the recipe these tables were measured with
# (toy.gin now uses delay 0.0 and a cosine lr)
PARAMS = ["exponential.delay = 0.2", "train.lr_schedule = @schedule.constant()",
          "train.steps = 300", "train.eval_every = 100",
          "train.checkpoint_every = 100"]
SEEDS = [0, 1, 2]
AXES = product(
    sweep("train.kernel", ["@laplace", "@gaussian"]),
    sweep("train.temperatures", [(1.0, 4.0), (0.5, 2.0)]),
)
