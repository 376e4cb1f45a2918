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
DEFAULT_BASE_URL = "http://127.0.0.1:8100"


@dataclass
class WorkspaceContext:
    """The state of one workspace app (``app.state.workspace``)."""

    home: DataHome
    settings: WorkspaceSettings
    store: WorkspaceStore
    runner: JobRunner
    auth: Authenticator
    # The public base URL (scheme://host[:port]) every URL the workspace hands out is built on:
    # the commons' configured public URL, or ``workspace serve --public-url``; never the
    # request's Host header, which the client chooses.
    base_url: str = DEFAULT_BASE_URL
    quota_lock: threading.Lock = field(default_factory=threading.Lock)
    _started: bool = False
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, home: DataHome, base_url: str = DEFAULT_BASE_URL) -> WorkspaceContext:
        """Open the workspace of ``home`` served at ``base_url`` (the runner starts lazily)."""
        settings = WorkspaceSettings.load(home)
        store = WorkspaceStore.open(home)
        auth = Authenticator(home)
        return cls(
            home=home,
            settings=settings,
            store=store,
            runner=JobRunner(store, settings=settings, grants_of=auth.grants_of),
            auth=auth,
            base_url=base_url.rstrip("/"),
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

    @property
    def authority(self) -> str:
        """``host[:port]`` of :attr:`base_url`: the authority of workspace DRS URIs."""
        return self.base_url.split("://", 1)[-1].split("/", 1)[0]

    def signed_content_url(self, file_id: str) -> str:
        """A short-lived URL (on :attr:`base_url`) for a workspace file's bytes."""
        return signed_url(
            self.base_url, self.home.secret_key(), CONTENT_PATH + file_id, CONTENT_TTL
        )
