"""What to change when gin refuses a config: gin's message, where it stands, and the closest name.

    hint(err, origins) -> "<gin's message> (<file>, line <n>: <statement>). Did you mean ...?"

``origins[i]`` says where line i + 1 of the parsed text came from (``zoo.config.resolved``:
'gin/debug.gin, line 4', '--gin_param 1'), so a message points at the file a researcher edits,
not at a line of the resolved text. The suggestion depends on what gin could not find:

  * a parameter (``train.fild = @split``): the closest parameter of that configurable's
    signature ("Did you mean 'field'?"), else the list of its parameters;
  * a reference of a known kind: the kind is the reference's module (``@kernel.gausian``) or
    the parameter it is bound to (``train.kernel``, ``train.lr_schedule`` -> schedule,
    ``train.metrics`` -> metric); that kind's names (``zoo.registry.options``) and the
    closest ("Registered kernels: cauchy, ... Did you mean 'gaussian'?"), or, when none of that
    kind is close, the close names of other kinds (a kernel bound as ``train.generator``);
  * any other name (``trian.steps``): the closest names across kinds, each with its kind.
"""
from __future__ import annotations

import difflib
import inspect
import re
import tokenize

import gin

from zoo.registry import kinds, names, options

# gin configurables outside the component registry (the roots bound directly in gin files)
ROOTS = {"train": "the trainer", "drift": "the drift step"}
_LOCATION = re.compile(r"\n\s*In (?:bindings string|file \"[^\"]*\",) line (\d+)\n(.*)", re.S)
_UNKNOWN = re.compile(r"No configurable matching (?:reference )?'@?([\w./]+?)(?:\(\))?'")
_NO_PARAM = re.compile(r"Configurable '([\w./]+)' doesn't have a parameter named '(\w+)'")


def parameters(fn) -> list[str]:
    """The parameter names of a function, or of a class's ``__init__`` (gin wraps it with
    ``functools.wraps``, so this is the component's own signature); no *args / **kwargs."""
    try:
        sig = inspect.signature(fn.__init__ if isinstance(fn, type) else fn)
    except (TypeError, ValueError):
        return []
    plain = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    out = [n for n, p in sig.parameters.items() if p.kind not in plain]
    return out[1:] if isinstance(fn, type) and out[:1] == ["self"] else out


def _located(err: BaseException, origins: list[str]) -> tuple[str, str, str]:
    """(gin's message without location, 'where: statement' or '', the statement line)."""
    if isinstance(err, SyntaxError) and err.lineno:
        where = origins[err.lineno - 1] if err.lineno <= len(origins) else f"line {err.lineno}"
        line = (err.text or "").strip()
        return str(err.msg).rstrip("."), f"{where}: {line}", line
    if isinstance(err, tokenize.TokenError):  # (message, (line, column)); line may be past the end
        n = min(err.args[1][0], len(origins))
        return f"{err.args[0]} (a bracket opened and not closed)", origins[n - 1] if n else "", ""
    message = str(err).strip().strip('"')
    loc = _LOCATION.search(message)
    if not loc:
        return " ".join(message.splitlines()[:3]).rstrip("."), "", ""
    n, line = int(loc.group(1)), loc.group(2).splitlines()[0].strip()
    where = origins[n - 1] if 0 < n <= len(origins) else f"line {n}"
    return message[:loc.start()].strip().rstrip("."), f"{where}: {line}", line


def _kind_of(selector: str, statement: str) -> str | None:
    """The kind a reference or configurable must be: its module, or the bound parameter's."""
    if "." in selector and selector.split(".")[-2] in kinds():
        return selector.split(".")[-2]
    bound = re.match(r"\s*([\w./]+)\s*[=:]", statement)
    if not bound or "@" + selector not in statement.split("=", 1)[-1].replace(" ", ""):
        return None
    param = bound.group(1).split("/")[-1].split(".")[-1]
    for kind in kinds():
        if param in (kind, kind + "s") or param.endswith("_" + kind):
            return kind
    return None


def _closest_anywhere(name: str, quiet: bool = False) -> str:
    """'Did you mean 'x' (kind) or ...?' over every registered name and the gin roots
    (``quiet``: nothing when none is close)."""
    pool = {**{n: k for k in kinds() for n in names(k)}, **ROOTS}
    close = difflib.get_close_matches(name, list(pool), n=3, cutoff=0.6)
    if not close and quiet:
        return ""
    if not close:
        return (f" No registered name is close; zoo.names(kind) lists one kind's names "
                f"(kinds: {', '.join(kinds())}).")
    return " Did you mean " + " or ".join(f"'{c}' ({pool[c]})" for c in close) + "?"


def _suggest(head: str, statement: str) -> str:
    """The suggestion for gin's message ``head`` about ``statement``."""
    no_param = _NO_PARAM.search(head)
    if no_param:
        name, param = no_param.groups()
        try:
            known = parameters(gin.get_configurable(name))
        except ValueError:
            return ""
        close = difflib.get_close_matches(param, known, n=1, cutoff=0.6)
        return f" Did you mean '{close[0]}'?" if close else f" '{name}' takes: {', '.join(known)}."
    unknown = _UNKNOWN.search(head)
    if not unknown:
        return ""
    selector = unknown.group(1)
    kind = _kind_of(selector, statement)
    if kind is not None:  # the kind's names; a close name of another kind if none of its own is
        listing = options(kind, selector.split(".")[-1])
        return f" {listing}" + ("" if "Did you mean" in listing
                                else _closest_anywhere(selector.split(".")[-1], quiet=True))
    return _closest_anywhere(selector.split(".")[-1])


def hint(err: BaseException, origins: list[str]) -> str:
    """gin's error as one actionable line (see the module docstring)."""
    head, where, statement = _located(err, origins)
    return head + (f" ({where})" if where else "") + "." + _suggest(head, statement)
