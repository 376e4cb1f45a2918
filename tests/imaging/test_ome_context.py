"""OME-XML parses share one xsdata context (ome-types builds a fresh one per call, which costs
most of a parse); sharing must not change what any document parses to."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from ome_types import from_xml

from htan_cds.errors import ImagingError
from htan_cds.imaging import ome as ome_module
from htan_cds.imaging.ome import parse_ome_xml
from tests.conftest import shared_path


def _documents() -> list[Path]:
    folder = shared_path("data", "ome-xml")
    return sorted(folder.glob("*.ome.xml"))


def test_one_context_serves_every_parse() -> None:
    first = ome_module._parser_kwargs()
    assert first.get("context") is not None
    assert ome_module._parser_kwargs() is first


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_shared_context_parses_as_a_fresh_one(order: str) -> None:
    docs = [d for d in _documents() if d.name != "bad.ome.xml"]
    assert len(docs) >= 40
    if order == "backward":
        docs.reverse()
    for doc in docs:
        text = doc.read_text(encoding="utf-8", errors="replace")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh = from_xml(text, validate=False)  # ome-types' own parser, its own context
        assert _without_ids(parse_ome_xml(text, source=doc.name).model_dump()) == _without_ids(
            fresh.model_dump()
        ), doc.name


def _without_ids(value: Any) -> Any:
    """A model dump without ``id`` values: ome-types numbers the IDs it makes up for malformed
    ones from a process-wide counter, so two parses of one document differ only there."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_malformed_ids_are_still_refused_after_other_parses() -> None:
    # The cast warnings that reveal a malformed Channel ID come from parsing values, not from
    # building the context: a context already built by other documents must still raise.
    for doc in _documents()[:5]:
        if doc.name != "bad.ome.xml":
            parse_ome_xml(doc.read_bytes(), source=doc.name)
    bad = shared_path("data", "ome-xml", "bad.ome.xml")
    with pytest.raises(ImagingError, match="Channel ID 'InvalidName' is malformed"):
        parse_ome_xml(bad.read_bytes(), source=bad.name)
