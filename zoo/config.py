"""gin plumbing: a run's config is its *resolved* gin text, and a bad config says what to change.

    text = config_text(files, params)   every file with its includes inlined (recursively),
                                        then the --gin_param bindings: self-contained text
    parse(files, params) -> text        gin's global config := the parse of exactly that text
    parse_frozen(text)                  a run folder's config.gin alone (``sampling.restore``)

The resolved text of ``gin/debug.gin`` + ``train.steps = 4`` reads

    # ---- gin/debug.gin
    # debug.gin -- the default toy recipe ...
    # include 'gin/experiments/toy.gin'  (inlined below)
    # ---- gin/experiments/toy.gin
    ...                                 (toy.gin, with base.gin inlined the same way)
    # ---- end of gin/experiments/toy.gin, back in gin/debug.gin
    train.dataset = @grid_gaussians()
    # ---- --gin_param
    train.steps = 4

gin runs statements in order and parses an included file where its ``include`` stands, so the
inlined text is the same config; ``parse`` parses that text (never the files), so what a run
saves is what it ran. The run id hash (``zoo.run.folder.run_name``), the trainer's "different
config" check and the sweep's conflict check all compare this text's statements
(``zoo.gin_statements``): an edited binding in any included file is another config, an edited
comment is not. An include path is looked up as gin does (as given, then from the
repository root), then beside the file that includes it.
"""
from __future__ import annotations

import io
import tokenize
import warnings
from pathlib import Path
from typing import NamedTuple

import gin
from gin import config_parser

import zoo
from zoo.config_hints import hint

ROOT = Path(__file__).resolve().parent.parent
GIN_ERRORS = (ValueError, KeyError, SyntaxError, ImportError, TypeError, tokenize.TokenError)


class ConfigError(ValueError):
    """A gin file or binding that cannot be used; the message says what to change."""


class FrozenConfigWarning(UserWarning):
    """A run folder's config.gin still reads repository gin files (written before configs were
    resolved), so its rebuild follows those files as they are now."""


class Resolved(NamedTuple):
    """The resolved config text and, per line, where it came from ('gin/x.gin, line 3')."""

    text: str
    origins: list[str]


class _AnyValue(config_parser.ParserDelegate):
    """Lets gin's parser read a file's statements without resolving references or macros."""

    def configurable_reference(self, scoped_configurable_name, evaluate):
        return None

    def macro(self, macro_name):
        return None


def resolve(path: str, beside: Path | None = None) -> Path:
    """A gin file path as given, from the repository root, or beside the including file."""
    cands = [Path(path), ROOT / path] + ([beside / path] if beside is not None else [])
    for cand in cands:
        if cand.is_file():
            return cand
    places = [".", str(ROOT)] + ([str(beside)] if beside is not None else [])
    raise ConfigError(f"gin file '{path}' not found (looked in {', '.join(places)}); "
                      f"experiments live in gin/experiments/")


def _includes(text: str, shown: str) -> dict[int, str]:
    """{line number: included path} of the ``include`` statements of gin ``text``."""
    stream = io.StringIO(text)
    stream.name = shown  # gin's syntax errors name the file
    try:
        return {st.location.line_num: st.filename
                for st in config_parser.ConfigParser(stream, _AnyValue())
                if isinstance(st, config_parser.IncludeStatement)}
    except (SyntaxError, tokenize.TokenError) as err:
        lines = [f"{shown}, line {i}" for i in range(1, len(text.splitlines()) + 2)]
        raise ConfigError(f"bad gin config: {hint(err, lines)}") from None


def _expand(text: str, shown: str, beside: Path | None, stack: dict[str, str]) -> Resolved:
    """``text`` (of gin file ``shown``) with every include replaced by the included file's text,
    itself expanded; an include cycle is an error. ``stack``: {resolved path: name} of the files
    being expanded, outermost first."""
    lines, origins = [], []
    includes = _includes(text, shown)
    for i, line in enumerate(text.splitlines(), 1):
        where = f"{shown}, line {i}"
        if i not in includes:
            lines.append(line)
            origins.append(where)
            continue
        name = includes[i]
        path = resolve(name, beside)
        key = str(path.resolve())
        if key in stack:
            chain = " -> ".join([*stack.values(), name])
            raise ConfigError(f"gin includes form a cycle ({chain}); remove one of the include lines")
        inner = _expand(path.read_text(), name, path.parent, {**stack, key: name})
        lines += [f"# {line.strip()}  (inlined below)", f"# ---- {name}", *inner.text.splitlines(),
                  f"# ---- end of {name}, back in {shown}"]
        origins += [where, where, *inner.origins, where]
    return Resolved("\n".join(lines), origins)


def resolved(gin_files: list[str], gin_params: list[str]) -> Resolved:
    """The run's config: each file (includes inlined) after a ``# ---- <file>`` line, then the
    bindings after ``# ---- --gin_param``."""
    lines, origins = [], []
    for f in gin_files:
        path = resolve(f)
        inner = _expand(path.read_text(), f, path.parent, {str(path.resolve()): f})
        lines += [f"# ---- {f}", *inner.text.splitlines()]
        origins += [f, *inner.origins]
    if gin_params:
        lines.append("# ---- --gin_param")
        origins.append("--gin_param")
        for j, param in enumerate(gin_params, 1):
            lines += param.splitlines()
            origins += [f"--gin_param {j}"] * len(param.splitlines())
    return Resolved("\n".join(lines) + "\n", origins)


def config_text(gin_files: list[str], gin_params: list[str]) -> str:
    """The run's config as self-contained gin text (see the module docstring)."""
    return resolved(gin_files, gin_params).text


def _parse(config: Resolved) -> None:
    """gin's global config := the parse of ``config.text``; ConfigError names the fix."""
    assert zoo  # every component is registered before parsing
    gin.clear_config()
    try:
        gin.parse_config(config.text)
    except GIN_ERRORS as err:
        raise ConfigError(f"bad gin config: {hint(err, config.origins)}") from None


def parse(gin_files: list[str], gin_params: list[str]) -> str:
    """Parse files and bindings into gin's global config; returns the resolved config text."""
    config = resolved(gin_files, gin_params)
    _parse(config)
    return config.text


def parse_frozen(text: str, where: str = "config.gin") -> None:
    """Parse a run's saved config text alone: no repository gin file is read.

    A config.gin written before configs were resolved still holds ``include`` lines; those are
    inlined from the repository as it is now, with a FrozenConfigWarning (the files may have
    changed since the run).
    """
    if _includes(text, where):
        warnings.warn(f"{where} includes repository gin files (it was written before run configs "
                      "were self-contained); they are read as they are now, which may not be how "
                      "the run was trained", FrozenConfigWarning, stacklevel=2)
    _parse(_expand(text, where, None, {}))


def clean_error(err: BaseException) -> str:
    """The message of ``err`` without gin's 'In call to configurable' trailer lines."""
    lines = [ln for ln in str(err).splitlines() if not ln.strip().startswith("In call to configurable")]
    return "\n".join(lines).strip().strip('"')
