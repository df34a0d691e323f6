#!/usr/bin/env python
"""Old-style entry point of `drift-zoo gpu-check` (zoo/cli/gpu_check.py); same options."""
import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from zoo.cli import run_tool  # noqa: E402
run_tool("gpu-check", globals())
