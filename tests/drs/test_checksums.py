"""The checksum registry: every declared type real DRS servers send, hex or base64, and S3's
multipart ETag (md5 of the parts' md5s), checked against independently computed values."""

from __future__ import annotations

import base64
import hashlib
import struct

import google_crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.drs.checksums import (
    MiB,
    Verdict,
    expected_checksums,
    parse_checksum,
    part_size_candidates,
)


def _s3_multipart_etag(data: bytes, part: int) -> str:
    # As S3 computes it (AWS S3 user guide, "Checking object integrity": multipart ETags).
    parts = [hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part)]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


def _check(declared_type: str, value: str, data: bytes) -> Verdict:
    expected = parse_checksum(declared_type, value)
    assert expected is not None, (declared_type, value)
    hasher = expected.hasher(len(data))
    for i in range(0, len(data), 1 << 20):  # fed in pieces, as bytes arrive
        hasher.update(memoryview(data)[i : i + (1 << 20)])
    return hasher.verdict(expected.value)


DATA = hashlib.sha256(b"seed").digest() * 40_000  # 1.28 MB


@pytest.mark.parametrize(
    ("declared_type", "algo"),
    [
        ("md5", "md5"),
        ("sha-1", "sha1"),
        ("sha1", "sha1"),
        ("sha-256", "sha256"),
        ("sha256", "sha256"),
        ("SHA-256", "sha256"),
        ("sha-384", "sha384"),
        ("sha-512", "sha512"),
        ("sha512", "sha512"),
    ],
)
def test_hashlib_types_hex_and_base64(declared_type: str, algo: str) -> None:
    digest = hashlib.new(algo, DATA).digest()
    assert _check(declared_type, digest.hex(), DATA) is Verdict.MATCH
    assert _check(declared_type, digest.hex().upper(), DATA) is Verdict.MATCH
    assert _check(declared_type, base64.b64encode(digest).decode(), DATA) is Verdict.MATCH
    wrong = hashlib.new(algo, DATA + b"x").hexdigest()
    assert _check(declared_type, wrong, DATA) is Verdict.MISMATCH


def test_crc32c_hex_and_google_base64() -> None:
    # RFC 3720 check value: crc32c("123456789") == 0xE3069283.
    assert _check("crc32c", "e3069283", b"123456789") is Verdict.MATCH
    crc = google_crc32c.value(DATA)
    big_endian_b64 = base64.b64encode(struct.pack(">I", crc)).decode()  # as GCS returns it
    assert _check("crc32c", big_endian_b64, DATA) is Verdict.MATCH
    assert _check("crc32c", f"{crc:08x}", DATA) is Verdict.MATCH
    assert _check("crc32c", f"{crc ^ 1:08x}", DATA) is Verdict.MISMATCH


def test_single_part_etag_is_the_md5() -> None:
    md5 = hashlib.md5(DATA).hexdigest()
    expected = parse_checksum("etag", f'"{md5}"')  # S3 quotes its ETags
    assert expected is not None and expected.algorithm == "md5" and expected.iana == "etag"
    assert _check("etag", md5, DATA) is Verdict.MATCH
    assert _check("etag", hashlib.md5(b"other").hexdigest(), DATA) is Verdict.MISMATCH


@pytest.mark.parametrize("part", [5 * MiB, 8 * MiB, 16 * MiB])
def test_multipart_etag_with_a_common_part_size(part: int) -> None:
    data = DATA * 20  # 25.6 MB: 6, 4 and 2 parts
    etag = _s3_multipart_etag(data, part)
    assert _check("etag", etag, data) is Verdict.MATCH
    corrupt = bytearray(data)
    corrupt[123] ^= 1
    # Wrong bytes and a wrong part-size guess cannot be told apart: never "verified".
    assert _check("etag", etag, bytes(corrupt)) is Verdict.UNKNOWN


def test_multipart_etag_part_size_derived_from_n() -> None:
    data = DATA * 3  # 3.84 MB in 3 parts of 1.28 MB: no common size gives 3 parts
    etag = _s3_multipart_etag(data, len(DATA))
    assert _check("etag", etag, data) is Verdict.MATCH


def test_multipart_etag_without_a_findable_part_size_is_unknown() -> None:
    data = DATA * 3
    etag = _s3_multipart_etag(data, 1_000_003)  # 4 parts of an odd size
    assert _check("etag", etag, data) is Verdict.UNKNOWN


def test_unknown_types_and_malformed_values_are_not_expected() -> None:
    assert parse_checksum("crc32", "12345678") is None
    assert parse_checksum("md5", "not-a-digest") is None
    assert parse_checksum("sha-256", "ab" * 16) is None  # a 16-byte value is no sha-256
    assert parse_checksum("etag", "abc-2") is None


