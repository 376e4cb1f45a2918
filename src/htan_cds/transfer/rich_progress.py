"""The rich display of an import's progress on stderr (the CLI's; ``--quiet`` never loads it)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from htan_cds.transfer.progress import ProgressEvent
from htan_cds.units import format_rate, format_size

_SHOWN_ACTIVE = 3


class BytesColumn(ProgressColumn):
    """``12.0 MiB/1.5 GiB`` in the one unit system (rich's own columns mix in decimal MB/s)."""

    def render(self, task: Task) -> Text:
        total = format_size(task.total) if task.total is not None else "?"
        return Text(f"{format_size(task.completed)}/{total}", style="progress.download")


class RateColumn(ProgressColumn):
    """The transfer rate, ``45.2 MiB/s``."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(format_rate(speed) if speed else "?", style="progress.data.speed")


class RichProgress:
    """A progress callback drawing total bytes, rate, ETA, files done/failed and the largest
    active files."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=28),
            BytesColumn(),
            RateColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            refresh_per_second=4,
        )
        self._total: TaskID | None = None
        self._files = 0
        self._done = 0
        self._failed = 0
        self._skipped = 0
        self._active: dict[str, tuple[str, int, int]] = {}  # uri -> (name, size, done)
        self._shown: dict[str, TaskID] = {}
        self._last = 0.0

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _describe(self) -> str:
        extra = f", {self._failed} failed" if self._failed else ""
        skipped = f", {self._skipped} skipped" if self._skipped else ""
        return f"files {self._done}/{self._files}{skipped}{extra}"

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "plan":
            self._files = event.files
            self._total = self.progress.add_task(self._describe(), total=event.nbytes)
            return
        if self._total is None:
            return
        uri = event.drs_uri or ""
        if event.kind == "start":
            name = (event.path or uri).rsplit("/", 1)[-1][:40]
            self._active[uri] = (name, event.size or 0, 0)
        elif event.kind == "bytes":
            self.progress.advance(self._total, event.nbytes)
            if uri in self._active:
                name, size, done = self._active[uri]
                self._active[uri] = (name, size, done + event.nbytes)
        else:
            self._active.pop(uri, None)
            if event.kind == "done":
                self._done += 1
            elif event.kind == "skipped":
                self._skipped += 1
                self._done += 1
                self.progress.advance(self._total, event.size or 0)
            else:
                self._failed += 1
            self.progress.update(self._total, description=self._describe())
        now = time.monotonic()
        if now - self._last > 0.25 or event.kind != "bytes":
            self._last = now
            self._refresh_active()

    def _refresh_active(self) -> None:
        largest = sorted(self._active.items(), key=lambda kv: -kv[1][1])[:_SHOWN_ACTIVE]
        wanted = {uri for uri, _ in largest}
        for uri in list(self._shown):
            if uri not in wanted:
                self.progress.remove_task(self._shown.pop(uri))
        for uri, (name, size, done) in largest:
            if size < (8 << 20):
                continue  # small files flash by; only big ones are worth a line
            task = self._shown.get(uri)
            if task is None:
                self._shown[uri] = self.progress.add_task(f"  {name}", total=size, completed=done)
            else:
                self.progress.update(task, completed=done)
