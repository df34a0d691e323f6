"""Deng et al. 2026, Fig. 3 (no mode collapse): a bimodal target, q started between the modes,
far away, or collapsed on one mode; the mass per mode over training.

    drift-zoo sweep gin/sweeps/paper_modes.py --workers 1 --metric mode_kl
    drift-zoo leaderboard results/runs/sweeps/paper_modes --paper \
        --metric mode_kl,modes_covered,high_quality,energy_distance \
        --markdown results/paper/modes.md --title "Fig. 3: no mode collapse"

``two_gaussians`` (modes at (-2, 0) and (2, 0), std 0.2) on gin/experiments/official_toy.gin
(meanshift without floor, one tau 0.05 in data units, raw force), 200 steps of 256. The
generator's output starts at ``mlp.init_center`` with spread ``mlp.init_spread``: (0, 0) spread
0.1 (between), (0, 8) spread 0.1 (far away), (2, 0) spread 0.02 (collapsed on the right mode).
mode_kl = KL(mass per mode || uniform): 0 for a 50/50 split, log 2 = 0.69 for one mode; it is
logged at every evaluation (every 40 steps), so curves.png shows the mass settling over steps.
Paper: both modes are covered from every start.
"""
from zoo.sweeps import chain, fixed, product

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.dataset = @two_gaussians()", "train.steps = 200", "train.batch_size = 256",
          "train.eval_samples = 2048", "train.eval_every = 40", "train.checkpoint_every = 200"]
SEEDS = [0, 1]
AXES = product(chain(
    [{"mlp.init_center": "(0.0, 0.0)", "mlp.init_spread": "0.1"}],
    [{"mlp.init_center": "(0.0, 8.0)", "mlp.init_spread": "0.1"}],
    [{"mlp.init_center": "(2.0, 0.0)", "mlp.init_spread": "0.02"}],
), fixed("train.ema_decay", "0.0"))

PAPER = {"init_center=(0.0, 0.0)": "both modes, 50/50", "init_center=(0.0, 8.0)": "both modes, 50/50",
         "init_center=(2.0, 0.0)": "both modes, 50/50"}
PAPER_LABEL = "paper (Fig. 3)"
