"""Metrics: point-cloud two-sample metrics, mode metrics for Gaussian mixtures, evaluate();
image metrics in evaluator features (evaluate_images); FID via clean-fid (zoo.metrics.fid)."""
from zoo.metrics import fid as _fid  # noqa: F401  (registers metric 'fid'; clean-fid loads lazily)
from zoo.metrics.evaluate import METRIC_GOAL, evaluate
from zoo.metrics.evaluator import ImageEvaluator, load_evaluator
from zoo.metrics.image import (class_coverage, classes_covered, classifier_accuracy,
                               evaluate_images, frechet_distance, kid)
from zoo.metrics.misses import ball_ratio, miss_shares
from zoo.metrics.modes import mode_metrics
from zoo.metrics.point_cloud import (energy_distance, mmd, point_cloud_metrics,
                                     precision_recall, sliced_w2)

__all__ = ["METRIC_GOAL", "ImageEvaluator", "ball_ratio", "class_coverage", "classes_covered",
           "classifier_accuracy", "energy_distance", "evaluate", "evaluate_images",
           "frechet_distance", "kid", "load_evaluator", "miss_shares", "mmd", "mode_metrics",
           "point_cloud_metrics", "precision_recall", "sliced_w2"]
