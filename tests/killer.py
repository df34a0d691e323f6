"""Run tools/train.py, but SIGKILL the process a few steps after checkpoint step ``KILL_AFTER``.

Usage: python tests/killer.py KILL_AFTER <tools/train.py args...>. The kill lands after more
metrics were logged than the checkpoint holds, the hardest case for resume.
"""
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zoo.run.folder  # noqa: E402

KILL_AFTER = int(sys.argv.pop(1))
_save, _log = zoo.run.folder.Run.save_checkpoint, zoo.run.folder.Run.log
armed = {"logs": None}


def save(self, state):
    _save(self, state)
    if state["step"] >= KILL_AFTER and armed["logs"] is None:
        armed["logs"] = 0


def log(self, record):
    _log(self, record)
    if armed["logs"] is not None:
        armed["logs"] += 1
        if armed["logs"] >= 2:
            os.kill(os.getpid(), signal.SIGKILL)


zoo.run.folder.Run.save_checkpoint, zoo.run.folder.Run.log = save, log
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import train  # noqa: E402

sys.exit(train.main(sys.argv[1:]))
