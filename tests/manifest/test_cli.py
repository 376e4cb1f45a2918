"""``htan-cds manifest check`` and ``manifest convert`` through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, shared_path

U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"
C2 = "dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_check_clean_file_exits_0_with_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", f"drs_uri,name\n{U1},a.tif\n{U2},b.tif\n")
    result = run_cli("manifest", "check", str(path), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["rows"] == 2 and data["format"] == "htan-portal"
    assert {"file", "errors", "warnings", "counts", "findings", "stats"} <= set(data)


def test_check_errors_exit_1_and_list_findings(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", f"name,drs_uri\na.tif,{C2}\n../b.tif,https://x.org/b\n")
    result = run_cli("manifest", "check", str(path), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    codes = {(f["row"], f["column"], f["code"], f["severity"]) for f in data["findings"]}
    assert (1, "drs_uri", "uri_compact", "error") in codes
    assert (2, "drs_uri", "uri_not_drs", "error") in codes
    assert (2, "name", "name_unsafe", "error") in codes
    human = run_cli("manifest", "check", str(path))
    assert human.returncode == 1 and "uri_compact" in human.stderr


def test_check_warnings_only_exit_0(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", f"drs_uri,name\n{U1},a.tif\n{U2},a.tif\n")
    result = run_cli("manifest", "check", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["counts"] == {"name_duplicate": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["manifest", "check", "/no/such/file.csv"], "cannot open"),
        (["manifest", "check", "EMPTY"], "empty"),
        (["manifest", "check", "JUNK"], "cannot tell"),
        (["manifest", "check", "JUNK", "--format", "xml"], "unknown"),
        (["manifest", "check", "BINARY"], "not a text file"),
        (["manifest", "check", "JUNK", "--format", "gen3"], "JSON"),
        (["manifest", "convert", "JUNK", "--to", "bigquery", "-o", "x"], "cannot write"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    files = {
        "EMPTY": _write(tmp_path, "empty.csv", ""),
        "JUNK": _write(tmp_path, "junk.csv", "a,b\n1,2\n"),
        "BINARY": tmp_path / "bin.csv",
    }
    files["BINARY"].write_bytes(b"drs_uri,name\n\xff\xfe\x00\x01\n")
    argv = [str(files[a]) if a in files else a for a in args]
    result = run_cli(*argv)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_convert_fix_with_report_accounts_for_every_row(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        "cart.csv",
        "\ufeff"
        '"drs_uri","name","Participant ID","Md5sum","User Comments"\r\n'
        f'"{C2}","a.tif","P1","m1","a "quoted" note"\r\n'
        f'"{U2}","a.tif","P1","m1",""\r\n'
        f'"https://example.org/x","c.tif","P2","m2",""\r\n'
        f'"{U1}","a.tif","P3","m3",""\r\n'
        f'"dg.4DFC/abc","../../evil.tif","P4","m4",""\r\n',
    )
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(out), "--fix",
        "--report", str(report),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # one row had no usable DRS URI
    data = json.loads(report.read_text())
    assert data["rows_in"] == 5 and data["rows_out"] == 3
    assert {(d["row"], d["code"]) for d in data["dropped"]} == {
        (2, "uri_duplicate"),
        (3, "uri_not_drs"),
    }
    assert data["rows_in"] == data["rows_out"] + len(data["dropped"])
    lines = out.read_text().splitlines()
    assert lines[0] == "name,drs_uri,Participant ID,Md5sum,User Comments"
    assert lines[1] == f'a.tif,drs://nci-crdc.datacommons.io/{C2},P1,m1,"a ""quoted"" note"'
    assert lines[2].startswith(f"a_2.tif,{U1},P3")
    assert lines[3].startswith("evil.tif,drs://nci-crdc.datacommons.io/dg.4DFC/abc,P4")
    check = run_cli("manifest", "check", str(out))
    assert check.returncode == 0, check.stderr


def test_convert_without_fix_keeps_every_row(tmp_path: Path) -> None:
    src = _write(tmp_path, "m.csv", f"drs_uri,name\n{C2},a.tif\nnot-a-uri,b.tif\n")
    out = tmp_path / "g.json"
    result = run_cli("manifest", "convert", str(src), "--to", "gen3", "-o", str(out), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["rows_in"] == data["rows_out"] == 2 and data["dropped"] == []
    assert [e["object_id"] for e in json.loads(out.read_text())] == [C2, "not-a-uri"]


def test_convert_stdin_to_stdout() -> None:
    result = run_cli(
        "manifest", "convert", "-", "--to", "htan-portal", "-o", "-", "--fix",
        input=f"name,drs_uri\na.tif,{C2}\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith(f"drs://nci-crdc.datacommons.io/{C2},a.tif,")


def test_convert_every_writable_format_and_back(tmp_path: Path) -> None:
    src = _write(tmp_path, "m.csv", f"drs_uri,name,sample\n{U1},a.tif,S1\n{U2},b.tif,S2\n")
    for fmt in ("cgc", "htan-portal", "gen3", "cds-portal"):
        out = tmp_path / f"out-{fmt}"
        result = run_cli("manifest", "convert", str(src), "--to", fmt, "-o", str(out))
        assert result.returncode == 0, result.stderr
        back = run_cli("manifest", "check", str(out), "--json")
        data = json.loads(back.stdout)
        assert data["format"] == fmt and data["rows"] == 2 and data["ok"]


def test_real_gc_drs_map_through_the_cli(tmp_path: Path) -> None:
    src = shared_path("data", "manifests", "isb-cgc_gc_drs_map_current_head100.csv")
    check = run_cli("manifest", "check", str(src), "--json")
    assert check.returncode == 1
    data = json.loads(check.stdout)
    assert data["format"] == "bigquery"
    assert data["stats"]["file_ids_with_several_uris"] == 14
    out = tmp_path / "cgc.csv"
    result = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(out), "--fix", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # One DRS URI per HTAN_Data_File_ID: the 14 second URIs are reported, not written.
    assert summary["rows_out"] == 86 and summary["changes"]["uri_compact"] == 86
    assert summary["rows_in"] == summary["rows_out"] + len(summary["dropped"]) == 100
    assert {d["code"] for d in summary["dropped"]} == {"file_id_multiple_uris"}
    assert summary["uri_rule"] == "the first one listed"
    assert run_cli("manifest", "check", str(out)).returncode == 0
    both = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(out), "--fix", "--json",
        "--keep-all-uris",
    )  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert json.loads(both.stdout)["rows_out"] == 100
    assert run_cli("manifest", "check", str(out)).returncode == 0


def test_check_max_findings_caps_the_list_not_the_counts(tmp_path: Path) -> None:
    body = "".join(f"dg.4DFC/id-{i},f{i}.tif\n" for i in range(30))
    path = _write(tmp_path, "m.csv", "drs_uri,name\n" + body)
    result = run_cli("manifest", "check", str(path), "--json", "--max-findings", "5")
    data = json.loads(result.stdout)
    assert result.returncode == 1
    assert data["counts"]["uri_compact"] == 30 and len(data["findings"]) == 5
    assert data["truncated"] is True


def test_convert_to_a_directory_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    src = _write(tmp_path, "m.csv", f"drs_uri,name\n{U1},a.tif\n")
    target = tmp_path / "adir"
    target.mkdir()
    result = run_cli("manifest", "convert", str(src), "--to", "cgc", "-o", str(target))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"-o {target} is a folder, not a file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "m.csv"]
