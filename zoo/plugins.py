"""Plug-ins: components registered by a module that lives outside the repository (issue 13).

    # my_fields.py, anywhere
    from zoo.registry import register
    @register("field", "my_field")
    def my_field(x, pos, neg, *, kernel, x_w=None, pos_w=None, neg_w=None): ...

    drift-zoo --import my_fields.py train --gin_file toy.gin --gin_param 'train.field = @my_field'
    drift-zoo train --import mypkg.fields ...          (a dotted name on sys.path or the cwd)

``load(specs)`` imports each plug-in before gin parses, so its ``@register`` components are
named in gin like built-in ones. A run that used plug-ins keeps their source:
``save(run_dir)`` copies every loaded plug-in's file to ``<run>/plugins/<name>.py``, and
``load_run(run_dir)`` imports those copies, so ``drift-zoo sample / eval / strays`` rebuild the
run later without ``--import`` (and without the original file). Loading is idempotent per
module name: a plug-in already loaded (from ``--import`` or from the run folder) is skipped.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FOLDER = "plugins"  # <run>/plugins/<name>.py
_LOADED: dict[str, ModuleType] = {}  # module name -> module, in load order


class PluginError(ValueError):
    """A plug-in that cannot be loaded; the message names it and says what to change."""


def _from_file(path: Path) -> ModuleType:
    name = path.stem
    if name in _LOADED:
        return _LOADED[name]
    if name in sys.modules:
        raise PluginError(f"plug-in {path}: a module named '{name}' is already imported "
                          f"({getattr(sys.modules[name], '__file__', None)}); rename the file")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _from_name(name: str) -> ModuleType:
    if name in _LOADED:
        return _LOADED[name]
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # a module beside the user, as `python -m` finds it
    return importlib.import_module(name)


def load_one(spec: str) -> ModuleType:
    """Import one plug-in: a path to a .py file (relative to the cwd) or a dotted module name."""
    path = Path(spec)
    is_path = spec.endswith(".py") or "/" in spec or path.is_file()
    if is_path and not path.is_file():
        raise PluginError(f"--import {spec}: no such file (give a .py path or a dotted module name)")
    try:
        module = _from_file(path.resolve()) if is_path else _from_name(spec)
    except PluginError:
        raise
    except ModuleNotFoundError as err:
        raise PluginError(f"--import {spec}: {err}; put it on PYTHONPATH, run from its folder, "
                          f"or give the path of its .py file") from None
    except Exception as err:  # noqa: BLE001 -- one line naming the plug-in, before any work
        raise PluginError(f"--import {spec} failed: {type(err).__name__}: {err}") from None
    _LOADED[module.__name__] = module
    return module


def load(specs: list[str]) -> list[ModuleType]:
    """Import every plug-in of ``specs`` in order; PluginError names the one that failed."""
    return [load_one(spec) for spec in specs]


def loaded() -> list[ModuleType]:
    """The plug-in modules loaded so far, in load order."""
    return list(_LOADED.values())


def sources() -> list[str]:
    """The absolute .py file of every loaded plug-in (what a sweep passes to its jobs)."""
    return [str(Path(m.__file__).resolve()) for m in loaded() if getattr(m, "__file__", None)]


def save(run_dir) -> list[Path]:
    """Copy every loaded plug-in's source to ``<run_dir>/plugins/<module name>.py`` (each
    written atomically, like every file of a run folder)."""
    from zoo.run.folder import atomic_write  # late: the run machinery imports torch

    out = []
    for module in loaded():
        if not getattr(module, "__file__", None):
            continue
        dest = Path(run_dir) / FOLDER / f"{module.__name__}.py"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if Path(module.__file__).resolve() != dest.resolve():
            source = Path(module.__file__).read_bytes()
            atomic_write(dest, lambda f, source=source: f.write(source))
        out.append(dest)
    return out


def load_run(run_dir) -> list[ModuleType]:
    """Import the plug-ins a run folder recorded (``<run_dir>/plugins/*.py``), in name order."""
    folder = Path(run_dir) / FOLDER
    return load([str(p) for p in sorted(folder.glob("*.py"))]) if folder.is_dir() else []
