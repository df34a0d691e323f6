"""Where the positives come from, on 32x32 shapes in pixel space: the axis that decides blobs.

    drift-zoo sweep gin/sweeps/shapes_positives.py --workers 2
    drift-zoo leaderboard results/runs/sweeps/shapes_positives --group_by positives \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,cpu_time \
        --markdown results/images/shapes_positives.md

The committed recipe before issue 15 (identity encoder, conv width 32, split field, 6 classes x
16 generated + 16 real per step, 600 steps), only ``train.positives`` changes:
``fresh`` (16 new random images per class every step), ``bank`` (the release's rings: 64 per
class, refreshed by the step's draws) and ``knn_sampled`` (the 16 nearest rows of a fixed bank
of 1000 per class to the group's own samples). Hypothesis (results/images.md): in 3072-D a
sample's nearest fresh positive is a different random image each step, so its target averages
to the class mean, a blob; a fixed bank's nearest rows are a target that stays put.
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/shapes.gin"]
PARAMS = ["train.encoder = @identity()", "train.negatives = @self()", "conv.width = 32",
          "train.field = @split",
          "train.temperatures = (0.02, 0.05, 0.2)", "train.batch_size = 96",
          "train.data_batch_size = 96", "train.steps = 600", "train.lr = 1e-3",
          "train.ema_decay = 0.99", "train.eval_every = 150", "train.eval_samples = 1200",
          "train.checkpoint_every = 300", "knn_sampled.per_class = 1000"]
SEEDS = [0, 1]
AXES = sweep("train.positives", ["@knn_sampled()", "@fresh()", "@bank()"])
