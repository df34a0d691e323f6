"""The benchmarks of ``drift-zoo bench`` (zoo/cli/bench.py), one module per subcommand.

A benchmark module defines ``NAME`` (the subcommand), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> common.Report``; ``drift-zoo bench`` finds every
module here (except ``common``) and adds it as a subcommand with the shared options
(``--threads --device --repeats --seed --markdown``).
"""
