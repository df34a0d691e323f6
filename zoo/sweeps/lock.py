"""One lock per run folder, so two sweeps on one folder never write the same run.

The lock is a file created atomically with O_CREAT | O_EXCL holding JSON {pid, child, host,
token, time}. It is *stale* -- and may be broken -- when its host is this host and neither
the owner ``pid`` nor the trainer ``child`` is alive, or when it has not been refreshed
(mtime) for ``STALE_AFTER`` seconds (a holder on another host, e.g. a dead slurm job; the
holder touches it while the trainer runs). Breaking renames the stale file to a unique name
first (rename is atomic: one breaker wins) and checks the token it judged stale.
"""
from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

LOCK = ".sweep.lock"
STALE_AFTER = 900.0  # seconds without a refresh after which any lock is stale


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """``with RunLock(folder) as lock: ...`` or ``acquire()`` / ``release()``."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK
        self.token = uuid.uuid4().hex
        self.held = False

    def _info(self, child: int | None = None) -> dict:
        return {"pid": os.getpid(), "child": child, "host": socket.gethostname(),
                "token": self.token, "time": time.time()}

    def holder(self) -> dict | None:
        """The current lock's content ({} when unreadable), None when unlocked."""
        try:
            return json.loads(self.path.read_text()) or {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def stale(self, info: dict) -> bool:
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return False
        if age > STALE_AFTER:
            return True
        if not info:  # being written right now, or garbage: judge by age only
            return False
        return info.get("host") == socket.gethostname() and not (
            _alive(info.get("pid")) or _alive(info.get("child")))

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(self._info(), f)
        self.held = True
        return True

    def acquire(self) -> bool:
        """True when this process now holds the lock; False when a live holder has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._create():
            return True
        info = self.holder()
        if info is None:  # released meanwhile
            return self._create()
        if not self.stale(info):
            return False
        grave = self.path.with_name(f"{LOCK}.stale.{self.token}")
        try:
            os.rename(self.path, grave)  # atomic: exactly one breaker gets the file
        except FileNotFoundError:
            return self._create()
        try:
            taken = json.loads(grave.read_text()) or {}
        except (OSError, ValueError):
            taken = {}
        if info and taken.get("token") != info.get("token"):
            # someone replaced the stale lock with a live one in between: put it back
            try:
                os.link(grave, self.path)
            except FileExistsError:
                pass
            grave.unlink(missing_ok=True)
            return False
        grave.unlink(missing_ok=True)
        return self._create()

    def refresh(self, child: int | None = None) -> None:
        """Record the trainer's pid and touch the lock (atomic replace, never absent)."""
        if not self.held:
            return
        tmp = self.path.with_name(f"{LOCK}.{self.token}.tmp")
        tmp.write_text(json.dumps(self._info(child)))
        os.replace(tmp, self.path)

    def release(self) -> None:
        if self.held and (self.holder() or {}).get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> "RunLock":
        if not self.acquire():
            raise RuntimeError(f"{self.path.parent} is locked by {self.holder()}")
        return self

    def __exit__(self, *exc) -> None:
        self.release()
