"""The component registry: one table per kind, every entry also gin-configurable.

    @register("kernel", "laplace")          # file = function = registry key = gin name
    class laplace(Kernel): ...

    build("kernel", "laplace", tau=0.05)   # -> laplace(tau=0.05), gin bindings applied
    names("kernel")                         # -> ["gaussian", "laplace"]

Registration also registers the component with gin under its kind as module, so a gin file
can say ``train.kernel = @laplace`` or, when a name is ambiguous across kinds,
``train.kernel = @kernel.laplace``. ``import zoo`` imports every component module, so the
tables are complete once the package is imported.
"""
from __future__ import annotations

import difflib
from typing import Any, Callable

import gin

_TABLES: dict[str, dict[str, Callable[..., Any]]] = {}


class RegistryError(KeyError):
    """An unknown kind or name; the message lists what is registered."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ""


def register(kind: str, name: str | None = None) -> Callable:
    """Decorator: register ``fn_or_cls`` under ``kind`` / ``name`` (default: its __name__).

    Returns the gin-configurable wrapper, so calls anywhere see the gin bindings.
    Raises ValueError on a duplicate name within a kind.
    """

    def decorate(obj: Callable) -> Callable:
        key = name or obj.__name__
        table = _TABLES.setdefault(kind, {})
        if key in table:
            raise ValueError(f"{kind} '{key}' is already registered; pick another name")
        configurable = gin.external_configurable(obj, name=key, module=kind)
        table[key] = configurable
        return configurable

    return decorate


def _closest(name: str, options: list[str]) -> str:
    match = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


def options(kind: str, name: str) -> str:
    """"Registered <kind>s: a, b, c. Did you mean 'b'?" -- what an unknown ``name`` of a known
    ``kind`` could have been (also used by zoo.config_hints for gin references)."""
    table = sorted(_TABLES.get(kind, {}))
    return f"Registered {kind}s: {', '.join(table)}." + _closest(name, table)


def lookup(kind: str, name: str) -> Callable:
    """The registered component ``kind`` / ``name``; RegistryError names the options."""
    if kind not in _TABLES:
        raise RegistryError(
            f"unknown component kind '{kind}'. Registered kinds: {', '.join(sorted(_TABLES))}."
            + _closest(kind, sorted(_TABLES)))
    if name not in _TABLES[kind]:
        raise RegistryError(f"unknown {kind} '{name}'. " + options(kind, name))
    return _TABLES[kind][name]


def build(kind: str, name: str, **kwargs: Any) -> Any:
    """Call the registered ``kind`` / ``name`` with ``kwargs`` (gin bindings fill the rest)."""
    return lookup(kind, name)(**kwargs)


def names(kind: str) -> list[str]:
    """Sorted names registered under ``kind`` (empty for an unknown kind)."""
    return sorted(_TABLES.get(kind, {}))


def kinds() -> list[str]:
    """Sorted registered kinds."""
    return sorted(_TABLES)


def _originals(cls: type) -> tuple[type, ...]:
    """The registered class and, when gin wrapped it in a same-named subclass, the original
    (instances built outside gin are of the original)."""
    base = cls.__mro__[1] if len(cls.__mro__) > 1 else None
    return (cls, base) if base is not None and base.__name__ == cls.__name__ else (cls,)


def name_of(obj: Any) -> str:
    """The registry name of a component, an instance of one, or a gin-wrapped one."""
    for table in _TABLES.values():
        for key, value in table.items():
            if obj is value or (isinstance(value, type) and type(obj) in _originals(value)):
                return key
    inner = getattr(obj, "__wrapped__", None) or getattr(obj, "func", None)
    if inner is not None and inner is not obj:
        return name_of(inner)
    return getattr(obj, "__name__", type(obj).__name__)


def import_all(package: str, path, namespace: dict) -> None:
    """Import every module of ``package`` (so a new component file registers itself by existing)
    and put each module's same-named object into ``namespace``: ``zoo.fields.split`` is the field.

    Call as ``import_all(__name__, __path__, globals())`` at the end of a package's __init__.
    """
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if hasattr(module, info.name):
            namespace[info.name] = getattr(module, info.name)
