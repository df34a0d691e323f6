"""Levers on the default shapes recipe (gin/experiments/shapes.gin: the classification-fine-tuned
MAE, conv width 32, split, 6 classes x 16 generated / 16 real, 600 steps), one at a time.

    drift-zoo sweep gin/sweeps/shapes_levers.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/shapes_levers --group_by name \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,cpu_time \
        --markdown results/images/shapes_levers.md

Issue 15's study at a fixed step budget (600 steps; CPU time per run in the table): does the
learning-rate schedule (the cosine decay that fixed digits' speckle and the toy degradation),
the EMA, consistent targets (``knn_sampled``: the 16 nearest of 1000 fixed reals per class, in
the encoder's features), twice the samples per class (the paper's Table 2 direction) or a wider
generator move the class accuracy past the ~0.5 plateau of the default?
"""
from zoo.sweeps import chain

GIN_FILES = ["gin/experiments/shapes.gin"]
PARAMS = []
SEEDS = [0]
AXES = chain(
    [{"train.lr": "1e-3"}],                                          # the default itself
    [{"train.lr_schedule": "@cosine()"}],
    [{"train.lr": "3e-3", "train.lr_schedule": "@cosine()"}],
    [{"train.ema_decay": "0.999"}],
    [{"train.positives": "@knn_sampled()"}],
    [{"train.batch_size": "192", "train.data_batch_size": "192"}],
    [{"conv.width": "48"}],
)
