"""``s5cmd``: the manifest IDC's tools read and write, one s5cmd command per series.

The IDC portal and ``idc-index`` write lines such as ``cp s3://idc-open-data/<uuid>/* .``
(idc-index: ``"cp " + series_aws_url + " " + '"' + path + '"'``, or ``sync`` for a folder that
already holds files), ``#`` comment lines naming the s5cmd command to run, and sometimes the
BigQuery column name (``*_cp_command``) as a first line; idc-index keeps only lines holding an
``s3://`` URL (ImagingDataCommons/idc-index ``index.py``,
``_validate_update_manifest_and_get_download_size``; ``tests/*.s5cmd``).

A row's ``drs_uri`` is the source URL as written (``s3://bucket/<crdc_series_uuid>/*``);
metadata keeps ``s5cmd_command`` (``cp`` or ``sync``) and ``destination``. Writing emits the
same form (``cp URL DEST``, DEST quoted when it needs quotes) after IDC's three comment lines.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from htan_cds.errors import ManifestError
from htan_cds.manifest.registry import DEFAULT_WRITE, ManifestFormat, ReadContext, WriteOptions
from htan_cds.manifest.row import ManifestRow

COMMANDS = ("cp", "sync")
DEFAULT_DESTINATION = "."
# IDC's header, with the endpoint idc-index uses for AWS (``aws_endpoint_url``).
HEADER = (
    "# To download the files in this manifest, first install s5cmd "
    "(https://github.com/peak/s5cmd),\n"
    "# then run the following command:\n"
    "# s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com run {name}\n"
)
_LINE_RE = re.compile(r"^\s*(cp|sync)\s+.*s3://", re.IGNORECASE)
_HEADER_RE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")
# s3://bucket/key with an optional wildcard tail (IDC: ``s3://bucket/<uuid>/*``).
_S3_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")


def is_s3_url(text: str) -> bool:
    """True for ``s3://bucket[/key]`` (bucket named by S3's rules, lower case)."""
    return bool(_S3_RE.match(text))


def _parse(line: str) -> tuple[str, str, str] | str:
    """``(command, source URL, destination)`` of one command line, or why it is not one."""
    try:
        words = shlex.split(line, comments=False)
    except ValueError as exc:
        return f"cannot split the line ({exc})"
    if not words or words[0].lower() not in COMMANDS:
        return "not an s5cmd cp/sync command"
    # Options (``--show-progress``, ``--sp``) come before the source; the destination may
    # itself start with "-".
    args = words[1:]
    while args and args[0].startswith("-"):
        args = args[1:]
    if len(args) != 2:
        return f"expected '{words[0]} s3://bucket/prefix/* DEST', got {len(args)} arguments"
    source, dest = args
    if not is_s3_url(source):
        return f"{source!r} is not an s3:// URL"
    return words[0].lower(), source, dest


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of an s5cmd manifest; comments, blank lines and a first column-name line skipped.

    A line that is not ``cp``/``sync`` of an ``s3://`` URL is still yielded (its whole text as
    the URI, so checks and imports report it on its row) with a warning naming the problem.
    """
    number = 0
    seen_command = False
    for raw in lines:
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if not seen_command and _HEADER_RE.match(line):
            ctx.header = [line]
            continue
        number += 1
        seen_command = True
        parsed = _parse(line)
        if isinstance(parsed, str):
            ctx.warn(number, "s5cmd_line", f"{parsed}: {line[:120]!r}")
            # The whole line as the URI: it is no bucket prefix, so an import fails this row
            # (an ``rm s3://…`` line must never turn into a copy).
            yield ManifestRow(line, None, {}, number)
            continue
        command, source, dest = parsed
        yield ManifestRow(source, None, {"s5cmd_command": command, "destination": dest}, number)


def sniff(head: list[str]) -> int:
    """s5cmd lines (after comments and an optional column-name line) score high, and so does
    IDC's own header comment (the file a writer here makes for no series has only that)."""
    for line in head:
        text = line.strip()
        if text.startswith("#") and "s5cmd" in text:
            return 60
        if not text or text.startswith("#") or _HEADER_RE.match(text):
            continue
        return 60 if _LINE_RE.match(text) else 0
    return 0


def _quote(dest: str) -> str:
    if dest and re.fullmatch(r"[A-Za-z0-9_./@:+=,-]+", dest):
        return dest
    return '"' + dest.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _file_name(out: TextIO) -> str:
    """The manifest's file name for the header (the final name of an atomic temp file)."""
    name = getattr(out, "name", None)
    if not isinstance(name, str) or name.startswith("<"):
        return "manifest.s5cmd"
    base = name.rsplit("/", 1)[-1]
    temp = re.fullmatch(r"\.(.+)\.[^.]+\.tmp", base)
    return temp.group(1) if temp else base


def write(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """``cp URL DEST`` per row (``sync`` kept), after IDC's comment header.

    ``columns`` and ``options`` do not apply: lines are s5cmd commands, not cells.

    Raises :class:`ManifestError` naming the first row whose URI is not an ``s3://`` URL:
    s5cmd copies bucket objects, it cannot resolve DRS URIs.
    """
    out.write(HEADER.format(name=_file_name(out)))
    count = 0
    for row in rows:
        if not is_s3_url(row.drs_uri):
            raise ManifestError(
                f"row {row.row_number or count + 1}: {row.drs_uri!r} is not an s3:// URL; "
                "s5cmd manifests hold bucket URLs (IDC series), not DRS URIs"
            )
        command = row.metadata.get("s5cmd_command", "cp")
        command = command if command in COMMANDS else "cp"
        dest = row.metadata.get("destination") or DEFAULT_DESTINATION
        out.write(f"{command} {row.drs_uri} {_quote(dest)}\n")
        count += 1
    return count


FORMAT = ManifestFormat(
    name="s5cmd",
    description="s5cmd commands as IDC's portal and idc-index write them (cp s3://…/* DEST)",
    reader=read,
    sniff=sniff,
    writer=write,
)
