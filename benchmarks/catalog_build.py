"""``catalog build --from-files`` on tables the size of ISB-CGC's, against pandas.

Generates (with DuckDB, seconds) CSV exports shaped like the real tables, ISB-CGC column
names: ``gc_drs_map_current`` (``--map-rows``, default 65,000, compact ``dg.4DFC`` ids, some
HTAN Data File IDs with two DRS ids), ``imaging_level2_metadata_current`` (``--imaging-rows``,
default 25,000) and ``id_provenance_current`` (one row per mapped file id). Then times, best
of ``--repeat``:

* ``build_from_files`` (load, role detection, the BigQuery-written queries transpiled to
  DuckDB, catalog insert, facet cube);
* peer: pandas ``read_csv`` of the same three files + the two joins (no catalog written).

Usage: python benchmarks/catalog_build.py [--map-rows N] [--imaging-rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from htan_cds.catalog.sources.files import build_from_files
from htan_cds.config import DataHome
from htan_cds.units import format_size


def generate(folder: Path, map_rows: int, imaging_rows: int) -> list[Path]:
    """Write the three CSV tables; return their paths."""
    con = duckdb.connect()
    drs_map = folder / "gc_drs_map_current.csv"
    imaging = folder / "imaging_level2_metadata_current.csv"
    provenance = folder / "id_provenance_current.csv"
    # ~8% of file ids carry a second DRS id, as the real map does.
    con.execute(
        f"""
        COPY (
          SELECT 'file_' || (i // 1.08)::BIGINT || CASE WHEN i < {imaging_rows} THEN '.ome.tif'
                 ELSE '.fastq.gz' END AS name,
                 'syn' || (20000000 + (i // 1.08)::BIGINT) AS entityId,
                 'HTA' || (i % 13 + 1) || '_' || (i % 997) || '_' || (i // 1.08)::BIGINT
                   AS HTAN_Data_File_ID,
                 'dg.4DFC/' || uuid()::VARCHAR AS drs_uri,
                 'HTAN ' || ['HMS', 'OHSU', 'BU', 'WUSTL', 'HTAPP', 'Vanderbilt', 'TNP SARDANA']
                   [i % 7 + 1]
                   AS HTAN_Center
          FROM range({map_rows}) t(i)
        ) TO '{drs_map}' (HEADER)
        """
    )
    con.execute(
        f"""
        COPY (
          SELECT 'syn' || (20000000 + i) AS entityId, 'Release 5.0' AS Data_Release,
                 'v24.1.img' AS GC_Release, 'imaging_level_2/file_' || i || '.ome.tif' AS Filename,
                 'HTAN HMS' AS HTAN_Center, 't-CyCIF' AS Imaging_Assay_Type,
                 (1000 + i % 20000)::VARCHAR AS SizeX, (1000 + i % 15000)::VARCHAR AS SizeY,
                 (4 + i % 40)::VARCHAR AS SizeC, '0.65' AS PhysicalSizeX, 'µm' AS PhysicalSizeXUnit,
                 'uint16' AS PixelType, 'Yes' AS Pyramid, 'OME-TIFF' AS File_Format,
                 (i * 7919 % 900000000)::VARCHAR AS File_Size, md5(i::VARCHAR) AS md5
          FROM range({imaging_rows}) t(i)
        ) TO '{imaging}' (HEADER)
        """
    )
    con.execute(
        f"""
        COPY (
          SELECT DISTINCT HTAN_Data_File_ID, 'x/' || name AS Filename, entityId,
                 CASE WHEN name LIKE '%.ome.tif' THEN 'ImagingLevel2' ELSE 'ScRNA-seqLevel1' END
                   AS Component, 'Release 5.0' AS Data_Release, HTAN_Center,
                 regexp_extract(HTAN_Data_File_ID, '^(HTA[0-9]+_[0-9]+)') || '_1'
                   AS HTAN_Assayed_Biospecimen_ID, NULL AS HTAN_Parent_Data_File_ID,
                 regexp_extract(HTAN_Data_File_ID, '^(HTA[0-9]+_[0-9]+)') AS HTAN_Participant_ID
          FROM read_csv('{drs_map}')
        ) TO '{provenance}' (HEADER)
        """
    )
    return [drs_map, imaging, provenance]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map-rows", type=int, default=65_000)
    parser.add_argument("--imaging-rows", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import pandas as pd

    root = Path(tempfile.mkdtemp(prefix="catalog-build-bench-"))
    paths = generate(root, args.map_rows, args.imaging_rows)
    sizes = ", ".join(f"{p.name} {format_size(p.stat().st_size)}" for p in paths)
    print(f"tables: {sizes}")
    ours = []
    ours_cpu = []
    result = {}
    for i in range(args.repeat):
        home = root / f"home{i}"
        start, start_cpu = time.perf_counter(), time.process_time()
        result = build_from_files(DataHome.open(home), paths)
        ours.append(time.perf_counter() - start)
        ours_cpu.append(time.process_time() - start_cpu)
        shutil.rmtree(home)
    peer = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        drs = pd.read_csv(paths[0], dtype=str)
        img = pd.read_csv(paths[1], dtype=str)
        prov = pd.read_csv(paths[2], dtype=str)
        joined = drs.merge(prov, on="HTAN_Data_File_ID", how="left", suffixes=("", "_p"))
        joined = joined.merge(img, on="entityId", how="left", suffixes=("", "_i"))
        peer.append(time.perf_counter() - start)
    print(
        f"build_from_files: {min(ours):.2f} s wall ({min(ours_cpu):.2f} s CPU), "
        f"best of {args.repeat} "
        f"({result.get('files', 0):,} files, {result.get('imaging', 0):,} imaging rows)"
    )
    print(f"pandas read_csv x3 + 2 merges (no catalog): {min(peer):.2f} s ({len(joined):,} rows)")
    print(f"ratio ours/pandas: {min(ours) / min(peer):.2f}x")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
