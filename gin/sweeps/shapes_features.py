"""Deng et al. 2026, App. A.5 (feature sets) on the 32x32 shapes default: per-location + global
statistics (a, b), + 2x2 patch statistics (a-c), + 4x4 patch statistics (a-d, the default),
through the classification-fine-tuned MAE of gin/experiments/shapes.gin (guided, 600 steps).

    drift-zoo sweep gin/sweeps/shapes_features.py --workers 2
    drift-zoo leaderboard results/runs/sweeps/shapes_features --paper \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,energy_distance,cpu_time \
        --markdown results/images/shapes_features.md --title "Shapes: feature sets (a,b) / (a-c) / (a-d)"

Issue 15's feature-set axis on the image it asks about (the digits arm is
gin/sweeps/paper_features.py, 8x8 through random_conv). The MAE (base 16 channels, input patch
2) sees a 16x16 map: conv1 / layer1 16x16, layer2 8x8, layer3 4x4, layer4 2x2, so 4x4 patches
are new information on the three largest maps. 2 seeds, 3.5-4 CPU-minutes a run on one
thread of an idle machine (6-8 with both cores busy). Paper (ImageNet B/2, FID): 9.58 / 9.10 /
8.46. Reading: results/images.md, section
"Feature sets, samples per step, a longer MAE, dit_tiny without style tokens, 3600 steps".
"""
from zoo.sweeps import zip

GIN_FILES = ["gin/experiments/shapes.gin"]
# measured with the first fine-tuned MAE (1000 + 500 steps), pinned so that a change of
# shapes.gin's encoder (the longer-trained one is the measured alternative) keeps their meaning
PARAMS = ["mae.path = 'results/encoders/mae_shapes_cls.pt'"]
SEEDS = [0, 1]
AXES = zip([{"mae.patch_mean_size": v} for v in ("()", "(2,)", "(2, 4)")],
           [{"mae.patch_std_size": v} for v in ("()", "(2,)", "(2, 4)")])

PAPER = {"patch_mean_size=()": 9.58, "patch_mean_size=(2,)": 9.10, "patch_mean_size=(2, 4)": 8.46}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "fd"
PAPER_BASELINE = "patch_mean_size=(2, 4)"
