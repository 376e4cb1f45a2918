"""DRS URI parsing, formatting and normalization, including property-based round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from htan_cds.drs import (
    DrsUriKind,
    PrefixEntry,
    builtin_registry,
    make_drs_uri,
    normalize_drs_uri,
    parse_drs_uri,
)
from htan_cds.errors import InvalidDrsUri, UnknownPrefix

UUID = "624649d2-7e68-11ee-8f1d-c3303a8d2065"


def test_full_crdc_uri() -> None:
    uri = parse_drs_uri(f"drs://nci-crdc.datacommons.io/dg.4DFC/{UUID}")
    assert uri.kind is DrsUriKind.HOSTNAME
    assert uri.host == "nci-crdc.datacommons.io"
    assert uri.object_id == f"dg.4DFC/{UUID}"
    assert uri.resolution_url() == (
        f"https://nci-crdc.datacommons.io/ga4gh/drs/v1/objects/dg.4DFC/{UUID}"
    )


@pytest.mark.parametrize("text", [f"dg.4DFC/{UUID}", f"drs://dg.4DFC/{UUID}", f" dg.4DFC/{UUID}\n"])
def test_crdc_compact_forms_normalize_to_full(text: str) -> None:
    uri = parse_drs_uri(text)
    assert uri.kind is DrsUriKind.CRDC and uri.is_compact
    full = normalize_drs_uri(uri)
    assert str(full) == f"drs://nci-crdc.datacommons.io/dg.4DFC/{UUID}"


def test_colon_compact_with_and_without_provider() -> None:
    uri = parse_drs_uri("drs://drs.42:314159")
    assert (uri.kind, uri.prefix, uri.accession, uri.provider) == (
        DrsUriKind.COMPACT,
        "drs.42",
        "314159",
        None,
    )
    with_provider = parse_drs_uri("drs://ebi/drs.42:314159")
    assert with_provider.provider == "ebi" and with_provider.prefix == "drs.42"
    with pytest.raises(UnknownPrefix):
        normalize_drs_uri(uri)
    registry = builtin_registry()
    registry.register(PrefixEntry("drs.42", "drs.example.org", id_template="{accession}"))
    assert str(normalize_drs_uri(uri, registry)) == "drs://drs.example.org/314159"


def test_loopback_with_port_uses_http() -> None:
    uri = parse_drs_uri("drs://127.0.0.1:8000/dg.HCDS/abc")
    assert uri.kind is DrsUriKind.HOSTNAME and uri.port == 8000
    assert uri.resolution_url() == "http://127.0.0.1:8000/ga4gh/drs/v1/objects/dg.HCDS/abc"
    assert parse_drs_uri("drs://localhost:9/x").is_loopback


@pytest.mark.parametrize(
    "text",
    [
        "drs://nci-crdc.datacommons.io:443/dg.4DFC/abc",
        "drs://NCI-CRDC.datacommons.io:0443/dg.4DFC/abc",
    ],
)
def test_the_default_https_port_names_the_same_object(text: str) -> None:
    """DRS 1.5 hostname URIs resolve over https (port 443), so an explicit :443 is dropped."""
    uri = parse_drs_uri(text)
    assert str(uri) == "drs://nci-crdc.datacommons.io/dg.4DFC/abc" and uri.port is None
    assert uri.resolution_url().startswith("https://nci-crdc.datacommons.io/ga4gh/")


def test_percent_encoded_ids_are_decoded_and_reencoded() -> None:
    uri = parse_drs_uri("drs://drs.example.org/a%20b%3Fc")
    assert uri.object_id == "a b?c"
    assert str(uri) == "drs://drs.example.org/a%20b%3Fc"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "https://example.org/x",
        "s3://bucket/key",
        "drs://",
        "drs://host.example.org",
        "drs://host.example.org/",
        "drs://bad_host!/x",
        "drs://host.example.org/a/../b",
        "drs://example.org:8000/x",  # ports only for loopback
        "drs://example.org:80/x",  # not the https port DRS resolves on
        "drs://dg.4DFC:443/abc",  # a compact prefix is not a host: ":443/abc" is ambiguous
        "drs://host/with space",
        "dg.4DFC/",
        "dg.4DFC/a/b",
        "just-a-name.tif",
    ],
)
def test_invalid_uris_raise_with_reason(bad: str) -> None:
    with pytest.raises(InvalidDrsUri) as info:
        parse_drs_uri(bad)
    assert str(info.value)


_unreserved = st.text(
    alphabet=st.characters(whitelist_categories=(), whitelist_characters="abcXYZ019.-_~"),
    min_size=1,
    max_size=20,
).filter(lambda s: s not in (".", ".."))
_segment = st.text(min_size=1, max_size=12).filter(
    lambda s: (
        s not in (".", "..")
        and "/" not in s
        and all(ord(c) >= 0x20 and ord(c) != 0x7F for c in s)
        and s.strip() == s
    )
)
_host = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z][a-z0-9]{1,8}){1,3}\Z")


@given(host=_host, segments=st.lists(_segment, min_size=1, max_size=3))
def test_hostname_round_trip(host: str, segments: list[str]) -> None:
    uri = make_drs_uri(host, "/".join(segments))
    assert parse_drs_uri(str(uri)) == uri
    assert normalize_drs_uri(normalize_drs_uri(uri)) == normalize_drs_uri(uri)


@given(accession=_unreserved, bare=st.booleans())
def test_crdc_round_trip_and_idempotent_normalize(accession: str, bare: bool) -> None:
    text = f"dg.4DFC/{accession}" if bare else f"drs://dg.4DFC/{accession}"
    uri = parse_drs_uri(text)
    assert parse_drs_uri(str(uri)) == uri
    once = normalize_drs_uri(uri)
    assert normalize_drs_uri(str(once)) == once
    assert once.object_id == f"dg.4DFC/{accession}"


@given(text=st.text(max_size=60))
def test_parser_never_crashes(text: str) -> None:
    try:
        uri = parse_drs_uri(text)
    except InvalidDrsUri:
        return
    assert parse_drs_uri(str(uri)) == uri


def test_crdc_prefix_in_any_case_round_trips_and_normalizes_to_canonical_case() -> None:
    uri = parse_drs_uri(f"drs://DG.4dfc/{UUID}")
    assert uri.kind is DrsUriKind.CRDC
    assert parse_drs_uri(str(uri)) == uri
    assert normalize_drs_uri(uri).object_id == f"dg.4DFC/{UUID}"


# What copying from web pages, PDFs, chat and word processors puts into long strings: zero-width
# space, soft hyphen, word joiner, byte-order mark, left-to-right mark, zero-width non-joiner.
_INVISIBLE = ["\u200b", "\u00ad", "\u2060", "\ufeff", "\u200e", "\u200c"]


@given(
    text=st.sampled_from(
        [
            f"drs://nci-crdc.datacommons.io/dg.4DFC/{UUID}",
            f"dg.4DFC/{UUID}",
            f"drs://dg.4DFC/{UUID}",
            "drs://example.org:ABC123",
            "drs://127.0.0.1:8000/abc-1",
        ]
    ),
    marks=st.lists(st.tuples(st.integers(0, 200), st.sampled_from(_INVISIBLE)), max_size=4),
    spaces=st.sampled_from(["", " ", "\u00a0", "\t"]),
)
def test_invisible_characters_from_copying_are_not_part_of_the_uri(
    text: str, marks: list[tuple[int, str]], spaces: str
) -> None:
    pasted = text
    for position, mark in marks:
        position %= len(pasted) + 1
        pasted = pasted[:position] + mark + pasted[position:]
    assert parse_drs_uri(spaces + pasted + spaces) == parse_drs_uri(text)


def test_an_encoded_format_character_stays_in_the_id() -> None:
    """Written percent-encoded, it is the writer's intent, not a paste artefact."""
    uri = parse_drs_uri("drs://example.org/a%E2%80%8Bb")
    assert uri.object_id == "a\u200bb"
    assert parse_drs_uri(str(uri)) == uri
