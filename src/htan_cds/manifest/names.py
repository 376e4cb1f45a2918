"""Safe file names: one rule for names from manifests, DRS objects and workspace uploads.

A name is *safe* when it can be used as-is as one file name inside a folder on Linux, macOS and
Windows at once, and on CGC (:func:`is_safe_file_name`); :func:`safe_file_name` turns any text
into such a name. The import engine (names from DRS objects), the workspace (uploaded and
imported file names) and ``manifest convert --fix`` all call these two functions, so a file
gets the same name everywhere.

Sources of the rule: Microsoft's "Naming Files, Paths, and Namespaces" (reserved characters
``< > : " / \\ | ? *`` and 0x00-0x1F, reserved device names with any extension, no trailing
space or period) and CPython 3.13's ``ntpath.isreserved`` (the same set plus ``CONIN$``,
``CONOUT$`` and ``COM¹²³``/``LPT¹²³``, which Windows also treats as devices); 255 bytes is
the name limit of ext4, XFS and APFS (NTFS counts 255 UTF-16 units, which 255 UTF-8 bytes never
exceed); macOS stores names decomposed but compares them normalised, so two names differing
only in normalisation clash there, and we keep names in NFC. pathvalidate (PyPI) covers the
Windows part but not NFC, bidirectional overrides, C1 controls or truncation that keeps the
extension, so the rule is written out here.
"""

from __future__ import annotations

import operator
import re
import unicodedata

MAX_NAME_BYTES = 255
_DEFAULT_FALLBACK = "unnamed"

# Characters Windows refuses in a name (ntpath._reserved_chars minus the control range).
_WINDOWS_RESERVED = '<>:"/\\|?*'
# Bidirectional controls (Unicode UAX #9: LRM, RLM, ALM, LRE…RLO, LRI…PDI) make a name display
# differently from what it is ("evil\u202egpj.exe" shows as "evilexe.jpg"); line/paragraph
# separators and the BOM break lines or hide in listings. Control characters (Cc) and lone
# surrogates (Cs, unencodable) are matched by category below.
_INVISIBLE = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE += "\u2028\u2029\ufeff"
# Format characters that show nothing at all (Unicode "Default_Ignorable", category Cf): soft
# hyphen, Mongolian vowel separator, zero-width space, word joiner and invisible operators,
# deprecated format controls, tag characters. "a.tif" and "a\u200b.tif" look the same in every
# listing; copying from web pages and documents brings them in. ZWNJ and ZWJ (U+200C/D) are left
# alone: Persian, Indic scripts and emoji sequences need them.
_INVISIBLE += "\u00ad\u180e\u200b\u2060\u2061\u2062\u2063\u2064"
_INVISIBLE += "".join(map(chr, range(0x206A, 0x2070)))
_INVISIBLE += "\U000e0001" + "".join(map(chr, range(0xE0020, 0xE0080)))
_BAD_CHAR_RE = re.compile(
    "[" + re.escape(_WINDOWS_RESERVED + _INVISIBLE) + r"\x00-\x1f\x7f-\x9f\ud800-\udfff]"
)
# Separators in the wide sense: every character Windows reserves splits a name into parts.
_SPLIT_RE = re.compile("[" + re.escape(_WINDOWS_RESERVED) + "]+")
_DROP_RE = re.compile("[" + re.escape(_INVISIBLE) + r"\x00-\x1f\x7f-\x9f]")

# Windows device names: reserved whatever the extension ("NUL.tar.gz") and with spaces before
# it ("CON .txt"); CPython 3.13 ntpath.isreserved, plus COM0/LPT0 and CLOCK$ (listed by
# Microsoft's naming page and by pathvalidate as reserved on some Windows versions).
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"}
)
_DEVICE_ALT = "|".join(sorted((re.escape(d) for d in _DEVICE_NAMES), key=len, reverse=True))

# Up to two short alphanumeric suffixes (".ome.tif", ".fastq.gz", ".bam") count as the extension,
# so de-duplicated and truncated names keep what tools use to recognise the file type.
_EXTENSION_RE = re.compile(r"((?:\.[A-Za-z0-9]{1,5}){1,2})$")

