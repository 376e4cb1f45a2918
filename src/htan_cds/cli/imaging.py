"""CLI commands of the imaging area: ``info`` and ``preview``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from htan_cds.cli._common import JsonOption, data_home, emit_json, err_console, out_console
from htan_cds.units import format_size

if TYPE_CHECKING:
    from htan_cds.drs.bundles import BundleNotFile
    from htan_cds.imaging.model import ImageInfo

SourceArg = typer.Argument(..., help="Local path, http(s) URL or DRS URI of an image.")
TokenOpt = typer.Option(
    None, "--token", envvar="HTAN_CDS_TOKEN", help="Bearer token for controlled data."
)
ChannelsCsvOpt = typer.Option(
    None,
    "--channels-csv",
    help="HTAN channel metadata CSV or markers.csv to join onto the channels.",
    exists=True,
    dir_okay=False,
)


def _size(value: int | None) -> str:
    return format_size(value)


def _catalog_channel_table(ctx: typer.Context, source: str) -> Path | None:
    """The channel metadata CSV the local catalog names for a DRS URI's object, if stored here.

    HTAN files carry ``Channel Metadata Filename``; when the data home's catalog knows the
    object and holds that CSV's bytes, ``info``/``preview`` join it without being asked.
    """
    from htan_cds.errors import HtanCdsError

    if source.startswith(("http://", "https://")) or Path(source).exists() or ":" not in source:
        return None
    try:
        from htan_cds.catalog import Catalog
        from htan_cds.drs.uri import parse_drs_uri
        from htan_cds.storage.local import LocalObjectStore

        uri = parse_drs_uri(source)
        home = data_home(ctx, create=False)
        if not home.catalog_path.exists():
            return None
        with Catalog.open(home, read_only=True) as catalog:
            row = catalog.get_file(uri.object_id)
            filename = (row or {}).get("Channel_Metadata_Filename")
            if not filename:
                return None
            quoted = str(filename).replace("'", "''")
            found = catalog.sql(
                "SELECT object_key FROM files WHERE object_key IS NOT NULL AND "
                f"(Filename = '{quoted}' OR name = '{quoted}') LIMIT 1"
            )
        if found.empty:
            return None
        path = LocalObjectStore(home.objects_dir).path_for(str(found.iloc[0]["object_key"]))
        return path if path.is_file() else None
    except HtanCdsError:
        return None  # opportunistic: a missing or busy catalog must not stop `info`


def _print_info(info: ImageInfo) -> None:
    from rich.table import Table

    phys = ""
    if info.physical_size_x is not None:
        unit = info.physical_size_x_unit or ""
        phys = f"{info.physical_size_x:g} x {info.physical_size_y or info.physical_size_x:g} {unit}"
    rows = [
        ("source", info.source),
        ("format", f"{info.format}{' (BigTIFF)' if info.bigtiff else ''}"),
        (
            "size",
            f"X={info.size_x} Y={info.size_y} Z={info.size_z} C={info.size_c} T={info.size_t}",
        ),
        ("pixel type", f"{info.pixel_type}{' RGB' if info.rgb else ''}"),
        ("dimension order", info.dimension_order),
        ("physical size", phys or "-"),
        (
            "pyramid",
            f"{len(info.levels)} level(s), {info.pyramid_layout}: "
            + ", ".join(f"{lv.width}x{lv.height}" for lv in info.levels),
        ),
        ("tiles", f"{info.tile_width}x{info.tile_height}" if info.tile_width else "untiled"),
        ("compression", info.compression or "-"),
        ("file size", _size(info.file_size)),
    ]
    for label, value in (
        ("microscope", info.microscope),
        ("objective", info.objective),
        (
            "magnification",
            f"{info.nominal_magnification:g}x" if info.nominal_magnification else None,
        ),
        ("acquired", info.acquisition_date),
    ):
        if value:
            rows.append((label, value))
    if info.bytes_read is not None:
        share = 100.0 * info.bytes_read / info.file_size if info.file_size else 0.0
        rows.append(
            (
                "read",
                f"{_size(info.bytes_read)} in {info.requests} requests ({share:.3f}% of the file)",
            )
        )
    for label, value in rows:
        out_console.print(f"[bold]{label:>16}[/]  {value}", highlight=False, soft_wrap=True)
    if info.channels:
        table = Table(title="channels", title_justify="left")
        for column in ("#", "id", "name", "target", "colour"):
            table.add_column(column)
        for ch in info.channels:
            table.add_row(
                str(ch.index), ch.id or "", ch.name or "", ch.target or "", ch.color or ""
            )
        out_console.print(table)
    for warning in info.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _print_bundle(source: str, bundle: BundleNotFile, as_json: bool) -> None:
    """``info`` on a DRS bundle: its members (name and DRS URI; nested ones inline)."""
    obj = bundle.bundle
    members = [m.as_dict() for m in bundle.members]
    if as_json:
        emit_json(
            {
                "source": source,
                "bundle": True,
                "id": obj.id,
                "name": obj.name,
                "self_uri": obj.self_uri,
                "members": members,
            }
        )
        return
    from rich.markup import escape
    from rich.table import Table

    out_console.print(
        f"[bold]{'source':>16}[/]  {escape(source)}\n[bold]{'bundle':>16}[/]  "
        f"{escape(obj.name or obj.id)} ({len(members)} members; `htan-cds import` fetches them)",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(title="members", title_justify="left")
    table.add_column("name")
    table.add_column("drs_uri")
    for member in bundle.members:
        table.add_row(escape(member.name), escape(member.uri or "-"))
    out_console.print(table)


def info_command(
    ctx: typer.Context,
    source: str = SourceArg,
    channels_csv: Path | None = ChannelsCsvOpt,
    token: str | None = TokenOpt,
    as_json: bool = JsonOption,
) -> None:
    """Show an image's metadata (OME-XML, pyramid, tiles, channels) without downloading it."""
    from htan_cds.drs.bundles import BundleNotFile
    from htan_cds.imaging.info import read_image_info

    channels_csv = channels_csv or _catalog_channel_table(ctx, source)
    try:
        info = read_image_info(source, token=token, channels_csv=channels_csv)
    except BundleNotFile as bundle:
        _print_bundle(source, bundle, as_json)
        return
    if as_json:
        payload = info.to_dict()
        payload["catalog_row"] = info.to_catalog_row()
        payload["channels_csv"] = str(channels_csv) if channels_csv else None
        emit_json(payload)
    else:
        _print_info(info)


