"""Deng et al. 2026, Table 1 (anti-symmetry) on the official toy recipe: a V+ - b V-.

    drift-zoo sweep gin/sweeps/paper_antisymmetry.py --workers 1
    drift-zoo leaderboard results/runs/sweeps/paper_antisymmetry --paper \
        --metric energy_distance,precision,recall --markdown results/paper/antisymmetry.md \
        --title "Table 1: anti-symmetry"

The field is ``meanshift_ablation`` (= the release's meanshift at a = b = 1) with attraction
scale a and repulsion scale b; everything else is gin/experiments/official_toy.gin (checkerboard,
one temperature 0.05 in data units, raw force, no affinity floor), 300 steps of batch 256. The
paper (ImageNet B/2, 100 epochs, FID-50K): only the anti-symmetric field trains well (8.46 vs
41-177); expected on the toy: attraction-only collapses, extra repulsion leaves haze.
"""
from zoo.sweeps import zip

GIN_FILES = ["gin/experiments/official_toy.gin"]
PARAMS = ["train.field = @meanshift_ablation", "meanshift_ablation.affinity_floor = 0.0",
          "train.steps = 300", "train.batch_size = 256", "train.eval_every = 100",
          "train.eval_samples = 2048", "train.checkpoint_every = 300"]
SEEDS = [0, 1]

SCALES = [("1.0", "1.0"), ("1.5", "1.0"), ("1.0", "1.5"), ("2.0", "1.0"), ("1.0", "2.0"), ("1.0", "0.0")]
AXES = zip([{"meanshift_ablation.attraction": a} for a, _ in SCALES],
           [{"meanshift_ablation.repulsion": b} for _, b in SCALES])

PAPER = {"attraction=1.0, repulsion=1.0": 8.46, "attraction=1.5, repulsion=1.0": 41.05,
         "attraction=1.0, repulsion=1.5": 46.28, "attraction=2.0, repulsion=1.0": 86.16,
         "attraction=1.0, repulsion=2.0": 112.84, "attraction=1.0, repulsion=0.0": 177.14}
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "attraction=1.0, repulsion=1.0"
