"""Files a user names for output (``-o``, ``--report``, ``--json-report``): checked before any
work starts and written atomically.

Why both: an import or a conversion can run for hours; a report path in a missing folder found
only at the end loses that work's record, and a kill during a plain ``open(path, "w")`` leaves
half a file under the final name that looks complete (README "Command reference": a crash or
kill never leaves a half file under a final name).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from htan_cds.errors import UsageError

T = TypeVar("T")


def check_output(
    path: Path | str, option: str, inputs: dict[str, Path | str] | None = None
) -> None:
    """Refuse an output ``path`` that cannot be written, before anything is done.

    ``option`` names the option in the message (``-o``, ``--report``). Refused, with
    :class:`UsageError` (exit 2) and a hint: a folder, a parent folder that is missing or is a
    file, a parent folder this user may not write in, one of the command's ``inputs`` (label ->
    path; URLs and ``"-"`` are not files and are passed over). An existing file is fine (it is
    replaced whole, atomically). ``"-"`` (stdout) is always fine.
    """
    if str(path) == "-":
        return
    _check_not_an_input(path, option, inputs or {})
    target = Path(path)
    if target.is_dir():
        raise UsageError(
            f"{option} {target} is a folder, not a file",
            hint=f"give a file name, e.g. {option} {target / 'out'}",
        )
    parent = target.parent
    if not parent.exists():
        raise UsageError(
            f"{option} {target}: folder {parent} does not exist",
            hint=f"create it first: mkdir -p {parent}",
        )
    if not parent.is_dir():
        raise UsageError(f"{option} {target}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"{option} {target}: cannot write in folder {parent} (read-only disk or no permission)"
        )


def replace_atomically(path: Path | str, write: Callable[[int], T]) -> T:
    """``write(fd)`` into a new temporary file in ``path``'s folder (``write`` closes ``fd``),
    then the file renamed onto ``path`` with the permissions a plain ``open()`` would give;
    returns what ``write`` returns. ``OSError`` as raised, with nothing left under either name.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        result = write(fd)
        # mkstemp makes the file 0600; give it the permissions a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result


def write_bytes_atomic(path: Path | str, data: bytes, option: str) -> None:
    """Write ``data`` to ``path`` through :func:`replace_atomically`; :class:`UsageError`
    naming ``option`` on an OS error (nothing is left under either name then)."""

    def write(fd: int) -> None:
        with open(fd, "wb") as out:
            out.write(data)

    try:
        replace_atomically(path, write)
    except OSError as exc:
        raise UsageError(f"cannot write {option} {path}: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_not_an_input(path: Path | str, option: str, inputs: dict[str, Path | str]) -> None:
    """Refuse an output ``path`` that is one of the command's ``inputs`` (label -> path) or
    another of its outputs: ``import m.csv --json-report m.csv`` would replace the manifest with
    the report, ``preview img.tif -o img.tif`` the image with a PNG. Paths that do not exist
    (yet) are compared by their absolute form."""
    target = _identity(Path(path))
    for label, other in inputs.items():
        if str(other) == "-" or "://" in str(other):
            continue
        if _identity(Path(other)) == target:
            raise UsageError(
                f"{option} {path} is also {label}: writing it would replace that file",
                hint=f"give {option} another file name",
            )


def _identity(path: Path) -> tuple[int, int] | str:
    """The same value for two names of one file (device and inode when it exists)."""
    try:
        stat = path.stat()
    except OSError:
        return str(path.absolute())
    return (stat.st_dev, stat.st_ino)
