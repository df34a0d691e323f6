"""The ``drift-zoo`` command: one subcommand per module of this package.

    drift-zoo [--import MODULE_OR_PATH ...] COMMAND [options]     (also: python -m zoo.cli ...)
    drift-zoo COMMAND --help

``main`` takes the global options out of the command line (``--import`` may stand before or
after the command), loads the plug-ins (``zoo.plugins``) and hands the rest to
``zoo.cli.<command>.main(argv)``. A new command is a new module here with a ``main(argv)`` and
an entry in ``COMMANDS``. tools/<name>.py are the old entry points and call ``run_tool``.
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import sys

COMMANDS = {  # command -> (module, one line)
    "train": ("train", "train a drifting model from gin files (resumes its run folder)"),
    "sample": ("sample", "draw samples of a trained run into .npy / PNG files"),
    "eval": ("eval", "re-evaluate a trained run; updates summary.json"),
    "sweep": ("sweep", "run a grid of gin bindings, one train run per point"),
    "leaderboard": ("leaderboard", "one table over run folders: group, filter, plot"),
    "ls": ("ls", "list registered components (and their gin parameters)"),
    "bench": ("bench", "benchmarks of the heavy steps (drift field, FAISS, data decode)"),
    "fid": ("fid", "FID / FD between two folders of images"),
    "probe": ("probe", "the field (or a trained generator) on a grid: arrows and losses"),
    "field-noise": ("field_noise", "a field's terms along / across a thin cloud at q = p (bias, noise)"),
    "strays": ("strays", "which samples k-NN precision misses, and where they lie"),
    "toy-table": ("toy_table", "the toy table: every toy dataset x field, one run each"),
    "make-imagenet-mini": ("make_imagenet_mini", "a miniature ImageNet JPEG tree from an image dataset"),
    "make-bank": ("make_bank", "the per-class positive bank (rows + keys) of knn positives"),
    "make-shards": ("make_shards", "an image folder into WebDataset tar shards"),
    "train-encoder": ("train_encoder", "train a frozen feature encoder (MAE) for image runs"),
    "train-evaluator": ("train_evaluator", "train the classifier behind the image metrics"),
    "train-autoencoder": ("train_autoencoder", "train the conv_ae autoencoder for latent runs"),
    "floor": ("floor", "the data-vs-data floor of a run's metrics (real vs held-out)"),
    "alpha-table": ("alpha_table", "metrics per guidance scale of class-conditional runs"),
    "gpu-check": ("gpu_check", "exercise every CUDA path; a markdown table of results"),
}
IMPORT_HELP = ("global option --import MODULE_OR_PATH (repeatable, before or after the command): "
               "load a plug-in module (a dotted name on sys.path or the current folder, or a .py "
               "file) first, so its @register(...) components can be named in gin")


def parser(command: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of ``drift-zoo <command>``: its module docstring as description,
    kept line by line (examples stay readable), the global --import explained below."""
    return argparse.ArgumentParser(prog=f"drift-zoo {command}", description=doc, epilog=IMPORT_HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _top_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<16} {line}" for name, (_, line) in COMMANDS.items())
    return argparse.ArgumentParser(
        prog="drift-zoo", usage="drift-zoo [--import MODULE_OR_PATH] COMMAND [options]",
        description="drift-zoo: train, sample, evaluate and sweep drifting models configured in gin."
                    f"\n\ncommands:\n{listing}\n\n"
                    "drift-zoo COMMAND --help shows a command's options and examples.",
        epilog=IMPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)


def split_imports(argv: list[str]) -> tuple[list[str], list[str]]:
    """(plug-ins named by ``--import X`` / ``--import=X`` anywhere before ``--``, the rest)."""
    imports, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--import":
            if i + 1 >= len(argv):
                raise SystemExit(_fail("--import needs a module name or a .py path"))
            imports.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--import="):
            imports.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        i += 1
    return imports, rest


def _fail(message: str) -> int:
    """``error: <message>`` on stderr, exit code 2 (``zoo.run.report.print_error``, imported
    only here: --help and the command dispatch stay free of torch)."""
    from zoo.run.report import print_error

    return print_error(message)


def main(argv: list[str] | None = None) -> int:
    """``drift-zoo [--import M] COMMAND [options]``; returns the exit code."""
    imports, argv = split_imports(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        close = difflib.get_close_matches(command, list(COMMANDS), n=1)
        return _fail(f"unknown command '{command}'. Commands: {', '.join(COMMANDS)}."
                     + (f" Did you mean '{close[0]}'?" if close else ""))
    if imports:
        from zoo import plugins

        try:
            plugins.load(imports)
        except plugins.PluginError as err:
            return _fail(str(err))
    return importlib.import_module(f"zoo.cli.{COMMANDS[command][0]}").main(rest)


def run_tool(command: str, namespace: dict) -> None:
    """The body of an old tools/<name>.py: expose the command module's names (tests and
    scripts import them from there) and, run as a script, run ``drift-zoo <command>``."""
    module = importlib.import_module(f"zoo.cli.{COMMANDS[command][0]}")
    namespace.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    if namespace.get("__name__") == "__main__":
        sys.exit(main([command, *sys.argv[1:]]))
