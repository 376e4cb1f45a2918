"""Safe file names: a manifest's ``name`` must never lead outside the destination folder."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 255
_SEPARATORS_RE = re.compile(r"[/\\]+")
# Up to two short alphanumeric suffixes (".ome.tif", ".fastq.gz", ".bam") count as the extension,
# so de-duplicated and truncated names keep what tools use to recognise the file type.
_EXTENSION_RE = re.compile(r"((?:\.[A-Za-z0-9]{1,5}){1,2})$")
# At most 63 characters is at most 252 UTF-8 bytes, so this needs no length check in bytes.
# Lookaheads refuse ".", ".." and all-blank names, so a match alone means "safe".
_FAST_SAFE_RE = re.compile(r"(?!\.\.?\Z)(?!\s*\Z)[^/\\\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,63}")
match_plain_name = _FAST_SAFE_RE.fullmatch
_DEFAULT_FALLBACK = "unnamed"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


_UNSAFE_CHAR_RE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def all_plain_names(names: list[str]) -> bool:
    """True when every name is non-blank, short and free of unsafe characters (bulk check).

    ``False`` says nothing about a single name: check them one by one then.
    """
    return (
        all(map(str.strip, names))
        and max(map(len, names), default=0) <= 63
        and not _UNSAFE_CHAR_RE.search("|".join(names))
        and "." not in names
        and ".." not in names
    )


def name_problems(name: str | None) -> list[str]:
    """Why ``name`` is not a safe single path component (empty list when it is)."""
    if name is None or not name.strip():
        return ["empty"]
    problems: list[str] = []
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[/\\]", name):
        problems.append("absolute path")
    if "/" in name or "\\" in name:
        problems.append("path separator")
    if any(part in (".", "..") for part in _SEPARATORS_RE.split(name)):
        problems.append("'.' or '..'")
    if any(_is_control(c) for c in name):
        problems.append("control character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        problems.append("not valid Unicode")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problems.append(f"longer than {MAX_NAME_BYTES} bytes")
    return problems


def is_safe_name(name: str | None) -> bool:
    """True when ``name`` can be used as-is as one file name inside a folder."""
    if name is None:
        return False
    # Fast path for the common case keeps million-row checks cheap.
    if _FAST_SAFE_RE.fullmatch(name) is not None:
        return True
    return not name_problems(name)


def _truncate(name: str, limit: int = MAX_NAME_BYTES) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    match = _EXTENSION_RE.search(name)
    ext = match.group(1) if match and match.start() > 0 else ""
    stem = name[: len(name) - len(ext)]
    budget = limit - len(ext.encode("utf-8"))
    encoded = stem.encode("utf-8")[:budget]
    # Cutting inside a multi-byte character would leave an invalid tail; drop it.
    stem = encoded.decode("utf-8", "ignore")
    return stem + ext


def _clean(name: str) -> str:
    # Lone surrogates cannot be written to any file system encoding; replace them.
    name = name.encode("utf-8", "replace").decode("utf-8")
    name = "".join(c for c in name if not _is_control(c))
    parts = [p for p in _SEPARATORS_RE.split(name) if p not in ("", ".", "..")]
    joined = "_".join(parts)
    if not joined.strip() or joined in (".", ".."):
        return ""
    return _truncate(joined)


def safe_name(name: str | None, fallback: str) -> str:
    """A sanitised single path component for ``name``; ``fallback`` when nothing usable is left.

    Control characters are removed; path separators (``/``, ``\\``) join the remaining parts with
    ``_`` after dropping empty, ``.`` and ``..`` parts (so ``../../etc/passwd`` becomes
    ``etc_passwd`` and ``/abs/x`` becomes ``abs_x``); names over 255 UTF-8 bytes are cut, keeping
    the extension. A safe name is returned unchanged, so the function is idempotent. ``fallback``
    (typically derived from the DRS id) is sanitised the same way; ``"unnamed"`` is the last
    resort.
    """
    if name is not None and is_safe_name(name):
        return name
    cleaned = _clean(name or "")
    if cleaned:
        return cleaned
    cleaned = _clean(fallback or "")
    return cleaned or _DEFAULT_FALLBACK


def fallback_from_id(drs_uri: str) -> str:
    """A file name derived from a DRS URI when a row has none: its last path/accession part."""
    tail = drs_uri.strip().rstrip("/")
    for sep in ("/", ":"):
        tail = tail.rsplit(sep, 1)[-1]
    return tail or _DEFAULT_FALLBACK


def split_extension(name: str) -> tuple[str, str]:
    """``("CRC01b_07", ".ome.tif")`` for ``"CRC01b_07.ome.tif"``; the extension may be empty."""
    match = _EXTENSION_RE.search(name)
    if not match or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group(1)


def numbered_name(name: str, number: int) -> str:
    """``stem_N.ext``: the name used for the N-th file that wants the same name."""
    stem, ext = split_extension(name)
    return _truncate(f"{stem}_{number}{ext}")
