"""Every compact or hostname spelling of one id normalises to the one hostname URI the prefix
registry gives (DRS 1.5 "Compact Identifier-based DRS URIs"), never with a doubled prefix."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.drs import builtin_registry, normalize_drs_uri, parse_drs_uri
from htan_cds.drs.prefixes import PrefixEntry, PrefixRegistry

# Prefixes of real commons (terra-drs-hub's compactIdHosts) plus one from config.toml.
PREFIXES = {
    "dg.4DFC": "nci-crdc.datacommons.io",
    "dg.4503": "gen3.biodatacatalyst.nhlbi.nih.gov",
    "dg.ANV0": "gen3.theanvil.io",
    "dg.F82A1A": "data.kidsfirstdrc.org",
    "dg.TEST1": "drs.example.org",
}


def _registry() -> PrefixRegistry:
    registry = builtin_registry()
    registry.register(PrefixEntry("dg.TEST1", "drs.example.org"))
    return registry


def _case(text: str, flips: list[bool]) -> str:
    padded = flips + [False] * len(text)
    return "".join(c.swapcase() if f else c for c, f in zip(text, padded, strict=False))


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    prefix = draw(st.sampled_from(sorted(PREFIXES)))
    accession = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    flips = draw(st.lists(st.booleans(), max_size=len(prefix)))
    written = _case(prefix, flips)  # prefixes are case-insensitive
    repeat = draw(st.booleans())  # an accession that repeats the prefix
    acc = f"{_case(prefix, flips[::-1])}/{accession}" if repeat else accession
    provider = draw(st.sampled_from(["", "crdc/", "n2t/"]))
    form = draw(st.integers(0, 6))
    text = [
        f"drs://{provider}{written}:{acc}",
        f"{provider}{written}:{acc}",
        f"drs://{written}/{acc}",
        f"{written}/{acc}",
        f"drs://{PREFIXES[prefix]}/{prefix}/{accession}",
        f"drs://{PREFIXES[prefix].upper()}/{prefix}/{accession}",
        f"  drs://{written}:{acc}\n",
    ][form]
    return text, f"drs://{PREFIXES[prefix]}/{prefix}/{accession}"


@given(spellings())
@settings(max_examples=400, deadline=None)
def test_every_spelling_normalises_to_the_one_hostname_uri(case: tuple[str, str]) -> None:
    text, want = case
    got = str(normalize_drs_uri(text, _registry()))
    assert got == want
    # Idempotent, and no doubled prefix whatever the input.
    assert str(normalize_drs_uri(got, _registry())) == want
    assert got.lower().count("dg.") == 1
    assert parse_drs_uri(got).host == want.split("/")[2]


def test_the_real_isb_cgc_compact_ids(shared: Path) -> None:
    import csv

    compact = shared / "data/manifests/isb-cgc_gc_imaging_manifest_compact_uri.csv"
    full = shared / "data/manifests/isb-cgc_cds_imaging_manifest_full_uri.csv"
    with compact.open() as a, full.open() as b:
        by_name = {r["name"]: r["drs_uri"] for r in csv.DictReader(b)}
        rows = list(csv.DictReader(a))
    assert len(rows) == 30
    for row in rows:
        assert str(normalize_drs_uri(row["drs_uri"])) == by_name[row["name"]]
        accession = row["drs_uri"].split("/", 1)[1]
        assert str(normalize_drs_uri(f"dg.4dfc:dg.4DFC/{accession}")) == by_name[row["name"]]


def test_unknown_prefix_hint_names_the_config_section_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests._servers import free_port
    from tests.conftest import run_cli

    # identifiers.org and n2t.net stand-ins that refuse: nothing leaves the machine.
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HTAN_CDS_IDENTIFIERS_URL", dead)
    monkeypatch.setenv("HTAN_CDS_N2T_URL", dead)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    home = tmp_path / "home"
    result = run_cli("info", "drs://dg.NOPE99:abc", home=home)
    assert result.returncode != 0
    assert "[drs.prefixes]" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_manifest_commands_read_drs_prefixes_from_config(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[drs.prefixes]\n"dg.LAB7" = "drs.lab.example.org"\n')
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,drs_uri\na.tif,dg.LAB7/abc-1\nb.tif,dg.lab7:dg.LAB7/abc-2\n")
    check = run_cli("manifest", "check", str(manifest), "--json", home=home)
    assert "unknown" not in check.stdout.lower(), check.stdout
    out = tmp_path / "cgc.csv"
    convert = run_cli(
        "manifest", "convert", str(manifest), "--to", "cgc", "--fix", "-o", str(out), home=home
    )
    assert convert.returncode == 0, convert.stderr
    text = out.read_text()
    assert "drs://drs.lab.example.org/dg.LAB7/abc-1" in text
    assert "drs://drs.lab.example.org/dg.LAB7/abc-2" in text
    # Without the section the prefix is unknown, and the hint names the section intact.
    bare = tmp_path / "bare"
    bare.mkdir()
    plain = run_cli("manifest", "check", str(manifest), home=bare)
    assert plain.returncode == 1 and "[drs.prefixes]" in plain.stdout + plain.stderr