# Fast path for the common case: printable ASCII without reserved characters, not ending in
# space or dot, not a device name, at most 255 characters (= bytes). ASCII is always NFC. A match
# alone means "safe"; no match means "ask is_safe_file_name".
_PLAIN = r"[^\x00-\x1f\x7f-\U0010ffff" + re.escape(_WINDOWS_RESERVED) + "]"
_PLAIN_END = r"[^\x00-\x20\x7f-\U0010ffff" + re.escape(_WINDOWS_RESERVED + ".") + "]"
_FAST_SAFE_RE = re.compile(
    rf"(?!(?i:{_DEVICE_ALT}) *(?:\.|\Z)){_PLAIN}{{0,254}}{_PLAIN_END}", re.DOTALL
)
match_plain_name = _FAST_SAFE_RE.fullmatch
# For the bulk test: the bytes a plain name may hold ("\n" joins the names), and the first
# three letters of every device name.
PLAIN_BYTES = bytes(c for c in range(0x20, 0x7F) if chr(c) not in _WINDOWS_RESERVED) + b"\n"
DEVICE_STEMS = frozenset({"CON", "PRN", "AUX", "NUL", "COM", "LPT", "CLO"})
_FIRST_THREE = operator.itemgetter(slice(0, 3))


def all_plain_names(names: list[str]) -> bool:
    """True when every name passes the ASCII fast path of :func:`is_safe_file_name` (bulk check).

    A few C-level scans of the joined names; ``False`` says nothing about a single name (names
    merely starting like a device name, ``COMBINED.tif``, also give ``False``): check them one
    by one then.
    """
    if not names:
        return True
    joined = "\n".join(names)
    if not joined.isascii() or not all(names) or max(map(len, names)) > MAX_NAME_BYTES:
        return False
    if joined.count("\n") != len(names) - 1:
        return False
    if " \n" in joined or ".\n" in joined or joined.endswith((" ", ".")):
        return False
    if joined.encode("ascii").translate(None, PLAIN_BYTES):
        return False
    stems = {stem.upper() for stem in set(map(_FIRST_THREE, names))}
    return stems.isdisjoint(DEVICE_STEMS)


def _is_device_name(name: str) -> bool:
    return name.partition(".")[0].rstrip(" ").upper() in _DEVICE_NAMES


def name_problems(name: str | None) -> list[str]:
    """Why ``name`` is not a safe file name, as short phrases (empty list when it is safe)."""
    if name is None or not name.strip():
        return ["empty"]
    problems: list[str] = []
    if name.startswith(("/", "\\")):
        problems.append("absolute path")
    elif re.match(r"^[A-Za-z]:", name):
        # C:\x is absolute, C:x relative to drive C's current folder: a path either way.
        problems.append("Windows drive path")
    if "/" in name or "\\" in name:
        problems.append("path separator")
    if name in (".", "..") or any(p in (".", "..") for p in re.split(r"[/\\]+", name)):
        problems.append("'.' or '..'")
    reserved = sorted({c for c in name if c in _WINDOWS_RESERVED and c not in "/\\"})
    if reserved:
        problems.append(f"character(s) Windows refuses ({''.join(reserved)})")
    if any(unicodedata.category(c) == "Cc" for c in name):
        problems.append("control character")
    if any(c in _INVISIBLE for c in name):
        problems.append("invisible or direction-changing character")
    if any("\ud800" <= c <= "\udfff" for c in name):
        problems.append("not valid Unicode")
    elif not unicodedata.is_normalized("NFC", name):
        problems.append("not in Unicode NFC form")
    if _is_device_name(name):
        problems.append("Windows device name")
    if name.endswith((" ", ".")) and name not in (".", ".."):
        problems.append("ends in a space or dot")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problems.append(f"longer than {MAX_NAME_BYTES} bytes")
    return problems


