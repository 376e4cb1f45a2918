"""The checker's bulk tests for Arrow string arrays (the million-row path of ``manifest check``).

Each test answers exactly what its list twin answers (``UriClassifier.all_full``/``all_compact``,
``names.all_plain_names``): ``True`` only when the list test would say ``True`` for the same
strings, so a ``False`` just sends the batch to the per-value checks. They run on the arrays'
buffers with NumPy (``arrow_buffers.py``): the UTF-8 bytes back to back (one ``translate``, a few
counts), lengths, first and last bytes, a shared prefix where each string starts (no Arrow compute
kernel: importing ``pyarrow.compute`` alone costs ~0.1 s). ``tests/manifest/test_arrow_reader.py``
holds both twins to the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from htan_cds.manifest.names import DEVICE_STEMS, MAX_NAME_BYTES, PLAIN_BYTES
from htan_cds.manifest.registry import ArrowColumnBatch, ColumnBatch
from htan_cds.manifest.uris import ACCESSION_BYTES, ID_BYTES, UriClassifier, crdc_prefix

_PLAIN_ONLY = PLAIN_BYTES.replace(b"\n", b"")
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
    """:meth:`UriClassifier.all_full` for an Arrow array (one shared, known-good prefix)."""
    if not len(uris):
        return True
    first = uris[0].as_py()
    slash = first.find("/", 6)
    if slash < 0:
        return False
    prefix = first[: slash + 1]
    if not classifier.good_prefix(prefix):
        return False
    found = _ids(uris, prefix.encode("utf-8"), ID_BYTES.replace(b"\n", b""))
    if found is None:
        return False
    raw, id_firsts, id_lasts = found
    if (id_firsts == 0x2F).any() or (id_firsts == 0x2E).any() or (id_lasts == 0x2F).any():
        return False
    # No empty, "/"- or "."-led or "/"-ended id: then a "/" followed by "/" or "." that is not
    # one of the prefix's own lies inside an id (a prefix starts with "d" and ends with "/", so
    # the tests above keep such a pair from straddling a prefix and an id). Overlapping pairs
    # are counted, in the data (the byte after each "/") and in the prefix alike.
    import numpy as np

    head = prefix.encode("utf-8")
    slashes = np.flatnonzero(raw[:-1] == 0x2F)
    following = raw[slashes + 1]
    pairs = int(np.count_nonzero((following == 0x2F) | (following == 0x2E)))
    own = sum(head[i] == 0x2F and head[i + 1] in b"/." for i in range(len(head) - 1))
    return bool(pairs == len(uris) * own)


def _ids(uris: Any, head: bytes, allowed: bytes) -> tuple[Any, Any, Any] | None:
    """``(data, first, last)`` when every URI is ``head`` + a non-empty id of ``allowed``
    bytes: the URIs' bytes back to back (uint8) and each id's first and last byte; else
    ``None``.

    ``head`` is compared where each URI starts; the ids' bytes are tested in one pass over all
    the data, which then holds ``head``'s bytes too, so each byte of ``head`` that an id may not
    hold must occur in the data exactly as often as the heads hold it.
    """
    import numpy as np

    from htan_cds.manifest.arrow_buffers import data_bytes, offsets

    bounds = offsets(uris)
    lengths = np.diff(bounds)
    if int(lengths.min()) <= len(head):
        return None
    raw = data_bytes(uris, bounds)
    expected = np.frombuffer(head, dtype=np.uint8)
    if int(lengths.max()) == int(lengths[0]):  # one length: rows of a strided view
        size = int(lengths[0])
        rows = np.lib.stride_tricks.as_strided(raw, (len(uris), size), (size, 1))
        if not (rows[:, : len(head)] == expected).all():
            return None
    else:
        starts = bounds[:-1] - bounds[0]
        if any((raw[starts + j] != expected[j]).any() for j in range(len(head))):
            return None
    data = raw.tobytes()
    if not data.isascii() or data.translate(None, allowed + head):
        return None
    for byte in set(head) - set(allowed):
        if int(np.count_nonzero(raw == byte)) != len(uris) * head.count(byte):
            return None
    starts = bounds - bounds[0]
    return raw, raw[starts[:-1] + len(head)], raw[starts[1:] - 1]


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
    allowed = ACCESSION_BYTES.replace(b"\n", b"")
    if _ids(uris, head.encode("utf-8"), allowed) is None:
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
    """:func:`htan_cds.manifest.names.all_plain_names` for an Arrow array."""
    if not len(names):
        return True
    import numpy as np

    from htan_cds.manifest.arrow_buffers import offsets

    bounds = offsets(names)
    lengths = np.diff(bounds)
    if int(lengths.min()) == 0 or int(lengths.max()) > MAX_NAME_BYTES:
        return False
    raw = np.frombuffer(names.buffers()[2], dtype=np.uint8)
    lasts = raw[bounds[1:] - 1]
    if ((lasts == 0x20) | (lasts == 0x2E)).any():  # a trailing space or dot
        return False
    text = raw[bounds[0] : bounds[-1]].tobytes()
    if not text.isascii() or text.translate(None, _PLAIN_ONLY):  # "\n" is not plain here
        return False
    # The first three letters of each name (ASCII here), upper-cased, against the device stems.
    long = bounds[:-1][lengths >= 3]
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