def test_strongest_declared_is_chosen_and_preference_wins() -> None:
    declared = [("md5", "a" * 32), ("crc32c", "01234567"), ("sha-256", "b" * 64)]
    assert [e.algorithm for e in expected_checksums(declared)] == ["sha256"]
    assert [e.algorithm for e in expected_checksums(declared, ("md5",))] == ["md5"]
    every = expected_checksums(declared, every=True)
    assert [e.algorithm for e in every] == ["sha256", "md5", "crc32c"]
    assert expected_checksums([("etag", "c" * 32), ("md5", "c" * 32)])[0].iana == "md5"


@given(size=st.integers(min_value=1, max_value=1 << 40), parts=st.integers(1, 10_000))
@settings(max_examples=300, deadline=None)
def test_part_size_candidates_always_give_n_parts(size: int, parts: int) -> None:
    for candidate in part_size_candidates(size, parts):
        assert -(-size // candidate) == parts


# Spellings seen in the wild beside the IANA names: indexd passes its "hashes" keys through
# (uc-cdis/indexd indexd/drs/blueprint.py parse_checksums), other servers write the hashlib or
# upper-case names, and some the SHA-2 family name.
@pytest.mark.parametrize(
    ("declared_type", "algo"),
    [
        ("MD5", "md5"),
        (" md5 ", "md5"),
        ("SHA-1", "sha1"),
        ("SHA1", "sha1"),
        ("sha_256", "sha256"),
        ("SHA_256", "sha256"),
        ("SHA256", "sha256"),
        ("SHA2-256", "sha256"),
        ("sha 256", "sha256"),
        ("sha-224", "sha224"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
        ("sha_512", "sha512"),
        ("sha3-256", "sha3_256"),
        ("SHA3_512", "sha3_512"),
        ("blake2b-512", "blake2b"),
    ],
)
def test_type_spellings_differing_in_case_and_separators(declared_type: str, algo: str) -> None:
    digest = hashlib.new(algo, DATA).digest()
    assert _check(declared_type, digest.hex(), DATA) is Verdict.MATCH
    assert _check(declared_type, base64.b64encode(digest).decode(), DATA) is Verdict.MATCH
    assert _check(declared_type, hashlib.new(algo, b"x").hexdigest(), DATA) is Verdict.MISMATCH


def test_crc32c_spellings() -> None:
    crc = google_crc32c.value(DATA)
    for spelling in ("CRC32C", "crc-32c", "CRC32-C", "crc_32c"):
        assert _check(spelling, f"{crc:08x}", DATA) is Verdict.MATCH
        assert _check(spelling, f"{crc:08X}", DATA) is Verdict.MATCH
        assert _check(spelling, f"{crc ^ 1:08x}", DATA) is Verdict.MISMATCH


def test_ga4gh_trunc512() -> None:
    # GA4GH refget's trunc512 (named by DRS 1.5 Checksum.type): the first 24 bytes of SHA-512.
    value = hashlib.sha512(DATA).digest()[:24].hex()
    assert _check("trunc512", value, DATA) is Verdict.MATCH
    assert _check("TRUNC512", value.upper(), DATA) is Verdict.MATCH
    wrong = hashlib.sha512(DATA + b"x").digest()[:24].hex()
    assert _check("trunc512", wrong, DATA) is Verdict.MISMATCH
    assert parse_checksum("trunc512", hashlib.sha512(DATA).hexdigest()) is None  # not 24 bytes


@pytest.mark.parametrize("spelling", ["{}", '"{}"', 'W/"{}"', 'w/"{}"', "  {}  "])
def test_etag_quoted_upper_case_or_weak(spelling: str) -> None:
    md5 = hashlib.md5(DATA).hexdigest()
    for declared_type in ("etag", "ETag", "ETAG"):
        assert _check(declared_type, spelling.format(md5), DATA) is Verdict.MATCH
        assert _check(declared_type, spelling.format(md5.upper()), DATA) is Verdict.MATCH
        other = spelling.format(hashlib.md5(b"x").hexdigest())
        assert _check(declared_type, other, DATA) is Verdict.MISMATCH
    multipart = _s3_multipart_etag(DATA, 8 * MiB // 16)  # not a common size: cannot tell
    assert _check("etag", f'W/"{multipart}"', DATA) is Verdict.UNKNOWN


def test_unusable_declarations_are_skipped_not_fatal() -> None:
    good = ("md5", hashlib.md5(DATA).hexdigest())
    assert [e.algorithm for e in expected_checksums([("sha-256", None), good])] == ["md5"]  # type: ignore[list-item]
    assert [e.algorithm for e in expected_checksums([(None, "ab" * 16), good])] == ["md5"]  # type: ignore[list-item]
    assert expected_checksums([("crc", "1234"), ("whirlpool", "ab" * 32)]) == []
