"""Where each object lands inside DEST: layout templates over manifest columns, made safe.

A template such as ``{center}/{participant}/{name}`` is split on ``/``; every field value is
sanitised into one path component (``..``, absolute paths and separators cannot escape), so the
result is always a relative path inside DEST. Unknown or empty fields become ``unknown``.
"""

from __future__ import annotations

import importlib
import re
import string
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import cast

from htan_cds.errors import UsageError

STATE_DIR_NAME = ".htan-cds"
MISSING = "unknown"

# Short names for the HTAN manifest columns people want in folder layouts.
ALIASES: dict[str, tuple[str, ...]] = {
    # HTAN names each atlas after its center ("HTAN Vanderbilt"), so the atlas stands in.
    "center": ("HTAN_Center", "center", "Center", "HTAN Center", "atlas_name", "Atlas Name"),
    "participant": ("HTAN_Participant_ID", "participant", "Participant", "HTAN Participant ID"),
    "biospecimen": ("HTAN_Biospecimen_ID", "biospecimen", "HTAN Parent Biospecimen ID"),
    "atlas": ("atlas_name", "Atlas Name", "atlas"),
    "assay": ("assay", "Assay", "assay_name", "Component"),
    "level": ("level", "Level"),
    "format": ("File_Format", "File Format", "format"),
    "file_id": ("HTAN_Data_File_ID", "HTAN Data File ID", "data_file_id"),
}

_FORMATTER = string.Formatter()
# HTAN ids nest: participant HTA11_1, its biospecimen HTA11_1_1, a file HTA11_1_1003.
_PARTICIPANT_RE = re.compile(r"^(HTA[0-9]+_[0-9]+)_")


def _load_safe_name() -> Callable[[str | None, str], str]:
    # The manifest toolkit owns name sanitising; import lazily so either spelling works.
    for module in ("htan_cds.manifest", "htan_cds.manifest.names"):
        try:
            func = getattr(importlib.import_module(module), "safe_name", None)
        except ImportError:
            continue
        if callable(func):
            return cast(Callable[[str | None, str], str], func)
    return _private_safe_name


def _private_safe_name(name: str | None, fallback: str) -> str:
    parts = [p for p in re.split(r"[/\\]+", name or "") if p not in ("", ".", "..")]
    text = "_".join("".join(c for c in p if c.isprintable()) for p in parts).strip()
    return text[:255] or fallback or "unnamed"


safe_name = _load_safe_name()


def template_fields(template: str) -> list[str]:
    """The ``{field}`` names a template uses (raises :class:`UsageError` when malformed)."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise UsageError(f"layout template {template!r}: {exc}") from exc
    fields = []
    for _, field_name, spec, conv in parsed:
        if field_name is None:
            continue
        if not field_name or spec or conv or not re.match(r"^[A-Za-z0-9_ .-]+$", field_name):
            raise UsageError(f"layout template {template!r}: bad field {{{field_name}}}")
        fields.append(field_name)
    return fields


class Layout:
    """A compiled layout template."""

    def __init__(self, template: str = "{name}") -> None:
        self.template = template.strip().strip("/") or "{name}"
        template_fields(self.template)
        self._components = [c for c in self.template.split("/") if c]

    def _value(self, field: str, values: Mapping[str, str]) -> str:
        if values.get(field):
            return values[field]
        for column in ALIASES.get(field, ()):
            if values.get(column):
                return values[column]
        lowered = {k.lower(): v for k, v in values.items()}
        found = lowered.get(field.lower()) or ""
        if not found and field == "participant":
            for source in ("biospecimen", "file_id"):
                match = _PARTICIPANT_RE.match(self._value(source, values))
                if match:
                    return match.group(1)
        return found

    def render(self, values: Mapping[str, str]) -> str:
        """The relative POSIX path for one object (every component sanitised)."""
        parts: list[str] = []
        for component in self._components:
            text = "".join(
                literal + (self._value(field, values) if field is not None else "")
                for literal, field, _, _ in _FORMATTER.parse(component)
            )
            parts.append(safe_name(text, MISSING))
        if parts and parts[0] == STATE_DIR_NAME:
            parts[0] = "_" + STATE_DIR_NAME.lstrip(".")  # never write into our own state folder
        path = PurePosixPath(*parts)
        if path.is_absolute() or ".." in path.parts:  # safe_name makes this impossible; belt
            raise UsageError(f"layout produced an unsafe path {path}")
        return str(path)