def is_safe_file_name(name: str) -> bool:
    """True when ``name`` is usable as-is as one file name on Linux, macOS, Windows and CGC.

    Safe means: not empty or blank, not ``.``/``..``; none of ``/ \\ : * ? " < > |``, control
    characters (C0, DEL, C1), bidirectional controls (U+202E…), U+2028/2029, U+FEFF or other
    invisible format characters (zero-width space, soft hyphen, word joiner, tags…); not a
    Windows device name (``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``-``COM9``, ``LPT0``-``LPT9``,
    ``COM¹²³``, ``LPT¹²³``, ``CONIN$``, ``CONOUT$``, ``CLOCK$``; any case, any extension); no
    trailing space or dot; at most 255 bytes of UTF-8; in Unicode NFC. See the module docstring
    for the sources.
    """
    if _FAST_SAFE_RE.fullmatch(name) is not None:
        return True
    if not name.strip() or _BAD_CHAR_RE.search(name) is not None:
        return False
    if name.endswith((" ", ".")) or _is_device_name(name):
        return False
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return False
    return unicodedata.is_normalized("NFC", name)


def is_safe_name(name: str | None) -> bool:
    """:func:`is_safe_file_name` that also accepts ``None`` (never safe)."""
    return name is not None and is_safe_file_name(name)


def _truncate(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping the extension, never inside a character."""
    if len(name.encode("utf-8")) <= limit:
        return name
    match = _EXTENSION_RE.search(name)
    ext = match.group(1) if match and match.start() > 0 else ""
    stem = name[: len(name) - len(ext)]
    budget = limit - len(ext.encode("utf-8"))
    # "ignore" drops the partial character a byte cut may leave at the end.
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return stem + ext


def _clean(text: str) -> str:
    """The steps of :func:`safe_file_name` except the fallback; ``""`` when nothing is left."""
    # Lone surrogates cannot be written to any file system encoding; replace them.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", _DROP_RE.sub("", text))
    # "C:\Users\x\a.tif" -> "C_Users_x_a.tif": runs of reserved characters become one "_",
    # after dropping empty, "." and ".." parts so "../../etc/passwd" cannot keep its dots.
    parts = [p for p in _SPLIT_RE.split(text) if p.strip() not in ("", ".", "..")]
    text = "_".join(parts)
    for _ in range(8):
        text = text.rstrip(" .")
        if not text.strip():
            return ""
        if _is_device_name(text):
            stem, dot, rest = text.partition(".")
            text = f"{stem.rstrip(' ')}_{dot}{rest}"
        text = _truncate(text)
        # NFC of a cut string can differ (rarely, longer): normalise and re-check until stable.
        text = unicodedata.normalize("NFC", text)
        if is_safe_file_name(text):
            return text
    return ""


def safe_file_name(name: str, fallback: str = _DEFAULT_FALLBACK) -> str:
    """A name that passes :func:`is_safe_file_name`, as close to ``name`` as possible.

    A safe ``name`` is returned unchanged (the function is idempotent). Otherwise: lone
    surrogates become U+FFFD; control, bidirectional and other invisible characters are removed;
    the text is put in NFC; runs of ``/ \\ : * ? " < > |`` join the remaining parts with ``_``
    after dropping empty, ``.`` and ``..`` parts (``../../etc/passwd`` -> ``etc_passwd``,
    ``C:\\Users\\x\\a.tif`` -> ``C_Users_x_a.tif``); trailing spaces and dots go; a device name
    gets ``_`` after its stem (``CON.txt`` -> ``CON_.txt``); more than 255 UTF-8 bytes are cut
    from the stem, keeping the extension and whole characters. When nothing usable is left,
    ``fallback`` is cleaned the same way, and ``"unnamed"`` is the last resort.

    Used by ``manifest convert --fix``, the catalog's manifests, the import engine (names from
    DRS objects) and the workspace (file names) — call this rather than a rule of your own.
    """
    if is_safe_file_name(name):
        return name
    return _clean(name) or _clean(fallback) or _DEFAULT_FALLBACK


def safe_name(name: str | None, fallback: str) -> str:
    """:func:`safe_file_name` that also accepts ``None`` (then the cleaned ``fallback``)."""
    return safe_file_name(name or "", fallback)


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
    """``stem_N.ext``: the name used for the N-th file that wants the same name (stays safe)."""
    stem, ext = split_extension(name)
    suffix = f"_{number}{ext}"
    # Cut the stem, not the number: a cut number would give back the name it must differ from.
    budget = max(MAX_NAME_BYTES - len(suffix.encode("utf-8")), 0)
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return safe_file_name(f"{stem}{suffix}")
