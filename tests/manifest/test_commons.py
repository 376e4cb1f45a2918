"""Terra tables, other commons' compact ids through [drs.prefixes], one URI per HTAN file.

Terra shapes follow Terra's load files (firecloud-orchestration TSVParser/TSVFormatter: tab
separated, first header ``entity:<table>_id``, tab-only lines ignored); AnVIL/BDC compact ids
(``dg.ANV0/<uuid>``, ``dg.4503/<uuid>``) are Gen3 GUIDs whose prefix stays in the DRS id.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from htan_cds.catalog import Catalog
from htan_cds.config import DataHome
from htan_cds.errors import ConfigError
from htan_cds.manifest import ManifestReader, check_rows, read_manifest
from htan_cds.manifest.names import is_safe_file_name
from htan_cds.settings import prefix_registry
from tests.conftest import run_cli

ANV = "dg.ANV0/0a1b2c3d-0000-4000-8000-000000000001"
BDC = "dg.4503/0a1b2c3d-0000-4000-8000-000000000002"
# A commons htan-cds does not know built in (DRS Hub's prefixes, drs/prefixes.py, are known).
LAB = "dg.LAB1/0a1b2c3d-0000-4000-8000-000000000003"
U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"

TERRA = (
    "entity:sample_id\tpfb:file_name\tobject_id\tparticipant\r\n"
    f"S1\treads_1.bam\t{ANV}\tP1\r\n"
    "\t\t\t\r\n"
    f"S2\treads_2.bam\t{BDC}\tP2\r\n"
    f"S3\treads_3.bam\t{LAB}\tP3\r\n"
)
# A prefix of one's own lab, and AnVIL's moved to a mirror (config wins over the built-ins).
CONFIG = """
[drs.prefixes]
"dg.LAB1" = "drs.lab.example.org"
"dg.ANV0" = { host = "anvil-mirror.example.org" }
"""


def test_terra_table_is_read_with_its_entity_column() -> None:
    with ManifestReader(io.StringIO(TERRA, newline="")) as reader:
        rows = list(reader)
        assert reader.format == "terra" and reader.context.delimiter == "\t"
        assert reader.context.blank_rows == 1
    assert [(r.drs_uri, r.name) for r in rows] == [
        (ANV, "reads_1.bam"),
        (BDC, "reads_2.bam"),
        (LAB, "reads_3.bam"),
    ]
    assert rows[0].metadata == {"entity:sample_id": "S1", "participant": "P1"}
    # pfb:ga4gh_drs_uri wins over drs_uri and object_id (AnVIL PFB imports have both).
    both = f"entity:file_id\tobject_id\tpfb:ga4gh_drs_uri\nF1\t{ANV}\t{U1}\n"
    assert read_manifest(io.StringIO(both, newline=""))[0].drs_uri == U1


def test_other_commons_compact_ids_repair_through_config(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "anvil.tsv"
    src.write_text(TERRA)
    unknown = run_cli("manifest", "check", str(src), "--json", home=home)
    assert unknown.returncode == 1
    data = json.loads(unknown.stdout)
    assert data["counts"] == {"uri_compact": 2, "uri_unknown_prefix": 1}
    assert {(f["code"], f["value"]) for f in data["findings"]} == {
        ("uri_compact", ANV),
        ("uri_compact", BDC),
        ("uri_unknown_prefix", LAB),
    }
    (home / "config.toml").write_text(CONFIG)
    known = run_cli("manifest", "check", str(src), "--json", home=home)
    data = json.loads(known.stdout)
    assert data["counts"] == {"uri_compact": 3}
    assert {f["value"] for f in data["findings"]} == {ANV, BDC, LAB}
    out = tmp_path / "fixed.tsv"
    fixed = run_cli("manifest", "convert", str(src), "--to", "terra", "--fix", "-o", str(out),
                    home=home)  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    rows = read_manifest(out)
    assert [r.drs_uri for r in rows] == [
        f"drs://anvil-mirror.example.org/{ANV}",
        f"drs://gen3.biodatacatalyst.nhlbi.nih.gov/{BDC}",
        f"drs://drs.lab.example.org/{LAB}",
    ]
    assert out.read_text().splitlines()[0].startswith("entity:sample_id\tdrs_uri\tfile_name")
    assert [r.metadata["entity:sample_id"] for r in rows] == ["S1", "S2", "S3"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[drs.prefixes]\n'dg.X' = 'https://host/path'\n", "needs a host"),
        ("[drs]\nprefixes = 3\n", "must be a table"),
        ("[drs.prefixes\n", "config.toml"),
        ("[drs.prefixes]\n'dg.X' = { host = 'h.org', id_template = '{prefix}' }\n", "accession"),
    ],
)
def test_bad_prefix_config_is_one_clear_error(tmp_path: Path, config: str, message: str) -> None:
    home = DataHome.open(tmp_path / "home")
    home.config_path.write_text(config)
    with pytest.raises(ConfigError, match=message):
        prefix_registry(home)
    src = tmp_path / "m.csv"
    src.write_text(f"drs_uri,name\n{U1},a.tif\n")
    result = run_cli("manifest", "check", str(src), home=home.root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "config.toml" in result.stderr


def _catalog_home(root: Path) -> Path:
    """A data home whose catalog lists HTA7_1_1001 twice: Release 3.0 (a1) and 10.0 (a2)."""
    home = DataHome.open(root)
    with Catalog.open(home) as catalog:
        catalog.set_meta("drs_authority", "127.0.0.1:9999")
        catalog.insert_rows(
            "files",
            [
                {
                    "drs_id": drs_id,
                    "drs_uri": f"drs://nci-crdc.datacommons.io/dg.4DFC/{drs_id}",
                    "name": f"{drs_id}.tif",
                    "HTAN_Data_File_ID": "HTA7_1_1001",
                    "Data_Release": release,
                    "created_time": datetime(2024, 1, 1),
                    "access": "open",
                }
                for drs_id, release in (("a1", "Release 3.0"), ("a2", "Release 10.0"))
            ],
        )
    return home.root


def test_one_uri_per_file_id_by_the_catalog_else_the_first(tmp_path: Path) -> None:
    base = "drs://nci-crdc.datacommons.io/dg.4DFC/"
    src = tmp_path / "m.csv"
    src.write_text(
        "drs_uri,name,HTAN_Data_File_ID\n"
        f"{base}a1,old.tif,HTA7_1_1001\n"  # the catalog's older copy, listed first
        f"{base}x1,x.tif,HTA9_9_9\n"  # a file the catalog does not know: first one wins
        f"{base}a2,new.tif,HTA7_1_1001\n"
        f"{base}x2,x.tif,HTA9_9_9\n"
    )
    home = _catalog_home(tmp_path / "home")
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "--fix", "-o", str(out),
        "--report", str(report), home=home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(r.drs_uri for r in read_manifest(out)) == [f"{base}a2", f"{base}x1"]
    data = json.loads(report.read_text())
    assert "catalog's pick" in data["uri_rule"] and "first one listed" in data["uri_rule"]
    dropped = {(d["row"], d["value"]) for d in data["dropped"]}
    assert dropped == {(1, "HTA7_1_1001"), (4, "HTA9_9_9")}
    assert all(d["code"] == "file_id_multiple_uris" for d in data["dropped"])
    assert data["rows_in"] == data["rows_out"] + len(data["dropped"])
    by_row = {d["row"]: d["message"] for d in data["dropped"]}
    assert "catalog's pick" in by_row[1] and f"{base}a1" in by_row[1]
    assert "first one listed" in by_row[4] and "HTA9_9_9" in by_row[4]
    both = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "--fix", "--keep-all-uris",
        "-o", str(out), home=home,
    )  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert len(read_manifest(out)) == 4 and len({r.name for r in read_manifest(out)}) == 4


def test_fix_makes_every_name_safe_on_every_system(tmp_path: Path) -> None:
    base = "drs://nci-crdc.datacommons.io/dg.4DFC/"
    names = [
        "C:\\Users\\x\\evil.tif",
        "CON.txt",
        "nul",
        "report:stream.txt",
        "evil\u202egpj.exe",
        "trailing. ",
        "cafe\u0301.tif",
        "x" * 300 + ".ome.tif",
    ]
    src = tmp_path / "m.csv"
    src.write_text(
        "drs_uri,name\n" + "".join(f'{base}n{i},"{n}"\n' for i, n in enumerate(names)),
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = run_cli("manifest", "convert", str(src), "--to", "cgc", "--fix", "-o", str(out))
    assert result.returncode == 0, result.stderr
    fixed = [r.name or "" for r in read_manifest(out)]
    assert fixed[:7] == [
        "C_Users_x_evil.tif",
        "CON_.txt",
        "nul_",
        "report_stream.txt",
        "evilgpj.exe",
        "trailing",
        "caf\u00e9.tif",
    ]
    assert all(is_safe_file_name(n) for n in fixed) and len(fixed[7].encode()) <= 255
    assert check_rows(read_manifest(out)).ok


def test_every_finding_names_its_value(tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    src.write_text(
        "drs_uri,name,HTAN_Data_File_ID\n"
        f"{U1},a.tif,HTA1_1_1\n"
        f"{U1},b.tif,HTA1_1_2\n"
        f"{U2},a.tif,HTA1_1_1\n"
        ",lost.tif,HTA1_1_3\n"
        "https://example.org/x,web.tif,HTA1_1_4\n"
        f"{U2.replace('6246', '9999')},../up.tif,HTA1_1_5\n"
    )
    result = run_cli("manifest", "check", str(src), "--json")
    assert result.returncode == 1
    values = {(f["row"], f["code"]): f["value"] for f in json.loads(result.stdout)["findings"]}
    assert values == {
        (2, "uri_duplicate"): U1,
        (3, "name_duplicate"): "a.tif",
        (3, "file_id_multiple_uris"): "HTA1_1_1",
        (4, "uri_missing"): "lost.tif",
        (5, "uri_not_drs"): "https://example.org/x",
        (6, "name_unsafe"): "../up.tif",
    }
    text = run_cli("manifest", "check", str(src)).stderr
    for value in (U1, "'a.tif'", "'HTA1_1_1'", "'lost.tif'", "https://example.org/x"):
        assert value in text


@pytest.mark.network
def test_import_resolves_other_commons_prefixes_from_config(tmp_path: Path, home: Path) -> None:
    from tests.transfer.fault_server import FaultServer, payload

    with FaultServer() as server:
        data = payload("anvil", 3000)
        server.add("dg.TEST/0a1b", data)
        manifest = tmp_path / "m.csv"
        manifest.write_text("drs_uri,name\ndg.TEST/0a1b,from_other_commons.bin\n")
        dest = tmp_path / "dest"
        unknown = run_cli("import", str(manifest), "--to", str(dest), "--quiet", home=home)
        assert unknown.returncode != 0 and not (dest / "from_other_commons.bin").exists()
        (home / "config.toml").write_text(f'[drs.prefixes]\n"dg.TEST" = "{server.authority}"\n')
        known = run_cli("import", str(manifest), "--to", str(dest), "--quiet", home=home)
        assert known.returncode == 0, known.stderr
        assert (dest / "from_other_commons.bin").read_bytes() == data
