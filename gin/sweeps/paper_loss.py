"""Deng et al. 2026, Fig. 4 (the loss tracks the distance): the raw loss E||V||^2 against the
energy distance during training, on two toys, and why the normalised loss does not track it.

    drift-zoo sweep gin/sweeps/paper_loss.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_loss --paper --track energy_distance \
        --metric loss_vs_energy_distance,energy_distance --markdown results/paper/loss.md \
        --title "Fig. 4: the loss tracks the distance"

gin/experiments/official_toy.gin (meanshift without floor), checkerboard and swiss roll, 200
steps of 256, evaluated every 40 steps; ``--track`` gives each row the Spearman correlation
between the training loss and the energy distance over its 5 evaluations. Two recipes: the
notebook's raw force (one tau 0.05 in data units: loss = mean ||V||^2, Fig. 4's setting) and the
release's normalisations (each temperature's force divided by its RMS, so the loss is ~T^2 by
construction whatever the distance; PAPER.md sec. 5.2).
"""
from zoo.sweeps import chain, product, sweep

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.steps = 200", "train.batch_size = 256", "train.eval_every = 40",
          "train.eval_samples = 2048", "train.checkpoint_every = 200", "train.log_every = 40"]
SEEDS = [0, 1]

RECIPES = chain(
    [{"drift.scaling": "'none'", "drift.combine": "'per_temperature'", "train.temperatures": "(0.05,)"}],
    [{"drift.scaling": "'official'", "drift.combine": "'normalized_sum'",
      "train.temperatures": "(0.02, 0.05, 0.2)"}],
)
AXES = product(sweep("train.dataset", ["@checkerboard()", "@swiss_roll()"]), RECIPES)

PAPER = {"combine=per_temperature": "loss falls with the distance (Fig. 4)",
         "combine=normalized_sum": "loss ~ constant by construction (App. A.6)"}
PAPER_LABEL = "paper"
