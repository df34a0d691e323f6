"""Deng et al. 2026, Sec. 6 / App. C.2: "an MMD loss gave no reasonable results". The ``mmd``
field (E_p grad k - E_q grad k, the MMD flow) beside the default ``meanshift``, same kernel,
same budget, in two recipes.

    drift-zoo sweep gin/sweeps/paper_mmd.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_mmd --paper --filter combine=per_temperature \
        --metric energy_distance,precision,recall --markdown results/paper/mmd_toy.md \
        --title "Drifting vs MMD (toy recipe)"
    drift-zoo leaderboard results/runs/sweeps/paper_mmd --paper --filter combine=normalized_sum \
        --metric energy_distance,precision,recall --markdown results/paper/mmd_official.md \
        --title "Drifting vs MMD (official normalisations)"

gin/experiments/official_toy.gin (checkerboard, Laplace kernel, 300 steps of 256): the
notebook's raw force at tau 0.05 (data units), and the release's normalisations (feature scale,
temperatures 0.02 / 0.05 / 0.2, each force at unit RMS), which take the force's size out of
the comparison (the MMD force k/tau grows as 1/tau). The paper gives no number for MMD.
"""
from zoo.sweeps import chain, product, sweep

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.steps = 300", "train.batch_size = 256", "train.eval_every = 100",
          "train.eval_samples = 2048", "train.checkpoint_every = 300"]
SEEDS = [0, 1]

RECIPES = chain(
    [{"drift.scaling": "'none'", "drift.combine": "'per_temperature'", "train.temperatures": "(0.05,)"}],
    [{"drift.scaling": "'official'", "drift.combine": "'normalized_sum'",
      "train.temperatures": "(0.02, 0.05, 0.2)"}],
)
AXES = product(RECIPES, sweep("train.field", ["@meanshift", "@field.mmd"]))

PAPER = {"field=meanshift": 8.46, "field=mmd": "no reasonable results"}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "field=meanshift"
