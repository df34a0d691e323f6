"""Example plug-ins: components registered from outside ``zoo/`` (see zoo/plugins.py)."""
