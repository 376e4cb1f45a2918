"""Where an import keeps its working files: staged ``.part`` files, the run lock, and the
numbered names used when two objects (or a conflict) want the same path."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from htan_cds.errors import UsageError


def numbered_path(path: str, n: int) -> str:
    """`dir/stem_N.ext` for the N-th object (or conflict) wanting `dir/stem.ext`."""
    head, _, name = path.rpartition("/")
    try:
        from htan_cds.manifest.names import numbered_name

        new = numbered_name(name, n)
    except ImportError:
        stem, dot, ext = name.partition(".")
        new = f"{stem}_{n}{dot}{ext}"
    return f"{head}/{new}" if head else new


def partial_path(state: Path, key: str) -> Path:
    """The staged file of one object."""
    # Named by a hash of the URI, inside the state folder: never mistaken for a finished file.
    return state / "partial" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.part"


def lock_state(state: Path) -> int:
    """Hold an exclusive lock on the state folder for the whole run (released at exit, even
    after ``kill -9``): two imports into one DEST would fight over the same partial files."""
    import fcntl

    try:
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"cannot write into {state.parent}: {exc.strerror or exc}",
            hint="the destination must be a folder you can write",
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise UsageError(
            f"another import into {state.parent} is running", hint=f"lock {state / 'lock'}"
        ) from exc
    return fd


def import_running(state: Path) -> bool:
    """True while an import holds the state folder's lock (probed without creating anything)."""
    import fcntl

    try:
        fd = os.open(state / "lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own shared lock, if it got one
    return False
