"""Deng et al. 2026, Table 11 (kernel normalisation) on a toy: softmax over x and y / over y
only / none, in two recipes.

    drift-zoo sweep gin/sweeps/paper_normalisation.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_normalisation --paper \
        --filter combine=per_temperature --metric energy_distance,precision,recall \
        --markdown results/paper/normalisation_toy.md --title "Table 11 (toy recipe)"
    drift-zoo leaderboard results/runs/sweeps/paper_normalisation --paper \
        --filter combine=normalized_sum --metric energy_distance,precision,recall \
        --markdown results/paper/normalisation_official.md --title "Table 11 (official normalisations)"

Field ``meanshift_ablation`` with ``normalise`` both / rows / none (A = sqrt(row softmax x
column softmax), row softmax, raw k), no affinity floor, on gin/experiments/official_toy.gin
(checkerboard, 300 steps of 256). Two recipes: the notebook's (one tau 0.05 in data units, raw
force: what the toys of the paper used) and the release's normalisations (feature scale,
temperatures 0.02 / 0.05 / 0.2 in units of the mean distance, each force divided by its RMS:
what Table 11 was measured with). Paper (ImageNet B/2, FID): 8.46 / 8.92 / 10.54, all train.
"""
from zoo.sweeps import chain, product, sweep

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.field = @meanshift_ablation", "meanshift_ablation.affinity_floor = 0.0",
          "train.steps = 300", "train.batch_size = 256", "train.eval_every = 100",
          "train.eval_samples = 2048", "train.checkpoint_every = 300"]
SEEDS = [0, 1]

RECIPES = chain(
    [{"drift.scaling": "'none'", "drift.combine": "'per_temperature'", "train.temperatures": "(0.05,)"}],
    [{"drift.scaling": "'official'", "drift.combine": "'normalized_sum'",
      "train.temperatures": "(0.02, 0.05, 0.2)"}],
)
AXES = product(RECIPES, sweep("meanshift_ablation.normalise", ["'both'", "'rows'", "'none'"]))

PAPER = {"normalise=both": 8.46, "normalise=rows": 8.92, "normalise=none": 10.54}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "normalise=both"
