"""The checker's bulk tests for Arrow string arrays (the million-row path of ``manifest check``).

Each test answers exactly what its list twin answers (``UriClassifier.all_full``/``all_compact``,
``names.all_plain_names``): ``True`` only when the list test would say ``True`` for the same
strings, so a ``False`` just sends the batch to the per-value checks. The twins run the same
scans (``count``, ``replace``, ``translate``, ``in``) on the array's UTF-8 bytes joined by
``\n`` (one Arrow ``binary_join``) that the list tests run on the joined ``str``; first bytes and
lengths come from the buffers (``arrow_buffers.py``). ``tests/manifest/test_arrow_reader.py``
holds both twins to the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from htan_cds.manifest.names import DEVICE_STEMS, MAX_NAME_BYTES, PLAIN_BYTES
from htan_cds.manifest.registry import ArrowColumnBatch, ColumnBatch
from htan_cds.manifest.uris import (
    ACCESSION_BYTES,
    BAD_ID_PAIRS,
    ID_BYTES,
    UriClassifier,
    crdc_prefix,
)

_BAD_PAIRS = tuple(pair.encode("ascii") for pair in BAD_ID_PAIRS)
_DEVICE_KEYS = [int.from_bytes(stem.encode("ascii"), "big") for stem in sorted(DEVICE_STEMS)]


def clean_starts(uris: Any, others: Sequence[Any]) -> bool:
    """True when every URI starts with printable ASCII other than ``'`` (so it is not blank
    and not a formula escape) and no value of ``others`` starts with ``'``."""
    if not len(uris):
        return False
    from htan_cds.manifest.arrow_buffers import first_bytes

    firsts = first_bytes(uris)
    if ((firsts < 0x21) | (firsts > 0x7E) | (firsts == 0x27)).any():
        return False
    return not any((first_bytes(col) == 0x27).any() for col in others)


def arrow_all_full(uris: Any, classifier: UriClassifier) -> bool:
    """:meth:`UriClassifier.all_full` for an Arrow array (one shared, known-good prefix).

    The same scans as the list twin, on the UTF-8 bytes of the URIs joined by ``\n``.
    """
    if not len(uris):
        return True
    first = uris[0].as_py()
    slash = first.find("/", 6)
    if slash < 0:
        return False
    prefix = first[: slash + 1]
    if not classifier.good_prefix(prefix):
        return False
    ids = _ids(_joined(uris), len(uris) - 1, prefix.encode("utf-8"))
    return ids is not None and not (
        not ids.isascii()
        or ids.translate(None, ID_BYTES)
        or any(pair in ids for pair in _BAD_PAIRS)
        or ids.startswith((b"/", b".", b"\n"))
        or ids.endswith((b"/", b"\n"))
        or not ids
    )


def _joined(array: Any) -> bytes:
    from htan_cds.manifest.arrow_buffers import joined

    return joined(array)


def _ids(text: bytes, lines: int, head: bytes) -> bytes | None:
    """The ids after ``head`` joined by ``\n``, when each of the ``lines + 1`` lines starts
    with ``head`` and none holds a line break of its own."""
    if text.count(b"\n") != lines or text.count(b"\n" + head) != lines:
        return None
    if not text.startswith(head):
        return None
    return text[len(head) :].replace(b"\n" + head, b"\n")


def arrow_all_compact(uris: Any, classifier: UriClassifier) -> tuple[str, str] | None:
    """:meth:`UriClassifier.all_compact` for an Arrow array: ``(head, base)`` or ``None``."""
    if not len(uris):
        return None
    first = uris[0].as_py()
    slash = first.find("/")
    if slash < 0 or not crdc_prefix(first[:slash]):
        return None
    head = first[: slash + 1]
    base = classifier.crdc_base(first[:slash])
    if base is None:
        return None
    ids = _ids(_joined(uris), len(uris) - 1, head.encode("utf-8"))
    if (
        ids is None
        or not ids.isascii()
        or ids.translate(None, ACCESSION_BYTES)
        or b"\n\n" in ids
        or not ids
        or ids.startswith(b"\n")
        or ids.endswith(b"\n")
    ):
        return None
    return head, base


def arrow_with_base(uris: Any, cut: int, base: str) -> Any:
    """``base + uri[cut:]`` for every URI of an all-compact batch (its full forms).

    In the data buffer each URI's head (``dg.XXXX/``, the only ``/`` of the URI: accessions
    hold none) is replaced by ``base`` in one bytes pass.
    """
    import numpy as np

    from htan_cds.manifest.arrow_buffers import data_bytes, offsets, string_array

    bounds = offsets(uris)
    raw = data_bytes(uris, bounds).tobytes()
    head = raw[:cut]
    grown = len(base.encode("utf-8")) - cut
    data = raw.replace(head, base.encode("utf-8"))
    return string_array(bounds - bounds[0] + np.arange(len(bounds)) * grown, data)


def arrow_all_plain_names(names: Any) -> bool:
    """:func:`htan_cds.manifest.names.all_plain_names` for an Arrow array (the same scans on
    the names' UTF-8 bytes joined by ``\n``)."""
    if not len(names):
        return True
    import numpy as np

    from htan_cds.manifest.arrow_buffers import joined, offsets

    bounds = offsets(names)
    lengths = np.diff(bounds)
    if int(lengths.min()) == 0 or int(lengths.max()) > MAX_NAME_BYTES:
        return False
    text = joined(names)
    if not text.isascii() or text.count(b"\n") != len(names) - 1:
        return False
    if b" \n" in text or b".\n" in text or text.endswith((b" ", b".")):
        return False
    if text.translate(None, PLAIN_BYTES):
        return False
    # The first three letters of each name (ASCII here), upper-cased, against the device stems.
    long = bounds[:-1][lengths >= 3]
    raw = np.frombuffer(names.buffers()[2], dtype=np.uint8)
    key = np.zeros(len(long), dtype=np.int64)
    for k in range(3):
        byte = raw[long + k].astype(np.int64)
        byte -= ((byte >= 0x61) & (byte <= 0x7A)) * 0x20
        key = (key << 8) | byte
    return not np.isin(key, _DEVICE_KEYS).any()


def arrow_to_lists(batch: ArrowColumnBatch) -> ColumnBatch:
    """The same rows as a list :class:`ColumnBatch` (for a checker hashing with ``hash``)."""
    count = len(batch)
    blanks = [""] * count
    return ColumnBatch(
        batch.uris.to_pylist(),
        batch.names.to_pylist() if batch.names is not None else blanks,
        batch.keys.to_pylist() if batch.keys is not None else list(blanks),
        list(range(batch.first, batch.first + count)),
    )
