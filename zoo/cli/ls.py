"""List the registered components: every kind, or one kind, with their one-line docstrings.

    drift-zoo ls                        every kind and name
    drift-zoo ls field                  the fields
    drift-zoo ls field --verbose        ... and their gin parameters with defaults
    drift-zoo --import my_fields.py ls field      a plug-in's components appear too

A name is what a gin file binds (``train.field = @meanshift``, or ``@field.meanshift`` when a
name exists under several kinds); a parameter is what it sets (``meanshift.affinity_floor = 0``).
"""
from __future__ import annotations

import inspect

from rich.console import Console
from rich.markup import escape

from zoo.cli import parser
from zoo.run.report import print_error


def original(obj):
    """The object gin wrapped: for a registered class, its own class (gin subclasses it)."""
    from zoo.registry import _originals

    return _originals(obj)[-1] if inspect.isclass(obj) else obj


def summary(obj) -> str:
    """The first line of a component's docstring ('' when it has none)."""
    doc = inspect.getdoc(original(obj)) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def parameters(obj) -> list[tuple[str, str]]:
    """(name, default) of every parameter gin can bind; default 'REQUIRED' when it has none."""
    try:
        sig = inspect.signature(original(obj))
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [(p.name, "REQUIRED" if p.default is inspect.Parameter.empty else repr(p.default))
            for p in sig.parameters.values() if p.kind not in kinds]


def lines(kinds: list[str], verbose: bool) -> list[str]:
    """Per kind a header, then ``  name  summary`` (rich markup), verbose: one indented line per
    gin parameter, ``name.param = default``."""
    from zoo.registry import lookup, names

    out = []
    for kind in kinds:
        out.append(f"[bold]{kind}[/]")
        width = max((len(n) for n in names(kind)), default=0)
        for name in names(kind):
            obj = lookup(kind, name)
            out.append(f"  [cyan]{name:<{width}}[/]  {escape(summary(obj))}")
            if verbose:
                out += [f"      {name}.{k} = {escape(v)}" for k, v in parameters(obj)]
    return out


def main(argv=None) -> int:
    ap = parser("ls", __doc__)
    ap.add_argument("kind", nargs="?", help="one kind (field, kernel, dataset, ...); default: all")
    ap.add_argument("--verbose", "-v", action="store_true", help="also the gin parameters")
    args = ap.parse_args(argv)
    import zoo
    from zoo.registry import RegistryError, lookup

    kinds = zoo.kinds()
    if args.kind is not None:
        try:
            lookup(args.kind, "")
        except RegistryError as err:
            if args.kind not in kinds:
                return print_error(err)
        kinds = [args.kind]
    out = Console(soft_wrap=True, highlight=False)
    for line in lines(kinds, args.verbose):
        out.print(line)
    return 0
