"""OME-XML: parse with ome-types, check what we rely on, and copy it into an ImageInfo."""

from __future__ import annotations

import functools
import re
import warnings
from typing import TYPE_CHECKING, Any

from htan_cds.errors import ImagingError
from htan_cds.imaging.model import Channel, ImageInfo

if TYPE_CHECKING:
    from ome_types import OME

# ome-types casts malformed IDs with a warning; for these element types a malformed ID means the
# document's image description itself is broken, so we refuse it (other IDs are only noted).
_STRICT_ID_KINDS = ("Image", "Pixels", "Channel")
_CAST_RE = re.compile(r"Casting invalid (\w+)ID '([^']*)'")


@functools.cache
def _parser_kwargs() -> Any:  # ome-types' ParserKwargs
    """One xsdata context for every parse. ome-types makes a fresh ``XmlParser`` per
    ``from_xml`` call, whose new context rebuilds the metadata of every OME model class it
    meets: about two thirds of a parse (an 8-channel OME-XML: 17-18 ms CPU per parse with a
    fresh context, 6-7 ms with this one, at load 10). The context only caches that metadata,
    so sharing it across parses and threads changes nothing else."""
    try:  # the pydantic flavour ome-types' own parser uses (its xsdata bindings)
        from xsdata_pydantic_basemodel.bindings import XmlContext
    except ImportError:  # another ome-types backend: let it build its context per parse
        return {}
    return {"context": XmlContext()}


def parse_ome_xml(text: str | bytes, *, source: str = "OME-XML") -> OME:
    """Parse an OME-XML document; raise ImagingError with one clear line if it is unusable."""
    return parse_ome_xml_with_notes(text, source=source)[0]


def parse_ome_xml_with_notes(
    text: str | bytes, *, source: str = "OME-XML"
) -> tuple[OME, list[str]]:
    """Parse an OME-XML document and return it with the schema slips that were tolerated.

    Documents in older schemas (2008-09 … 2015-01) are upgraded by ome-types (needs lxml).
    Malformed Image/Pixels/Channel IDs and a channel count that contradicts SizeC are errors;
    other schema slips (e.g. a free-text Detector ID) are kept as warnings on the result.
    """
    from ome_types import from_xml

    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ome = from_xml(text, validate=False, parser_kwargs=_parser_kwargs())
        except ImagingError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImagingError(f"{source}: not valid OME-XML: {first}") from exc
    notes: list[str] = []
    for item in caught:
        message = str(item.message)
        match = _CAST_RE.search(message)
        if match and match.group(1) in _STRICT_ID_KINDS:
            raise ImagingError(
                f"{source}: invalid OME-XML: {match.group(1)} ID {match.group(2)!r} is malformed"
            )
        if match:
            notes.append(message)
    _check_channels(ome, source)
    return ome, notes


def _check_channels(ome: OME, source: str) -> None:
    for image in ome.images:
        pixels = image.pixels
        if not pixels.channels:
            continue
        samples = sum(c.samples_per_pixel or 1 for c in pixels.channels)
        if samples != pixels.size_c and len(pixels.channels) != pixels.size_c:
            raise ImagingError(
                f"{source}: invalid OME-XML: image {image.id} declares SizeC={pixels.size_c} "
                f"but describes {len(pixels.channels)} channel(s)"
            )


def _enum_value(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _hex_color(channel: Any) -> str | None:
    # ome-types fills a default colour; only an explicit Color attribute means something.
    if "color" not in channel.model_fields_set or channel.color is None:
        return None
    r, g, b = channel.color.as_rgb_tuple(alpha=False)
    return f"#{r:02x}{g:02x}{b:02x}"


def channels_from_ome(ome: OME, image_index: int = 0) -> list[Channel]:
    """The channels of one image, in order."""
    pixels = ome.images[image_index].pixels
    return [
        Channel(
            index=i,
            id=c.id,
            name=c.name or None,
            color=_hex_color(c),
            samples_per_pixel=c.samples_per_pixel or 1,
            fluorophore=c.fluor,
            excitation_wavelength=c.excitation_wavelength,
            emission_wavelength=c.emission_wavelength,
        )
        for i, c in enumerate(pixels.channels)
    ]


def _instrument(ome: OME, image_index: int) -> tuple[str | None, str | None, float | None]:
    """Microscope, objective and nominal magnification referenced by the image, if any."""
    image = ome.images[image_index]
    instrument = None
    if image.instrument_ref is not None:
        instrument = next((i for i in ome.instruments if i.id == image.instrument_ref.id), None)
    if instrument is None and len(ome.instruments) == 1:
        instrument = ome.instruments[0]
    if instrument is None:
        return None, None, None
    microscope = None
    if instrument.microscope is not None:
        parts = [instrument.microscope.manufacturer, instrument.microscope.model]
        microscope = " ".join(p for p in parts if p) or None
    objective = None
    if instrument.objectives:
        wanted = image.objective_settings.id if image.objective_settings else None
        objective = next((o for o in instrument.objectives if o.id == wanted), None)
        objective = objective or instrument.objectives[0]
    if objective is None:
        return microscope, None, None
    name = " ".join(p for p in (objective.manufacturer, objective.model) if p) or objective.id
    return microscope, name, objective.nominal_magnification


def info_from_ome(
    ome: OME, *, source: str, image_index: int = 0, notes: list[str] | None = None
) -> ImageInfo:
    """An ImageInfo from the OME-XML alone (TIFF structure is added by the caller)."""
    if not ome.images:
        raise ImagingError(f"{source}: the OME-XML describes no image")
    image = ome.images[image_index]
    pixels = image.pixels
    microscope, objective, magnification = _instrument(ome, image_index)
    channels = channels_from_ome(ome, image_index)
    rgb = len(channels) == 1 and channels[0].samples_per_pixel == 3
    info = ImageInfo(
        source=source,
        format="ome-tiff",
        size_x=pixels.size_x,
        size_y=pixels.size_y,
        size_z=pixels.size_z,
        size_c=pixels.size_c,
        size_t=pixels.size_t,
        pixel_type=_enum_value(pixels.type) or "uint8",
        dimension_order=_enum_value(pixels.dimension_order) or "XYCZT",
        rgb=rgb,
        channels=channels,
        image_name=image.name,
        image_count=len(ome.images),
        acquisition_date=image.acquisition_date.isoformat() if image.acquisition_date else None,
        microscope=microscope,
        objective=objective,
        nominal_magnification=magnification,
        creator=ome.creator,
        warnings=list(notes or []),
    )
    for axis in ("x", "y", "z"):
        value = getattr(pixels, f"physical_size_{axis}")
        if value is not None:
            setattr(info, f"physical_size_{axis}", float(value))
            unit = _enum_value(getattr(pixels, f"physical_size_{axis}_unit"))
            setattr(info, f"physical_size_{axis}_unit", unit)
    return info
