"""gin plumbing for the tools: parse files + bindings with errors a researcher can act on."""
from __future__ import annotations

import difflib
import re
from pathlib import Path

import gin

import zoo
from zoo.registry import kinds, names

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A gin file or binding that cannot be used; the message says what to change."""


def _known_configurables() -> list[str]:
    known = {n for k in kinds() for n in names(k)} | {"train", "drift"}
    return sorted(known)


def _hint(message: str) -> str:
    match = re.search(r"(?:No configurable matching|reference) '@?([\w.]+)'", message)
    if not match:
        return ""
    wanted = match.group(1).split(".")[-1]
    close = difflib.get_close_matches(wanted, _known_configurables(), n=3, cutoff=0.5)
    listing = "; ".join(f"{k}: {', '.join(names(k))}" for k in kinds())
    return (f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else "") + \
        f" Registered components -- {listing}."


def config_text(gin_files: list[str], gin_params: list[str]) -> str:
    """The run's config as text: every gin file's content, then the bindings."""
    parts = []
    for f in gin_files:
        parts.append(f"# ---- {f}\n{resolve(f).read_text()}")
    if gin_params:
        parts.append("# ---- --gin_param\n" + "\n".join(gin_params) + "\n")
    return "\n".join(parts)


def resolve(path: str) -> Path:
    """A gin file path as given, or relative to the repository root."""
    for cand in (Path(path), ROOT / path):
        if cand.is_file():
            return cand
    raise ConfigError(f"gin file '{path}' not found (looked in . and {ROOT}); "
                      f"experiments live in gin/experiments/")


def parse(gin_files: list[str], gin_params: list[str]) -> str:
    """Parse files and bindings into gin's global config; returns the config text."""
    assert zoo  # every component is registered before parsing
    gin.clear_config()
    gin.add_config_file_search_path(str(ROOT))
    files = [str(resolve(f)) for f in gin_files]
    try:
        gin.parse_config_files_and_bindings(files, gin_params, finalize_config=False)
    except (ValueError, KeyError, SyntaxError, ImportError, TypeError) as err:
        msg = str(err).strip().splitlines()
        first = " ".join(line.strip() for line in msg[:3])
        raise ConfigError(f"bad gin config: {first}.{_hint(str(err))}") from None
    return config_text(gin_files, gin_params)


def clean_error(err: BaseException) -> str:
    """The message of ``err`` without gin's 'In call to configurable' trailer lines."""
    lines = [ln for ln in str(err).splitlines() if not ln.strip().startswith("In call to configurable")]
    return "\n".join(lines).strip().strip('"')
