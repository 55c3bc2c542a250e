"""One writer per annotation store: a lock file with the owner's pid, host and start time.

A second app on the same folder finds the lock, opens the store read-only and says who holds
it. A lock whose owner is gone (same host, dead pid) is stale and taken over, so a killed app
never blocks the folder. Within one process the lock is shared (a window and a script in the
same process are one writer).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

LOCK_FILE = "lock"
_held: dict[str, int] = {}          # lock path -> how many stores of this process hold it
_held_guard = threading.Lock()


@dataclass(frozen=True)
class LockOwner:
    """Who holds a folder lock."""

    pid: int
    host: str
    started: str

    def describe(self) -> str:
        return f"process {self.pid} on {self.host} (since {self.started})"


def _me() -> LockOwner:
    return LockOwner(os.getpid(), socket.gethostname(), datetime.now(timezone.utc).isoformat(timespec="seconds"))


def read_owner(path: Path) -> LockOwner | None:
    """The owner written in lock file `path`, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockOwner(int(data["pid"]), str(data["host"]), str(data.get("started", "?")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    if os.name == "nt":   # os.kill(pid, 0) would send Ctrl+C there
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # exists but belongs to someone else (or we cannot tell): not stale
    return True


def _alive_windows(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32   # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() != 87   # ERROR_INVALID_PARAMETER: no such process
    try:
        code = ctypes.c_ulong()
        return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == 259   # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def is_stale(owner: LockOwner | None) -> bool:
    """True when nobody holds the lock any more: unreadable, or this host and a dead pid (or a pid
    that a newer process got after the owner died, where the system says when processes started)."""
    if owner is None:
        return True
    if owner.host != socket.gethostname():
        return False   # another machine's process cannot be checked from here
    return not _alive(owner.pid) or _started_after(owner.pid, owner.started)


def _started_after(pid: int, started: str) -> bool:
    """True when process `pid` started clearly after `started` (so it is not the lock's owner); Linux only."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
        began = boot + int(stat[19]) / os.sysconf("SC_CLK_TCK")
        return began > datetime.fromisoformat(started).timestamp() + 2.0
    except (OSError, ValueError, IndexError, StopIteration):
        return False   # cannot tell: trust the pid


def acquire(location: Path) -> LockOwner | None:
    """Take the lock of the store at `location`; None on success, else the live owner."""
    path = Path(location) / LOCK_FILE
    key = str(path)
    me = _me()
    with _held_guard:
        if _held.get(key):
            _held[key] += 1
            return None
        for _ in range(3):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = read_owner(path)
                if owner is not None and owner.pid == me.pid and owner.host == me.host:
                    break   # ours, from a store of this process that forgot to release it
                if owner is None and _younger_than(path, 2.0):
                    return LockOwner(-1, "?", "just now")   # being written by its owner right now
                if not is_stale(owner):
                    return owner
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()   # a killed app's lock: take it over
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump({"pid": me.pid, "host": me.host, "started": me.started}, stream)
            owner = read_owner(path)
            if owner is None or owner.pid != me.pid:
                continue   # another taker replaced it between our unlink and create: look again
            break
        else:
            return read_owner(path) or LockOwner(-1, "?", "?")
        _held[key] = _held.get(key, 0) + 1
        return None


def release(location: Path) -> None:
    """Give the lock of the store at `location` back (when this process's last holder lets go)."""
    path = Path(location) / LOCK_FILE
    key = str(path)
    with _held_guard:
        count = _held.get(key, 0)
        if count > 1:
            _held[key] = count - 1
            return
        _held.pop(key, None)
        owner = read_owner(path)
        if owner is not None and owner.pid == os.getpid() and owner.host == socket.gethostname():
            with contextlib.suppress(OSError):
                path.unlink()


def _younger_than(path: Path, seconds: float) -> bool:
    import time

    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False
