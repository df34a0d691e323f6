"""Loads the example plug-in (tests/plugins/example_plugin.py) through zoo.plugins, so the
registry-wide tests see a component registered from outside the repository."""
from pathlib import Path

from zoo import plugins

plugins.load([str(Path(__file__).resolve().parent / "plugins" / "example_plugin.py")])
