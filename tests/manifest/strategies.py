"""Hypothesis strategies the manifest property tests share: cell text and DRS URIs.

Each test adds the odd values that matter to the path it checks (``drs_uris(*others)``); the
well-formed HTAN URIs, the cell alphabet and the parser's odd URIs (``any_uri``) live here once.
"""

from __future__ import annotations

from hypothesis import strategies as st

# Printable text plus tabs, quotes, commas and line breaks; no NUL or lone surrogates, which no
# manifest file can carry.
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
uuids = st.uuids().map(str)
# An HTAN object on the CRDC DRS server, hostname form and compact (``dg.4DFC``) form.
FULL = "drs://nci-crdc.datacommons.io/dg.4DFC/"
full_uri = uuids.map(lambda u: FULL + u)
compact_uri = uuids.map(lambda u: f"dg.4DFC/{u}")


def cells(max_size: int) -> st.SearchStrategy[str]:
    """Any cell text of at most ``max_size`` characters (also empty)."""
    return st.text(CHARS, max_size=max_size)


def drs_uris(*others: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Full and compact HTAN URIs, or a value of one of ``others`` (a test's odd values)."""
    return st.one_of(full_uri, compact_uri, *others)


# What the URI parser meets besides HTAN's own forms: other hosts, schemes, ports, blanks.
other_uri = st.sampled_from(
    [
        "drs://example.org/abc",
        "drs://localhost:8000/dg.HCDS/x",
        "drs://DG.4DFC/abc",
        "drs://nci-crdc.datacommons.io/dg.4DFC/a%20b",
        "https://example.org/file",
        "s3://bucket/key",
        "",
        "  ",
        "drs://dg.ANV0/abc",
        "drs://host:443/x",
        "drs://n2t.net/fake:1234",
        "not a uri",
    ]
)
any_uri = drs_uris(other_uri, cells(20))
