"""The cross-platform file-name rule: safe on Linux, macOS, Windows and CGC at once.

Sources: Microsoft's "Naming Files, Paths, and Namespaces" and CPython 3.13 ntpath.isreserved
(reserved characters and device names), ext4/APFS's 255-byte name limit, Unicode UAX #9
(bidirectional controls).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.manifest import is_safe_name, safe_name
from htan_cds.manifest.names import (
    all_plain_names,
    fallback_from_id,
    is_safe_file_name,
    name_problems,
    numbered_name,
    safe_file_name,
    split_extension,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CRC01b_07.ome.tif", "CRC01b_07.ome.tif"),
        ("../../etc/passwd", "etc_passwd"),
        ("/abs/x.tif", "abs_x.tif"),
        ("imaging_level_2/WD-76845-002.ome.tif", "imaging_level_2_WD-76845-002.ome.tif"),
        ("C:\\Users\\a.tif", "C_Users_a.tif"),
        ("C:\\Users\\x\\evil.tif", "C_Users_x_evil.tif"),
        ("report:stream.txt", "report_stream.txt"),
        ('what?*<>|"now".tif', "what_now_.tif"),
        ("CON", "CON_"),
        ("con.tar.gz", "con_.tar.gz"),
        ("Nul .txt", "Nul_.txt"),
        ("COM\u00b9.log", "COM\u00b9_.log"),
        ("lpt9.ome.tif", "lpt9_.ome.tif"),
        ("CONOUT$", "CONOUT$_"),
        ("COM", "COM"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("ends in dot.", "ends in dot"),
        ("ends in space.tif ", "ends in space.tif"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("line\u2028break\ufeff.tif", "linebreak.tif"),
        ("pasted\u200bname.tif", "pastedname.tif"),
        ("soft\u00adhyphen\u2060.tif", "softhyphen.tif"),
        ("tag\U000e0041ged.tif", "tagged.tif"),
        ("\u0645\u200c\u0627.tif", "\u0645\u200c\u0627.tif"),  # ZWNJ: Persian needs it
        ("cafe\u0301.tif", "caf\u00e9.tif"),
        ("-starts-with-dash.tif", "-starts-with-dash.tif"),
        ("...", "uuid-1"),
        ("a\x00b\x1fc\x7f.tif", "abc.tif"),
        ("..", "uuid-1"),
        (".", "uuid-1"),
        ("", "uuid-1"),
        ("   ", "uuid-1"),
        (None, "uuid-1"),
        ("..a", "..a"),
        (" spaced name.tif", " spaced name.tif"),
    ],
)
def test_safe_name_cases(name: str | None, expected: str) -> None:
    assert safe_name(name, "uuid-1") == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    name = "é" * 300 + ".ome.tif"
    safe = safe_name(name, "x")
    assert len(safe.encode()) <= 255 and safe.endswith(".ome.tif")
    assert safe.startswith("é")
    assert "longer than 255 bytes" in name_problems(name)


def test_fallbacks() -> None:
    assert fallback_from_id("dg.4DFC/624649d2") == "624649d2"
    assert fallback_from_id("drs://host/dg.4DFC/abc") == "abc"
    assert safe_name("", "../..") == "unnamed"


def test_extensions_and_numbering() -> None:
    assert split_extension("a.ome.tif") == ("a", ".ome.tif")
    assert split_extension("R1_001.fastq.gz") == ("R1_001", ".fastq.gz")
    assert split_extension(".bashrc") == (".bashrc", "")
    assert numbered_name("a.ome.tif", 2) == "a_2.ome.tif"
    assert numbered_name("README", 3) == "README_3"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=300)), st.text(max_size=80))
def test_safe_name_never_escapes_and_is_idempotent(name: str | None, fallback: str) -> None:
    safe = safe_name(name, fallback)
    assert safe and safe.strip()
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in safe)
    assert len(safe.encode("utf-8")) <= 255
    assert is_safe_name(safe)
    assert safe_name(safe, fallback) == safe
    base = Path("/srv/dest")
    joined = Path(os.path.normpath(base / safe))
    assert joined.parent == base
    if name is not None and is_safe_name(name):
        assert safe == name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=70), max_size=20))
def test_bulk_name_check_agrees_with_single_checks(names: list[str]) -> None:
    if all_plain_names(names):
        assert all(is_safe_name(n) for n in names)
    assert is_safe_name("a") and not is_safe_name(None)


def _passes_rule_spelled_out(name: str) -> bool:
    """The rule written independently of the module, from the sources in the docstring."""
    devices = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    devices |= {f"{d}{n}" for d in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"}
    bidi = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    # Format characters that show nothing (soft hyphen, MVS, ZWSP, word joiner, invisible
    # operators, deprecated controls, tags); not ZWNJ/ZWJ.
    bidi |= set("\u00ad\u180e\u200b\u2060\u2061\u2062\u2063\u2064\u206a\u206b\u206c")
    bidi |= set("\u206d\u206e\u206f\U000e0001") | {chr(c) for c in range(0xE0020, 0xE0080)}
    return (
        bool(name.strip())
        and not any(c in '/\\:*?"<>|' for c in name)
        and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name)
        and not any(c in bidi or c in "\u2028\u2029\ufeff" for c in name)
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in name)
        and name.split(".")[0].rstrip(" ").upper() not in devices
        and not name.endswith((" ", "."))
        and len(name.encode("utf-8")) <= 255
        and unicodedata.normalize("NFC", name) == name
    )


# Names built from the characters that matter: reserved ones, device names, dots, spaces,
# bidi controls, combining marks, multi-byte letters and emoji.
_HOSTILE = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "CON",
                "nul",
                "COM1",
                "lpt\u00b2",
                "CONIN$",
                ".",
                "..",
                " ",
                "/",
                "\\",
                ":",
                "*",
                "?",
                '"',
                "<",
                ">",
                "|",
                "\x00",
                "\r",
                "\n",
                "\t",
                "\x85",
                "\u202e",
                "\u2066",
                "\u200b",
                "\u200c",
                "\u00ad",
                "\U000e0041",
                "\u2028",
                "\ufeff",
                "\u0301",
                "e",
                "\u00e9",
                "\u6f22",
                "\U0001f600",
                ".tif",
                ".ome.tif",
                "C:",
                "-",
                "=",
                "~",
            ]
        ),
        st.text(max_size=5),
    ),
    max_size=90,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_HOSTILE, st.text(max_size=300)))
def test_safe_file_name_always_passes_the_rule(name: str) -> None:
    safe = safe_file_name(name)
    assert _passes_rule_spelled_out(safe), repr(safe)
    assert is_safe_file_name(safe)
    assert safe_file_name(safe) == safe
    assert is_safe_file_name(name) == _passes_rule_spelled_out(name)
    if is_safe_file_name(name):
        assert safe == name


@settings(max_examples=300, deadline=None)
@given(st.lists(_HOSTILE, max_size=12))
def test_bulk_check_never_passes_an_unsafe_name(names: list[str]) -> None:
    if all_plain_names(names):
        assert all(is_safe_file_name(n) for n in names)


def test_truncation_keeps_the_extension_and_whole_characters() -> None:
    for char in ("a", "\u00e9", "\u6f22", "\U0001f600"):
        name = char * 300 + ".fastq.gz"
        safe = safe_file_name(name)
        assert safe.endswith(".fastq.gz") and len(safe.encode()) <= 255
        assert set(safe[: -len(".fastq.gz")]) == {char}
        # The cut leaves no room for one more character.
        assert len(safe.encode()) + len(char.encode()) > 255


def test_numbered_names_stay_safe() -> None:
    assert numbered_name("CON_.txt", 2) == "CON__2.txt"
    long = "x" * 251 + ".tif"
    assert is_safe_file_name(numbered_name(long, 12))
    assert numbered_name(long, 12).endswith("_12.tif")


def test_drive_paths_are_named_as_such() -> None:
    from htan_cds.manifest.names import name_problems

    assert "Windows drive path" in name_problems("C:\\Users\\x\\evil.tif")
    assert "Windows drive path" in name_problems("a:b")
    assert "absolute path" in name_problems("/etc/passwd")
    assert name_problems("ok.tif") == []
