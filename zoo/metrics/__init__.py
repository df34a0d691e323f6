"""Metrics: point-cloud two-sample metrics, mode metrics for Gaussian mixtures, evaluate()."""
from zoo.metrics.evaluate import METRIC_GOAL, evaluate
from zoo.metrics.modes import mode_metrics
from zoo.metrics.point_cloud import (energy_distance, mmd, point_cloud_metrics,
                                     precision_recall, sliced_w2)

__all__ = ["METRIC_GOAL", "energy_distance", "evaluate", "mmd", "mode_metrics",
           "point_cloud_metrics", "precision_recall", "sliced_w2"]
