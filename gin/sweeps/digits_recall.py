"""What limits the digits' recall (issue 15: target 0.9, the floor's own 0.904; the default
gives 0.87 at 3000 steps and 0.85 at 6000): the default (gin/experiments/digits.gin, 3000
steps) and one lever at a time, seeds 0, 1 and 2.

    drift-zoo sweep gin/sweeps/digits_recall.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/digits_recall \
        --metric fd,feature_precision,feature_recall,class_accuracy,cpu_time \
        --markdown results/images/digits_recall.md

Rows: the default (10 classes x 32 generated + 32 real digits per step, split, temperatures
(0.02, 0.05, 0.2)); the paper's field (``meanshift``, which on shapes gave the best recall);
temperatures 2.5x wider (less mode-seeking); twice the real digits per class (a less noisy
attraction); twice the generated digits per class (a less noisy repulsion); and, added after
the first round, meanshift with twice the real digits. Readings:
results/images.md, section "Digits".
"""
from zoo.sweeps import chain

GIN_FILES = ["gin/experiments/digits.gin"]
# digits.gin as it was when measured (32 real digits per class; its data_batch_size row won and is
# the default since), so every row keeps its meaning
PARAMS = ["train.data_batch_size = 320"]
SEEDS = [0, 1, 2]
AXES = chain(
    [{"train.steps": "3000"}],                                    # the default itself
    [{"train.field": "@meanshift"}],
    [{"train.temperatures": "(0.05, 0.125, 0.5)"}],
    [{"train.data_batch_size": "640"}],
    [{"train.batch_size": "640"}],
    # second round, after the first: the two that raised recall, together
    [{"train.field": "@meanshift", "train.data_batch_size": "640"}],
)
