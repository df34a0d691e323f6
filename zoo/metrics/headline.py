"""How to read a run's metrics: which lead (the headline) and which can be negative.

Headline: image runs scored by an evaluator lead with FD and class fidelity
(``class_accuracy`` for conditional samples, ``classes_covered`` otherwise, else
``feature_precision``); everything else (point clouds, pixel rows without an evaluator) leads
with energy distance and k-NN precision. The first headline metric is the *main* metric: the
leaderboard sorts by it and the progress bar shows it first. Directions are in
``zoo.metrics.METRIC_GOAL``.

Signed estimators: energy distance (U-statistic; Szekely & Rizzo 2013), MMD^2 (unbiased;
Gretton et al. 2012, Eq. 3) and KID (unbiased MMD^2; Binkowski et al. 2018) drop the
diagonal terms, so they are ~0 for q = p and a small negative value is sampling noise, not a
bug. Tables mark them with ``SIGNED_MARK`` (``signed_label``) and print ``signed_note`` as a
footer.
"""
from __future__ import annotations

IMAGE_HEADLINE = ("fd", "class_accuracy", "classes_covered", "feature_precision")
POINT_HEADLINE = ("energy_distance", "precision")
HEADLINE_SIZE = 2
SIGNED = ("energy_distance", "mmd", "kid")  # unbiased estimators: can be < 0
SIGNED_MARK = "*"


def headline(keys) -> list[str]:
    """The (at most ``HEADLINE_SIZE``) main metrics among ``keys``, main one first."""
    keys = set(keys)
    family = IMAGE_HEADLINE if "fd" in keys else POINT_HEADLINE
    return [k for k in family if k in keys][:HEADLINE_SIZE]


def main_metric(keys) -> str | None:
    """The metric a table is sorted by: the first headline metric among ``keys``, or None."""
    lead = headline(keys)
    return lead[0] if lead else None


def signed_note(keys) -> str:
    """Footer for tables that mark the signed estimators among ``keys`` with ``SIGNED_MARK``
    ('' when there are none)."""
    if not set(SIGNED) & set(keys):
        return ""
    return f"{SIGNED_MARK} unbiased estimate: ~0 at a match, may be < 0"


def signed_label(key: str) -> str:
    """``key`` with ``SIGNED_MARK`` appended when it is a signed estimator."""
    return f"{key} {SIGNED_MARK}" if key in SIGNED else key
