"""Pixel space vs encoder feature spaces on 32x32 shapes (gin/experiments/shapes.gin), same budget.

    drift-zoo train-encoder --dataset shapes --out results/runs/encoders/mae_shapes.pt \
        --base_channels 16 --input_patch_size 2 --steps 1500
    drift-zoo sweep gin/sweeps/shapes_encoders.py --workers 2
    drift-zoo leaderboard results/runs/sweeps/shapes_encoders --group_by encoder \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,energy_distance,steps_per_s \
        --markdown results/shapes_encoders.md

The paper's claim (Deng et al. 2026, Sec. 4 / App. A): kernels on raw pixels degrade in high
dimension and a frozen encoder's multi-scale features fix it. Three feature spaces, everything
else equal (generator, field, temperatures, 600 steps of 6 classes x 16 images): ``identity``
(the 3072-D image as one set), ``random_conv`` (a fixed random ResNet, 31 multi-scale sets)
and ``mae`` (the same ResNet trained by masked reconstruction on shapes).
"""
from zoo.sweeps import chain

GIN_FILES = ["gin/experiments/shapes.gin"]
# measured before shapes.gin turned guidance on (2026-12-02): keep their meaning
PARAMS = ["train.negatives = @self()"]
SEEDS = [0, 1]
AXES = chain(
    [{"train.encoder": "@identity()"}],
    [{"train.encoder": "@random_conv()"}],
    [{"train.encoder": "@mae()", "mae.path": "'results/runs/encoders/mae_shapes.pt'"}],
)
