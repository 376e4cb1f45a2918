"""The checker's bulk tests for Arrow string arrays (the million-row path of ``manifest check``).

Each test answers exactly what its list twin answers (``UriClassifier.all_full``/``all_compact``,
``names.all_plain_names``): ``True`` only when the list test would say ``True`` for the same
strings, so a ``False`` just sends the batch to the per-value checks. The allowed characters are
tested on the array's UTF-8 data buffer in one pass (``bytes.translate``), the rest with Arrow
compute kernels; ``tests/manifest/test_arrow_reader.py`` holds both twins to the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from htan_cds.manifest.names import DEVICE_STEMS, MAX_NAME_BYTES, PLAIN_BYTES
from htan_cds.manifest.registry import ArrowColumnBatch, ColumnBatch
from htan_cds.manifest.uris import ACCESSION_BYTES, ID_BYTES, UriClassifier, crdc_prefix

_ID_ONLY = ID_BYTES.replace(b"\n", b"")
_ACCESSION_ONLY = ACCESSION_BYTES.replace(b"\n", b"")
_PLAIN_ONLY = PLAIN_BYTES.replace(b"\n", b"")


def _pc() -> Any:
    import pyarrow.compute as pc

    return pc


def _data(array: Any) -> bytes:
    """The UTF-8 bytes of every string of ``array``, back to back (one copy)."""
    import numpy as np

    if not len(array):
        return b""
    offsets_buffer, data = array.buffers()[1], array.buffers()[2]
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(array) + 1,
                            offset=array.offset * 4)  # fmt: skip
    start, end = int(offsets[0]), int(offsets[-1])
    return b"" if data is None or start == end else bytes(memoryview(data)[start:end])


def clean_starts(uris: Any, others: Sequence[Any]) -> bool:
    """True when every URI starts with printable ASCII other than ``'`` (so it is not blank
    and not a formula escape) and no value of ``others`` starts with ``'``."""
    import numpy as np

    pc = _pc()
    offsets = np.frombuffer(uris.buffers()[1], dtype=np.int32, count=len(uris) + 1,
                            offset=uris.offset * 4)  # fmt: skip
    if not len(uris) or uris.buffers()[2] is None or (np.diff(offsets) == 0).any():
        return False
    firsts = np.frombuffer(uris.buffers()[2], dtype=np.uint8)[offsets[:-1]]
    if ((firsts < 0x21) | (firsts > 0x7E) | (firsts == 0x27)).any():
        return False
    return not any(pc.any(pc.starts_with(col, "'")).as_py() for col in others)


def _any(pc: Any, mask: Any) -> bool:
    return bool(pc.any(mask).as_py())


def _ids(uris: Any, head: str) -> tuple[Any, bytes] | None:
    """The ids after ``head`` (an array) and their bytes back to back, when every URI starts
    with ``head`` and no id is empty."""
    pc = _pc()
    if not pc.all(pc.starts_with(uris, head)).as_py():
        return None
    ids = pc.utf8_slice_codeunits(uris, len(head))
    if pc.min(pc.binary_length(ids)).as_py() == 0:
        return None
    return ids, _data(ids)


def arrow_all_full(uris: Any, classifier: UriClassifier) -> bool:
    """:meth:`UriClassifier.all_full` for an Arrow array (one shared, known-good prefix)."""
    if not len(uris):
        return True
    first = uris[0].as_py()
    slash = first.find("/", 6)
    if slash < 0:
        return False
    prefix = first[: slash + 1]
    if not classifier.good_prefix(prefix) or (found := _ids(uris, prefix)) is None:
        return False
    ids, data = found
    pc = _pc()
    # Inside an id: only id bytes, no empty or dot-led segment. Across two ids "//" or "/."
    # needs an id ending with "/", which the last test refuses anyway.
    return not (
        data.translate(None, _ID_ONLY)
        or b"//" in data
        or b"/." in data
        or _any(pc, pc.starts_with(ids, "/"))
        or _any(pc, pc.starts_with(ids, "."))
        or _any(pc, pc.ends_with(ids, "/"))
    )


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
    if base is None or (found := _ids(uris, head)) is None:
        return None
    return None if found[1].translate(None, _ACCESSION_ONLY) else (head, base)


def arrow_with_base(uris: Any, cut: int, base: str) -> Any:
    """``base + uri[cut:]`` for every URI (the full forms of an all-compact batch)."""
    import pyarrow as pa

    pc = _pc()
    rest = pc.utf8_slice_codeunits(uris, cut)
    return pc.binary_join_element_wise(pa.scalar(base), rest, "")


def arrow_all_plain_names(names: Any) -> bool:
    """:func:`htan_cds.manifest.names.all_plain_names` for an Arrow array."""
    if not len(names):
        return True
    import pyarrow as pa

    pc = _pc()
    lengths = pc.binary_length(names)
    if pc.min(lengths).as_py() == 0 or pc.max(lengths).as_py() > MAX_NAME_BYTES:
        return False
    if _data(names).translate(None, _PLAIN_ONLY):
        return False
    if _any(pc, pc.ends_with(names, " ")) or _any(pc, pc.ends_with(names, ".")):
        return False
    stems = pc.utf8_upper(pc.utf8_slice_codeunits(names, 0, 3))
    return not _any(pc, pc.is_in(stems, value_set=pa.array(sorted(DEVICE_STEMS))))


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
