"""DRS bundles: objects whose ``contents`` list other objects instead of carrying bytes.

DRS 1.5 ``ContentsObject``: each member has a ``name``, an ``id`` and/or ``drs_uri`` list, and may
list its own ``contents`` (nested bundles, inline when the server was asked ``expand=true``).
Gen3 indexd answers bundles the same way (uc-cdis/indexd ``indexd/drs/blueprint.py``,
``bundle_to_drs``); our server serves one bundle per biospecimen. A member named only by ``id``
lives on the bundle's own server.

Everything here is bounded: at most :data:`MAX_BUNDLE_DEPTH` levels and
:data:`MAX_BUNDLE_MEMBERS` members under one bundle; a member that is one of its own ancestors
is a cycle and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from htan_cds.drs.models import ContentsObject, DrsObject
from htan_cds.drs.uri import DrsUriKind, encode_object_id, parse_drs_uri
from htan_cds.errors import DrsError, InvalidDrsUri

MAX_BUNDLE_DEPTH = 8
MAX_BUNDLE_MEMBERS = 10_000


@dataclass(frozen=True)
class Member:
    """One entry of a bundle: its declared name, its DRS URI (None if it has none we can use),
    and the members of a nested bundle listed inline."""

    name: str
    uri: str | None
    contents: tuple[ContentsObject, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "drs_uri": self.uri}
        if self.contents:
            out["members"] = [m.as_dict() for m in members_of(list(self.contents), None)]
        return out


def _member_uri(item: ContentsObject, bundle_self_uri: str | None) -> str | None:
    for candidate in item.drs_uri or []:
        try:
            parse_drs_uri(candidate)
        except InvalidDrsUri:
            continue
        return candidate.strip()
    if item.id and bundle_self_uri:
        try:
            parent = parse_drs_uri(bundle_self_uri)
        except InvalidDrsUri:
            return None
        if parent.kind is DrsUriKind.HOSTNAME:
            return f"drs://{parent.authority}/{encode_object_id(item.id)}"
    return None


def members_of(contents: list[ContentsObject], bundle_self_uri: str | None) -> list[Member]:
    """The members of a bundle's ``contents`` (at most :data:`MAX_BUNDLE_MEMBERS`)."""
    if len(contents) > MAX_BUNDLE_MEMBERS:
        raise DrsError(f"a bundle lists {len(contents)} members (at most {MAX_BUNDLE_MEMBERS})")
    out = []
    for item in contents:
        uri = _member_uri(item, bundle_self_uri)
        out.append(Member(_member_name(item, uri), uri, tuple(item.contents or ())))
    return out


def _member_name(item: ContentsObject, uri: str | None) -> str:
    """The declared name; without one, the last segment of the member's id or URI (so two
    unnamed members do not land on one path)."""
    if item.name and item.name.strip():
        return item.name.strip()
    for candidate in (item.id, uri):
        tail = (candidate or "").strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if tail:
            return tail
    return "unnamed"


def bundle_members(obj: DrsObject) -> list[Member]:
    """The direct members of a bundle object."""
    return members_of(list(obj.contents or []), obj.self_uri)


class BundleNotFile(DrsError):
    """A DRS URI names a bundle where a file was expected (``info``, ``preview``)."""

    def __init__(self, obj: DrsObject) -> None:
        self.bundle = obj
        self.members = bundle_members(obj)
        super().__init__(
            f"{obj.self_uri} is a bundle of {len(self.members)} objects, not a file",
            hint="import it to get its members, or give one member's URI",
        )
