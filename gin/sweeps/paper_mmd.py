"""Deng et al. 2026, Sec. 6 / App. C.2: "an MMD loss gave no reasonable results". The ``mmd``
field (E_p grad k - E_q grad k, the MMD flow) beside the default ``meanshift``, same kernel,
same budget.

    drift-zoo sweep gin/sweeps/paper_mmd.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_mmd --paper \
        --metric energy_distance,precision,recall --markdown results/paper/mmd.md \
        --title "Drifting vs MMD"

gin/experiments/official_toy.gin (checkerboard, Laplace kernel, 300 steps of 256) with the
release's normalisations (feature scale, temperatures 0.02 / 0.05 / 0.2 of the mean distance,
each force at unit RMS), which take the force's size out of the comparison: the MMD force
(k / tau times unit vectors) is ~1/tau larger than a displacement. The notebook's raw force is
a second arm:

    drift-zoo sweep gin/sweeps/paper_mmd.py --name paper_mmd_raw \
        --gin_param "drift.scaling = 'none'" --gin_param "drift.combine = 'per_temperature'" \
        --gin_param "train.temperatures = (0.05,)"

The paper gives no number for MMD.
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.steps = 300", "train.batch_size = 256", "train.eval_every = 100",
          "train.eval_samples = 2048", "train.checkpoint_every = 300",
          "drift.scaling = 'official'", "drift.combine = 'normalized_sum'",
          "train.temperatures = (0.02, 0.05, 0.2)"]
SEEDS = [0, 1]
AXES = sweep("train.field", ["@meanshift", "@field.mmd"])

PAPER = {"field=meanshift": 8.46, "field=mmd": "no reasonable results"}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "field=meanshift"