def preview_command(
    ctx: typer.Context,
    source: str = SourceArg,
    output: Path = typer.Option(..., "-o", "--output", help="PNG file to write."),
    channels: str | None = typer.Option(
        None, "--channels", help="Comma-separated channel names, targets or indexes."
    ),
    max_size: int = typer.Option(
        1024, "--max-size", min=16, max=16384, help="Longer side of the preview, px."
    ),
    channels_csv: Path | None = ChannelsCsvOpt,
    token: str | None = TokenOpt,
    as_json: bool = JsonOption,
) -> None:
    """Write a false-colour composite (or native RGB) preview PNG of an image."""
    from htan_cds.imaging.preview import render
    from htan_cds.outputs import check_output, write_bytes_atomic

    check_output(output, "-o", {"the image": source})  # before the image is read over the network
    wanted = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
    channels_csv = channels_csv or _catalog_channel_table(ctx, source)
    with err_console.status("rendering preview…"):
        result = render(
            source, channels=wanted, max_size=max_size, token=token, channels_csv=channels_csv
        )
    png = io.BytesIO()
    result.image.save(png, format="PNG")
    write_bytes_atomic(output, png.getvalue(), "-o")
    summary = {
        "output": str(output),
        "width": result.image.size[0],
        "height": result.image.size[1],
        "level": result.level,
        "channels": [c.label for c in result.channels],
        "bytes_read": result.bytes_read,
        "requests": result.requests,
        "file_size": result.info.file_size,
    }
    if as_json:
        emit_json(summary)
        return
    what = ", ".join(summary["channels"]) if result.channels else "RGB"  # type: ignore[arg-type]
    line = f"wrote {output} ({summary['width']}x{summary['height']}, level {result.level}, {what})"
    if result.bytes_read is not None:
        line += f"; read {_size(result.bytes_read)} in {result.requests} requests"
    err_console.print(line, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
    app.command("info")(info_command)
    app.command("preview")(preview_command)
