"""Deng et al. 2026, App. A.6 (temperatures): tau 0.02, 0.05 or 0.2 alone against the three
together, with the release's normalisations (the recipe the paper measured them with).

    drift-zoo sweep gin/sweeps/paper_temperatures.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_temperatures --paper \
        --metric energy_distance,precision,recall --markdown results/paper/temperatures.md \
        --title "Temperatures (App. A.6)"

gin/experiments/official_toy.gin (checkerboard, meanshift without floor, 300 steps of 256) with
the feature scale (tau in units of the mean pairwise distance) and each temperature's force
divided by its RMS and summed (``drift.combine = 'normalized_sum'``): with one temperature the
force is that temperature's alone, at unit RMS. Paper (ImageNet B/2, FID): 10.62 / 8.67 / 8.96
alone vs 8.46 together: the set matches or beats the best single temperature.
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["drift.scaling = 'official'", "drift.combine = 'normalized_sum'",
          "train.steps = 300", "train.batch_size = 256", "train.eval_every = 100",
          "train.eval_samples = 2048", "train.checkpoint_every = 300"]
SEEDS = [0, 1]
AXES = sweep("train.temperatures", ["(0.02, 0.05, 0.2)", "(0.02,)", "(0.05,)", "(0.2,)"])

PAPER = {"temperatures=(0.02, 0.05, 0.2)": 8.46, "temperatures=(0.02,)": 10.62,
         "temperatures=(0.05,)": 8.67, "temperatures=(0.2,)": 8.96}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "temperatures=(0.02, 0.05, 0.2)"
