"""Where the positives come from, on the 8x8 digits: fresh draws vs the nearest of a fixed bank.

    drift-zoo sweep gin/sweeps/digits_positives.py --workers 2
    drift-zoo leaderboard results/runs/sweeps/digits_positives --group_by positives \
        --metric fd,class_accuracy,feature_precision,feature_recall,energy_distance,cpu_time \
        --markdown results/images/digits_positives.md

The committed digits recipe before issue 15 (identity encoder, conv width 64, split field,
10 classes x 32 generated + 32 real per step, 600 steps), only ``train.positives`` changes:
``fresh`` (32 new training digits per class every step) vs ``knn_sampled`` (the 32 nearest
of the class's training digits to the group's own samples; digits hold ~144 per class, so
the bank is the whole training split).
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/digits.gin"]
# digits.gin's recipe before issue 15 (linear output, constant lr), which these tables measured
PARAMS = ["conv.tanh = False", "train.lr_schedule = @schedule.constant()",
          "train.encoder = @identity()", "conv.width = 64", "train.field = @split",
          "train.temperatures = (0.02, 0.05, 0.2)", "train.batch_size = 320",
          "train.data_batch_size = 320", "train.steps = 600", "train.lr = 1e-3",
          "train.ema_decay = 0.99", "train.eval_every = 150", "train.eval_samples = 4096",
          "train.checkpoint_every = 300", "knn_sampled.per_class = 1000"]
SEEDS = [0, 1]
AXES = sweep("train.positives", ["@knn_sampled()", "@fresh()"])
