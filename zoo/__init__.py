"""drift-zoo: a configuration-driven zoo for drifting models (Deng et al. 2026).

``import zoo`` registers every component; ``zoo.build(kind, name, **kw)`` and
``zoo.names(kind)`` reach them.
"""
from zoo.registry import build, kinds, names, register  # noqa: F401
from zoo import kernels, fields, drift, schedules, optimizers, negatives, positives  # noqa: F401,E402
from zoo import data, generators, encoders, autoencoders, metrics  # noqa: F401,E402
from zoo.run import train  # noqa: F401,E402  (the gin root, zoo.run.train.train)
