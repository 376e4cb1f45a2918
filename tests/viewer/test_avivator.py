"""The "Open in Avivator" link: a signed URL ending in the file's name, whose bytes honour
Range (via the signed bytes route) and whose ``.offsets.json`` sibling — the file Avivator
(hms-dbmi/viv, avivator/src/utils.js) derives by replacing ``ome.tif`` — lists the IFD offsets
(viv's createOffsetsProxy format)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
import tifffile
from fastapi.testclient import TestClient

from htan_cds.server.named_bytes import AVIVATOR_URL, named_url, offsets_name
from htan_cds.server.tokens import TokenStore
from tests.viewer._commons import GROUP, ViewerCommons


def avivator_href(client: TestClient, drs_id: str, headers: dict[str, str] | None = None) -> str:
    page = client.get(f"/view/{drs_id}", headers=headers or {})
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'href="([^"]+)"[^>]*data-testid="avivator-link"', page.text)
    assert match, "no Avivator link on the page"
    return match.group(1).replace("&amp;", "&")


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_link_passes_a_signed_url_ending_in_the_file_name(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    entry = viewer_commons.entries["cycif"]
    href = avivator_href(client, entry.drs_id)
    assert href.startswith(AVIVATOR_URL + "?image_url=")
    image_url = parse_qs(urlsplit(href).query)["image_url"][0]
    path = urlsplit(image_url).path
    assert unquote(path).endswith("/" + entry.name) and "ome.tif" in image_url
    assert "sig=" in image_url and "expires=" in image_url
    # Range reads through the redirect to the signed bytes route.
    data = entry.path.read_bytes()
    r = client.get(local(image_url), headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.content == data[:100]
    # Avivator's own derivation of the offsets URL (String.replace of /ome\.tif(f?)/gi).
    offsets_url = re.sub(r"ome\.tif(f?)", "offsets.json", image_url, flags=re.IGNORECASE)
    offsets = client.get(local(offsets_url))
    assert offsets.status_code == 200
    with tifffile.TiffFile(entry.path) as tf:
        assert offsets.json() == [page.offset for page in tf.pages]
    assert len(offsets.json()) == 44  # one top-level IFD per channel; levels are SubIFDs


def test_pages_layout_offsets_cover_every_level(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    token = TokenStore(viewer_commons.home).create([GROUP], label="avivator test")
    entry = viewer_commons.entries["pages"]
    auth = {"Authorization": f"Bearer {token}"}
    # The page of a controlled image needs the grant; without it there is no link at all.
    anonymous = client.get(f"/view/{entry.drs_id}")
    assert anonymous.status_code == 401 and "avivator" not in anonymous.text.lower()
    href = avivator_href(client, entry.drs_id, auth)
    image_url = parse_qs(urlsplit(href).query)["image_url"][0]
    offsets_url = re.sub(r"ome\.tif(f?)", "offsets.json", image_url)
    with tifffile.TiffFile(entry.path) as tf:
        assert client.get(local(offsets_url)).json() == [p.offset for p in tf.pages]
        assert len(tf.pages) == 3 * 4  # 3 channels x 4 levels as top-level pages


def test_signature_binds_the_object_and_expiry(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    entry = viewer_commons.entries["mif"]
    key = viewer_commons.home.secret_key()
    url = local(named_url("http://127.0.0.1:8000", key, entry.drs_id, entry.name, 60))
    assert client.get(url, follow_redirects=False).status_code == 307
    other = viewer_commons.entries["he"]
    moved = url.replace(quote(entry.drs_id, safe=""), quote(other.drs_id, safe=""))
    assert client.get(moved).status_code == 403
    assert client.get(re.sub(r"sig=[^&]+", "sig=AAAA", url)).status_code == 403
    expired = local(named_url("http://127.0.0.1:8000", key, entry.drs_id, entry.name, -5))
    assert client.get(expired).status_code == 403
    wrong_name = url.replace(quote(entry.name), "other.ome.tif")
    assert client.get(wrong_name).status_code == 404


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.ome.tif", "a.offsets.json"),
        ("a.OME.TIFF", "a.offsets.json"),
        ("slide.svs", None),
        ("x.tif", None),
    ],
)
def test_offsets_name(name: str, expected: str | None) -> None:
    assert offsets_name(name) == expected
