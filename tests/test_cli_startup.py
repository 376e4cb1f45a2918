"""CLI start-up: a command loads only its own area, and `htan-cds import` never loads the heavy
libraries other areas use (DuckDB, pandas, Pillow, tifffile, sqlglot, the web server, boto3).

Start-up is a fixed cost of every command; for an import of a few mid-size files it was about
40 % of what curl takes for the whole job (docs/benchmarks.md, issue 12), so an accidental
top-level import on the import path is a performance bug these tests catch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.transfer.fault_server import FaultServer, payload

# Loaded by other areas only; none of them is needed to fetch and verify DRS objects.
HEAVY = (
    "duckdb",
    "pandas",
    "numpy",
    "PIL",
    "tifffile",
    "zarr",
    "ome_types",
    "sqlglot",
    "pyarrow",
    "fastapi",
    "starlette",
    "uvicorn",
    "boto3",
    "botocore",
    "httpx",
    "click",  # typer vendors its own click; the separate package is dead weight
)
# The other CLI areas and the catalog: `htan-cds import` builds only its own command.
OTHER_AREAS = (
    "htan_cds.cli.catalog",
    "htan_cds.cli.imaging",
    "htan_cds.cli.server",
    "htan_cds.cli.workspace",
    "htan_cds.cli.demo",
    "htan_cds.catalog",
)

_REPORT_MODULES = (
    "import json, sys\n"
    "from htan_cds.cli.main import main\n"
    "rc = main(sys.argv[1:])\n"
    "connector = sys.modules.get('aiohttp.connector')\n"
    "names = ('_SSL_CONTEXT_VERIFIED', '_SSL_CONTEXT_UNVERIFIED')\n"
    "contexts = [getattr(connector, n) for n in names] if connector else []\n"
    "loaded = [c.__dict__.get('_htan_cds_trust_pending') is None for c in contexts]\n"
    "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules), 'ca_loaded': loaded}))\n"
)


def _run(*args: str) -> dict[str, object]:
    """Run the CLI in a fresh interpreter: its exit code, every module it had loaded and
    whether aiohttp's default TLS contexts had loaded a CA store."""
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT_MODULES, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _modules_after(*args: str) -> tuple[int, set[str]]:
    """Run the CLI in a fresh interpreter; its exit code and every module it had loaded."""
    out = _run(*args)
    rc, modules = out["rc"], out["modules"]
    assert isinstance(rc, int) and isinstance(modules, list)
    return rc, set(modules)


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.network
def test_an_import_loads_nothing_it_does_not_need(tmp_path: Path) -> None:
    data = payload("startup", 300_000)
    with FaultServer() as srv:
        srv.add("s1", data)
        rc, modules = _modules_after("import", srv.uri("s1"), "--to", str(tmp_path), "--quiet")
    assert rc == 0
    assert (tmp_path / "s1.bin").read_bytes() == data  # it really imported
    assert _loaded(modules, HEAVY) == []
    assert _loaded(modules, OTHER_AREAS) == []
    assert _loaded(modules, ("rich",)) == []  # --quiet and nothing to say: no console at all


@pytest.mark.network
def test_an_import_over_plain_http_loads_no_ca_store(tmp_path: Path) -> None:
    """aiohttp builds two TLS contexts as it is imported, each loading the system CA store
    (0.05-0.09 s apiece here); the CLI defers those loads to a first handshake
    (htan_cds.net.tls), so an import over plain HTTP loads none."""
    with FaultServer() as srv:
        srv.add("s1", payload("trust", 1000))
        out = _run("import", srv.uri("s1"), "--to", str(tmp_path), "--quiet")
    assert out["rc"] == 0 and (tmp_path / "s1.bin").exists()
    assert out["ca_loaded"] == [False, False]


