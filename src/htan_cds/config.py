"""The data home: where the catalog, objects, thumbnails, workspace and secret key live."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from htan_cds.errors import ConfigError

HOME_ENV = "HTAN_CDS_HOME"


def default_home() -> Path:
    """The data home when neither ``--home`` nor ``HTAN_CDS_HOME`` says otherwise."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("htan-cds", appauthor=False))


@dataclass(frozen=True)
class DataHome:
    """One folder holding everything a commons needs (see docs/architecture.md)."""

    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike[str] | None = None, *, create: bool = True) -> DataHome:
        """Open (and by default create) the data home at ``root`` or the default location."""
        path = Path(root).expanduser() if root is not None else default_home()
        if path.exists() and not path.is_dir():
            raise ConfigError(f"data home {path} exists and is not a folder")
        if create and not path.exists():
            try:
                path.mkdir(parents=True, exist_ok=True)
                # The home holds controlled metadata and secrets: its owner's alone (an
                # existing home keeps the mode its owner gave it).
                os.chmod(path, 0o700)
            except OSError as exc:
                raise ConfigError(f"cannot create data home {path}: {exc.strerror}") from exc
        return cls(path.resolve())

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def objects_dir(self) -> Path:
        return self.root / "objects"

    @property
    def thumbnails_dir(self) -> Path:
        return self.root / "thumbnails"

    @property
    def workspace_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def secret_key_path(self) -> Path:
        return self.root / "secret.key"

    @property
    def config_path(self) -> Path:
        """Optional user configuration (TOML): DRS prefixes, passport issuers, defaults."""
        return self.root / "config.toml"

    def secret_key(self) -> bytes:
        """The signing key for access URLs; created with mode 0600 on first use."""
        path = self.secret_key_path
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            pass
        except ValueError as exc:
            raise ConfigError(f"{path} is not a hex key; delete it to make a new one") from exc
        key = secrets.token_bytes(32)
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex())
        return key

    def load_config(self) -> dict[str, object]:
        """The parsed ``config.toml``, or an empty dict when there is none."""
        import tomllib

        try:
            with self.config_path.open("rb") as fh:
                return tomllib.load(fh)
        except FileNotFoundError:
            return {}
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.config_path}: {exc}") from exc
