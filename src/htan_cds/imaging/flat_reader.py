"""PNG and JPEG images (no tiles, no pyramid): decoded whole once, up to a size cap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from htan_cds.errors import HtanCdsError, ImagingError
from htan_cds.imaging.model import Channel, ImageInfo, Level
from htan_cds.imaging.region_reader import ReadStats, Sampling, sample_count
from htan_cds.imaging.sources import ByteSource

# PNG/JPEG have no tiles: they are decoded whole, so only images up to this size are served.
MAX_FLAT_PIXELS = 1 << 26
MAX_FLAT_BYTES = 256 * 1024 * 1024  # the file is read whole: refuse before reading, not after


class FlatImageReader:
    """A PNG or JPEG decoded whole (bounded by :data:`MAX_FLAT_PIXELS`), one level."""

    def __init__(self, source: ByteSource, name: str) -> None:
        import io

        from PIL import Image

        self.source = source
        self.stats = ReadStats()
        if source.size > MAX_FLAT_BYTES:
            raise ImagingError(f"{name}: a {source.size} byte PNG/JPEG is too large to serve")
        data = source.read_range(0, source.size)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_FLAT_PIXELS:
                raise ImagingError(
                    f"{name}: {width}x{height} pixels is too large to serve without a pyramid"
                )
            rgb = image.convert("RGB") if image.mode not in ("L", "I;16", "I") else None
            pixels = np.asarray(rgb if rgb is not None else image)
        except HtanCdsError:
            raise
        except Exception as exc:
            raise ImagingError(f"{name}: not a readable image ({exc})") from exc
        self.rgb = pixels.ndim == 3
        self.pixels = np.moveaxis(pixels, -1, 0) if self.rgb else pixels[None]
        self.dtype: np.dtype[Any] = self.pixels.dtype
        fmt = (image.format or "image").lower()
        self.info = ImageInfo(
            source=name,
            format=fmt,
            size_x=width,
            size_y=height,
            size_c=3 if self.rgb else 1,
            pixel_type=self.dtype.name,
            rgb=self.rgb,
            channels=[
                Channel(
                    index=0,
                    name="RGB" if self.rgb else "Gray",
                    samples_per_pixel=3 if self.rgb else 1,
                )
            ],
            levels=[Level(index=0, width=width, height=height, downsample=1.0)],
            file_size=source.size,
        )

    @property
    def levels(self) -> list[Level]:
        return self.info.levels

    @property
    def channel_count(self) -> int:
        return 1

    def cost(self, level: int, n_channels: int, ys: Sampling, xs: Sampling) -> int:
        return sample_count(ys) * sample_count(xs) * (3 if self.rgb else 1)

    def read(
        self,
        level: int,
        channels: Sequence[int],
        ys: Sampling,
        xs: Sampling,
        *,
        z: int | None = None,
        t: int | None = None,
    ) -> npt.NDArray[Any]:
        """Samples of the decoded image: ``(3 or 1, ny, nx)``."""
        del level, channels, z, t
        return np.ascontiguousarray(self.pixels[:, slice(*ys), slice(*xs)])

    def close(self) -> None:
        self.source.close()
