"""Classes per step on shapes: the paper's Table 2 (classes per step x samples per class) at
small scale, on the guided default (gin/experiments/shapes.gin), 600 steps, seeds 0 and 1.

    drift-zoo sweep gin/sweeps/shapes_classes.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/shapes_classes \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,energy_distance,cpu_time \
        --markdown results/images/shapes_classes.md

The batch stays at 96 generated and 96 real images per step; only how they split changes:
all 6 classes x 16 per class (the default; its rows are the default's own seeds), 3 classes x
32 or 2 classes x 48 per class (U = 16 unconditional reals per class throughout). Fewer
classes per step give each class's drift more samples (a less noisy field) and fewer classes
per update. Readings: results/images.md, section "Generator depth, the class in the stem,
classes per step".
"""
from zoo.sweeps import sweep

GIN_FILES = ["gin/experiments/shapes.gin"]
PARAMS = ["mae.path = 'results/encoders/mae_shapes_cls.pt'"]
SEEDS = [0, 1]
AXES = sweep("train.classes_per_step", ["3", "2"])
