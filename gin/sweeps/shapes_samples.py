"""Samples per step on the 32x32 shapes default (the paper's Table 2 at small scale): twice the
generated, the positive or the unconditional negative samples per class, one at a time, on
gin/experiments/shapes.gin (fine-tuned MAE, guidance, 6 classes x 16 generated / 16 real /
16 unconditional per step, 600 steps).

    drift-zoo sweep gin/sweeps/shapes_samples.py --workers 2
    drift-zoo leaderboard results/runs/sweeps/shapes_samples \
        --metric fd,class_accuracy,class_coverage,feature_precision,feature_recall,cpu_time \
        --markdown results/images/shapes_samples.md

Rows: ``train.batch_size = 192`` (32 generated per class: the drift's N and the generator's
batch), ``train.data_batch_size = 192`` (32 positives per class), ``train.uncond_per_class =
32`` (32 unconditional reals as guidance negatives). The default row is shapes_features'
(2, 4) row (the same config). 2 seeds. Paper (Table 2, ImageNet B/2, FID): more generated and
more positive samples per class both help. Reading: results/images.md, section
"Feature sets, samples per step, a longer MAE, dit_tiny without style tokens, 3600 steps".
"""
from zoo.sweeps import chain

GIN_FILES = ["gin/experiments/shapes.gin"]
# measured with the first fine-tuned MAE (1000 + 500 steps), pinned so that a change of
# shapes.gin's encoder (the longer-trained one is the measured alternative) keeps their meaning
PARAMS = ["mae.path = 'results/encoders/mae_shapes_cls.pt'"]
SEEDS = [0, 1]
AXES = chain([{"train.batch_size": "192"}], [{"train.data_batch_size": "192"}],
             [{"train.uncond_per_class": "32"}])
