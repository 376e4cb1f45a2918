"""Bundles in an import: a resolved bundle becomes its members, each a file entry of its own
landing in ``DEST/<bundle name>/<member name>`` (nested bundles nest folders), with the depth
and size bounds and the cycle check of :mod:`htan_cds.drs.bundles`."""

from __future__ import annotations

from dataclasses import replace

from htan_cds.drs.bundles import MAX_BUNDLE_DEPTH, MAX_BUNDLE_MEMBERS, Member, members_of
from htan_cds.errors import DrsError
from htan_cds.transfer.plan import Item
from htan_cds.transfer.source import SourceRow


def _member_rows(
    parent: SourceRow,
    folder_name: str,
    members: list[Member],
    out: list[SourceRow],
    budget: list[int],
) -> list[str]:
    """Append rows for ``members`` under ``parent``; returns problems (cycles, limits)."""
    problems: list[str] = []
    folder = (*parent.folder, folder_name)
    ancestors = parent.ancestors | {parent.drs_uri}
    if len(folder) > MAX_BUNDLE_DEPTH:
        return [f"bundles nested deeper than {MAX_BUNDLE_DEPTH} levels at {'/'.join(folder)}"]
    for member in members:
        budget[0] -= 1
        if budget[0] < 0:
            problems.append(f"more than {MAX_BUNDLE_MEMBERS} members under one bundle")
            break
        if member.contents:  # a nested bundle listed inline
            inline = members_of(list(member.contents), member.uri)
            child = replace(parent, drs_uri=member.uri or parent.drs_uri)
            child = replace(child, folder=folder, ancestors=ancestors)
            problems += _member_rows(child, member.name, inline, out, budget)
            continue
        if member.uri is None:
            problems.append(f"member {member.name!r} has no usable DRS URI or id")
            continue
        if member.uri in ancestors or member.uri == parent.drs_uri:
            problems.append(f"member {member.name!r} is one of its own bundles (a cycle)")
            continue
        out.append(
            SourceRow(
                drs_uri=member.uri,
                name=member.name,
                metadata=dict(parent.metadata),
                row_number=parent.row_number,
                folder=folder,
                bundle=parent.bundle or parent.drs_uri,
                ancestors=ancestors,
            )
        )
    return problems


def expand(items: list[Item]) -> list[SourceRow]:
    """Mark resolved bundles among ``items`` and return the rows of their members.

    A bundle that yields no member (empty, or only bad members) gets ``error`` and stays an
    entry, so its manifest row is reported with the reason.
    """
    rows: list[SourceRow] = []
    for item in items:
        obj = item.obj
        if obj is None or not obj.is_bundle:
            continue
        name = item.row.name or obj.name or obj.id.rsplit("/", 1)[-1]
        try:
            members = members_of(list(obj.contents or []), obj.self_uri)
        except DrsError as exc:
            item.error = str(exc)
            item.obj = None
            continue
        before = len(rows)
        problems = _member_rows(item.row, name, members, rows, [MAX_BUNDLE_MEMBERS])
        if len(rows) == before:
            reason = "; ".join(problems) if problems else "it has no members"
            item.error = f"bundle {obj.self_uri}: {reason}"
            item.obj = None
            continue
        item.bundle = True
        if problems:
            # The members that can be imported are; the rest is reported on the bundle's row.
            item.error = f"bundle {obj.self_uri}: " + "; ".join(problems)
    return rows
