"""One lock file per run folder and purpose: the one lock implementation of drift-zoo.

    .sweep.lock   a sweep's job owns the point (zoo.sweeps.job; the trainer runs as its child)
    .run.lock     a process writes the folder (zoo.run.folder.Run.lock: train, eval)

The lock is a file created atomically with O_CREAT | O_EXCL holding JSON {pid, child, role,
host, token, time}. It is *stale* -- and may be broken -- when its host is this host and neither
the owner ``pid`` nor the trainer ``child`` is alive, or when it has not been refreshed
(mtime) for ``STALE_AFTER`` seconds (a holder on another host, e.g. a dead slurm job; the
holder touches it while it works: ``refresh``, or the ``heartbeat`` thread). Breaking renames
the stale file to a unique name first (rename is atomic: one breaker wins) and checks the token
it judged stale.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

LOCK = ".sweep.lock"
WRITER_LOCK = ".run.lock"
STALE_AFTER = 900.0  # seconds without a refresh after which any lock is stale


class FolderBusy(ValueError):
    """A live process holds the lock; the message names the folder, the holder and the fix.
    A ValueError, so the tools report it as a usage error (pass another --workdir)."""


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


def busy_message(folder, info: dict) -> str:
    """'run folder X is in use by pid N (role)[ on host H]; wait for it or pass another --workdir'."""
    host = info.get("host")
    where = "" if host in (None, socket.gethostname()) else f" on host {host}"
    return (f"run folder {folder} is in use by pid {info.get('pid')} ({info.get('role')}){where}; "
            f"wait for it or pass another --workdir")


class RunLock:
    """``with RunLock(folder) as lock: ...`` or ``acquire()`` / ``release()``.

    ``name`` is the lock file (``LOCK`` for sweeps, ``WRITER_LOCK`` for writers) and ``role``
    what the holder does (shown to whoever finds the folder busy)."""

    def __init__(self, folder: str | os.PathLike, name: str = LOCK, role: str = "sweep"):
        self.path = Path(folder) / name
        self.role = role
        self.token = uuid.uuid4().hex
        self.held = False
        self._beat: tuple[threading.Thread, threading.Event] | None = None

    def _info(self, child: int | None = None) -> dict:
        return {"pid": os.getpid(), "child": child, "role": self.role,
                "host": socket.gethostname(), "token": self.token, "time": time.time()}

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
        grave = self.path.with_name(f"{self.path.name}.stale.{self.token}")
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
        tmp = self.path.with_name(f"{self.path.name}.{self.token}.tmp")
        tmp.write_text(json.dumps(self._info(child)))
        os.replace(tmp, self.path)

    def heartbeat(self, every: float = STALE_AFTER / 10) -> None:
        """Refresh the held lock from a daemon thread every ``every`` seconds until ``release``
        (a holder that works longer than STALE_AFTER between its own refreshes)."""
        if not self.held or self._beat is not None:
            return
        stop = threading.Event()

        def beat():
            while not stop.wait(every):
                self.refresh()

        thread = threading.Thread(target=beat, name=f"heartbeat {self.path}", daemon=True)
        self._beat = (thread, stop)
        thread.start()

    def release(self) -> None:
        if self._beat is not None:  # stopped first: a late refresh would recreate the file
            thread, stop = self._beat
            stop.set()
            thread.join()
            self._beat = None
        if self.held and (self.holder() or {}).get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> "RunLock":
        if not self.acquire():
            raise FolderBusy(busy_message(self.path.parent, self.holder() or {}))
        return self

    def __exit__(self, *exc) -> None:
        self.release()
