"""Deng et al. 2026, App. A.5 (feature sets): per-location + global statistics (a, b), + 2x2
patch statistics (a-c), + 4x4 patch statistics (a-d), on the 32x32 shapes.

    drift-zoo sweep gin/sweeps/paper_features.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_features --paper \
        --metric fd,class_accuracy,feature_precision,feature_recall \
        --markdown results/paper/features.md --title "Feature sets (a,b) / (a-c) / (a-d)"

gin/experiments/shapes.gin with the fixed random ResNet (``random_conv``: the release's set
construction without MAE training; train an MAE with ``drift-zoo train-encoder --dataset shapes``
and bind ``train.encoder = @mae()`` for the paper's encoder), 600 steps of 6 classes x 16. The
sets of every map: (a) per location and (b) global mean / std always; (c) the 2x2-patch and
(d) the 4x4-patch means and stds by ``random_conv.patch_mean_size`` / ``patch_std_size``.
Paper (ImageNet B/2, FID): 9.58 / 9.10 / 8.46. Not yet run here (results/paper_ablations.md).
"""
from zoo.sweeps import zip

GIN_FILES = ["gin/experiments/shapes.gin"]
PARAMS = ["train.encoder = @random_conv()"]
SEEDS = [0, 1]
AXES = zip([{"random_conv.patch_mean_size": v} for v in ("()", "(2,)", "(2, 4)")],
           [{"random_conv.patch_std_size": v} for v in ("()", "(2,)", "(2, 4)")])

PAPER = {"patch_mean_size=()": 9.58, "patch_mean_size=(2,)": 9.10, "patch_mean_size=(2, 4)": 8.46}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "fd"
PAPER_BASELINE = "patch_mean_size=(2, 4)"
