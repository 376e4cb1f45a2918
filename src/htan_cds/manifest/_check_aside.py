"""Checking a big delimited input in a second process while ``convert`` repairs and writes it.

The check of a manifest (URIs, names, cross-row repeats, limits) does not depend on its repair,
so for a big input the column path of ``convert`` hands it to a child process that reads the
file again (``formats/_records.py``, the same batches) and feeds the same column batches to a
:class:`~htan_cds.manifest.checks.Checker`: two cores instead of one, the same report.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.manifest.checks import FILE_ID_COLUMNS, Checker, CheckReport
from htan_cds.manifest.files import ManifestReader
from htan_cds.manifest.formats._records import NeedsRows, RecordTable
from htan_cds.manifest.registry import ColumnBatch

# Inputs at least this big are checked aside (smaller ones: starting a process costs more).
ASIDE_BYTES = 32 * 1024 * 1024


def aside_pays(size: int | None) -> bool:
    """Whether to check an input of ``size`` bytes aside: a big one, and a core to spare.

    The child reads the file again and imports what it needs (~40% more CPU in all), which
    only buys time when a second core is idle; on a busy machine (load average, last minute,
    within half a core of the cores this process may use) both processes would share the same
    cores and finish later than one.
    """
    if size is None or size < ASIDE_BYTES:
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cores or cores < 2:
        return False
    try:
        load = os.getloadavg()[0]
    except OSError:
        return False
    return load < cores - 0.5


def file_id_plan(meta: list[tuple[str, int]], key_columns: Sequence[str]) -> list[int]:
    """The columns ``files.file_id_of`` looks at, in its order: exact names, then loose ones."""
    exact = dict(meta)
    plan = [exact[c] for c in key_columns if c in exact]
    loose = {_loose(c) for c in key_columns}
    plan += [i for k, i in meta if _loose(k) in loose and i not in plan]
    return plan


def _loose(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def column_batch(
    table: RecordTable, cols: list[list[str]], first: int, plan: list[int]
) -> ColumnBatch:
    """What the checker sees of a batch: URIs, names (``""``: none), file ids, row numbers."""
    count = len(cols[0])
    names = cols[table.name_index] if table.name_index is not None else [""] * count
    return ColumnBatch(
        cols[table.uri_index],
        names,
        _file_ids(cols, plan, count),
        list(range(first, first + count)),
    )


def _file_ids(cols: list[list[str]], plan: list[int], count: int) -> list[str]:
    """Each row's first non-empty cell among the ``plan`` columns (``""`` when none)."""
    if not plan:
        return [""] * count
    found = cols[plan[0]]
    for index in plan[1:]:
        if all(found):
            break
        found = [a or b for a, b in zip(found, cols[index], strict=True)]
    return found


def check_file(
    file: str,
    fmt: str,
    drs_column: str | None,
    name_column: str | None,
    registry: PrefixRegistry | None,
) -> CheckReport | None:
    """The check report of a delimited manifest read as record batches (in the child);
    ``None`` when a row needs the row path (the parent then converts row by row)."""
    checker = Checker(registry=registry)
    with ManifestReader(file, fmt, drs_column=drs_column, name_column=name_column) as reader:
        table = reader.records()
        if table is None:
            return None
        plan = file_id_plan(table.meta, FILE_ID_COLUMNS)
        try:
            for first, batch in table.batches:
                checker.add_columns(column_batch(table, batch.columns, first, plan))
        except NeedsRows:
            return None
        return checker.finish_from(reader.context, reader.format)


def _child(conn: Connection, args: tuple[Any, ...]) -> None:
    try:
        report = check_file(*args)
    except BaseException:
        report = None  # the parent converts row by row, where an error is its to report
    try:
        conn.send(report)
    finally:
        conn.close()


class CheckAside:
    """:func:`check_file` running in a child process.

    Spawned, not forked (no state shared with this process), daemonic (it ends with this
    process), and watched through a pipe: if the child dies or fails, :meth:`result` raises
    :class:`NeedsRows` and the conversion is done again row by row, checking in-process.
    """

    def __init__(self, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(child_end, args), daemon=True)
        self._process.start()
        child_end.close()  # so that the child's end closing (it died) reads as EOF here

    def result(self) -> CheckReport:
        """The child's report; :class:`NeedsRows` when it ended without one."""
        try:
            report = self._conn.recv()
        except (EOFError, OSError):
            report = None
        if not isinstance(report, CheckReport):
            raise NeedsRows("the check process gave no report")
        return report

    def close(self) -> None:
        """Stop the child (at once, when the conversion failed before asking the result)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._conn.close()