def test_import_help_loads_neither_the_engine_nor_the_http_client() -> None:
    rc, modules = _modules_after("import", "--help")
    assert rc == 0
    assert _loaded(modules, (*HEAVY, "aiohttp", "htan_cds.transfer.engine", *OTHER_AREAS)) == []


_TREE = (
    "import json, sys\n"
    "import typer\n"
    "from htan_cds.cli import main as m\n"
    "areas = tuple(sys.argv[2].split(',')) if sys.argv[2] else m.areas_for([sys.argv[1]])\n"
    "group = typer.main.get_command(m.load_areas(areas))\n"
    "def tree(cmd):\n"
    "    subs = getattr(cmd, 'commands', {})\n"
    "    return {'params': sorted(p.name or '' for p in cmd.params),\n"
    "            'commands': {n: tree(c) for n, c in sorted(subs.items())}}\n"
    "print(json.dumps(tree(group)))\n"
)


def _tree(command: str, areas: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _TREE, command, areas], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_each_command_loads_the_areas_that_make_it_whole() -> None:
    """COMMAND_AREAS names every top-level command, and loading only a command's areas builds
    that command exactly as loading every area does (options, subcommands, theirs)."""
    from htan_cds.cli.main import _AREAS

    full = _tree("", ",".join(_AREAS))
    commands = full["commands"]
    assert isinstance(commands, dict)
    from htan_cds.cli.main import COMMAND_AREAS

    assert set(COMMAND_AREAS) == set(commands)
    for name in commands:
        alone = _tree(name, "")["commands"]
        assert isinstance(alone, dict)
        assert alone.get(name) == commands[name], name


@pytest.mark.parametrize("package", ["htan_cds.transfer", "htan_cds.net", "htan_cds.manifest"])
def test_lazy_packages_export_every_public_name(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(module._EXPORTS)
    for name in module.__all__:
        defining = importlib.import_module(f"{package}.{module._EXPORTS[name]}")
        assert getattr(module, name) is getattr(defining, name)
    with pytest.raises(AttributeError):
        _ = module.no_such_name


def test_the_safe_name_rule_loads_no_manifest_reader() -> None:
    """The import engine lays files out by the manifest toolkit's safe-name rule; loading it
    must not load the readers, checks and Arrow paths (a DRS-URI import reads no manifest)."""
    code = (
        "import json, sys\n"
        "import htan_cds.transfer.layout, htan_cds.transfer.staging\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('htan_cds.manifest'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["htan_cds.manifest", "htan_cds.manifest.names"]


def test_the_consoles_are_made_on_first_use() -> None:
    from rich.console import Console

    from htan_cds.cli import _common

    assert isinstance(_common.err_console, Console) and _common.err_console.stderr
    assert isinstance(_common.out_console, Console) and not _common.out_console.stderr
    assert _common.err_console is _common.err_console
    with pytest.raises(AttributeError):
        _ = _common.no_such_console


def test_a_manifest_check_loads_neither_duckdb_nor_pandas(tmp_path: Path) -> None:
    # The million-row check reads with Arrow and hashes with NumPy; DuckDB and pandas (which
    # pyarrow loads for pa.array/pa.scalar of Python values) cost ~0.5 s of a 3 s budget.
    manifest = tmp_path / "m.csv"
    rows = [f"drs://nci-crdc.datacommons.io/dg.4DFC/{i:04d},f{i}.tif,HTA1_{i}" for i in range(50)]
    manifest.write_text("drs_uri,name,HTAN_Data_File_ID\n" + "\n".join(rows) + "\n")
    compact = tmp_path / "c.csv"
    compact.write_text("drs_uri,name\n" + "".join(f"dg.4DFC/{i},f{i}\n" for i in range(50)))
    for path, errors in ((manifest, False), (compact, True)):  # compact URIs are errors
        rc, modules = _modules_after("manifest", "check", str(path), "--json")
        assert rc == int(errors)
        assert "pyarrow" in modules  # the Arrow path was taken
        assert not {"duckdb", "pandas"} & modules
