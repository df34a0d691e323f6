"""Deng et al. 2026, Table 11 (kernel normalisation) on a toy: softmax over x and y / over y
only / none, with the release's normalisations (the recipe Table 11 was measured with).

    drift-zoo sweep gin/sweeps/paper_normalisation.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_normalisation --paper \
        --metric energy_distance,precision,recall --markdown results/paper/normalisation.md \
        --title "Table 11: kernel normalisation"

Field ``meanshift_ablation`` with ``normalise`` both / rows / none (A = sqrt(row softmax x
column softmax), row softmax, raw k), no affinity floor, on gin/experiments/official_toy.gin
(checkerboard, 300 steps of 256) with the feature scale (temperatures 0.02 / 0.05 / 0.2 in
units of the mean distance) and each temperature's force divided by its RMS. The notebook's
raw force is a second arm (the command below); there "none" moves samples by k(x, y)^2-sized
steps, so it mostly measures the force's size:

    drift-zoo sweep gin/sweeps/paper_normalisation.py --name paper_normalisation_raw \
        --gin_param "drift.scaling = 'none'" --gin_param "drift.combine = 'per_temperature'" \
        --gin_param "train.temperatures = (0.05,)"

Paper (ImageNet B/2, FID): 8.46 / 8.92 / 10.54, all train, both axes best.
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.field = @meanshift_ablation", "meanshift_ablation.affinity_floor = 0.0",
          "train.steps = 300", "train.batch_size = 256", "train.eval_every = 100",
          "train.eval_samples = 2048", "train.checkpoint_every = 300",
          "drift.scaling = 'official'", "drift.combine = 'normalized_sum'",
          "train.temperatures = (0.02, 0.05, 0.2)"]
SEEDS = [0, 1]

AXES = sweep("meanshift_ablation.normalise", ["'both'", "'rows'", "'none'"])

PAPER = {"normalise=both": 8.46, "normalise=rows": 8.92, "normalise=none": 10.54}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "normalise=both"
