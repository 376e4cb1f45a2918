"""Forgiving filters on the command line: say which typed values matched nothing, and what is close.

Human output gets one ``warning:`` line per value on stderr; with ``--json`` the same warning is
one JSON object per line on stderr (``{"warning": "no_match", "facet", "value", "closest"}``)
and the command's JSON document carries the list under ``unmatched``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from htan_cds.cli._common import err_console

if TYPE_CHECKING:
    from htan_cds.catalog.resolve import Resolution


def report_unmatched(resolution: Resolution, json_out: bool) -> None:
    """Print what :meth:`Catalog.resolve` could not match, on stderr."""
    import sys

    for item in resolution.unmatched:
        if json_out:
            line = orjson.dumps({"warning": "no_match", **item.to_dict()})
            sys.stderr.buffer.write(line + b"\n")
            sys.stderr.flush()
        else:
            err_console.print(
                f"warning: {item.message()}", highlight=False, markup=False, soft_wrap=True
            )
