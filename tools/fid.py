#!/usr/bin/env python
"""FID between two folders of images with clean-fid's Inception, read from a local file only.

    ZOO_INCEPTION=/path/to/inception-2015-12-05.pt python tools/fid.py DIR1 DIR2
    python tools/fid.py DIR1 DIR2 --evaluator results/evaluators/digits.pt   # FD in evaluator features
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoo.metrics.fid import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
