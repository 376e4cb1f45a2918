"""Everything a mounted workspace needs per app: store, job runner, auth, settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from htan_cds.config import DataHome
from htan_cds.server.signing import signed_url
from htan_cds.workspace.auth import Authenticator
from htan_cds.workspace.jobs import JobRunner
from htan_cds.workspace.settings import WorkspaceSettings
from htan_cds.workspace.store import WorkspaceStore

CONTENT_PATH = "/workspace/content/"
CONTENT_TTL = 3600


@dataclass
class WorkspaceContext:
    """The state of one workspace app (``app.state.workspace``)."""

    home: DataHome
    settings: WorkspaceSettings
    store: WorkspaceStore
    runner: JobRunner
    auth: Authenticator
    quota_lock: threading.Lock = field(default_factory=threading.Lock)
    _started: bool = False
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, home: DataHome) -> WorkspaceContext:
        """Open the workspace of ``home`` (the job runner is started lazily)."""
        settings = WorkspaceSettings.load(home)
        store = WorkspaceStore.open(home)
        auth = Authenticator(home)
        return cls(
            home=home,
            settings=settings,
            store=store,
            runner=JobRunner(store, settings=settings, grants_of=auth.grants_of),
            auth=auth,
        )

    @property
    def import_window(self) -> float:
        """The quota window in seconds."""
        return float(self.settings.import_window_seconds)

    def ensure_started(self) -> None:
        """Start the job runner once (resuming unfinished jobs)."""
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                self.runner.start()
                self._started = True

    def shutdown(self) -> None:
        """Stop the runner (the current job stays resumable)."""
        if self._started:
            self.runner.stop()
            self._started = False

    def signed_content_url(self, base_url: str, file_id: str) -> str:
        """A short-lived URL for a workspace file's bytes."""
        return signed_url(base_url, self.home.secret_key(), CONTENT_PATH + file_id, CONTENT_TTL)
