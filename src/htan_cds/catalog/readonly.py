"""Read-only SQL: accept one ``SELECT``/``WITH`` query over catalog tables, refuse everything else.

DuckDB has no per-connection read-only mode inside a process that also writes, and a plain
``SELECT`` can still read arbitrary files (``read_csv('/etc/passwd')``). So the query is parsed
with sqlglot and refused unless it is a single query whose tables are catalog tables or its own
CTEs, and that calls no file-reading or settings function.
"""

from __future__ import annotations

from htan_cds.errors import CatalogError

_FORBIDDEN_FUNCTION_PREFIXES = ("read_", "glob", "sniff_", "parquet_", "iceberg_", "delta_")
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        "getenv",
        "current_setting",
        "duckdb_secrets",
        "duckdb_settings",
        "duckdb_extensions",
        "query",
        "query_table",
        "load_extension",
        "http_get",
        "sqlite_scan",
        "postgres_scan",
        "json_execute_serialized_sql",
    }
)


class ReadOnlyViolation(CatalogError):
    """A query given to :meth:`Catalog.sql` is not a read-only query over catalog tables."""


def check_read_only(query: str, tables: set[str]) -> str:
    """Return ``query`` if it is one read-only SELECT over ``tables``; raise otherwise."""
    # Imported here: sqlglot takes ~0.15 s to import and only `sql` queries need it, while
    # every command that opens the catalog (find, facets, catalog build…) imports this module.
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except (sqlglot.errors.SqlglotError, IndexError) as exc:  # tokenizer errors included
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise ReadOnlyViolation(f"cannot parse the query: {first}") from exc
    if len(statements) != 1:
        raise ReadOnlyViolation("give exactly one SELECT statement")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise ReadOnlyViolation(
            f"only SELECT/WITH queries are allowed, not {tree.key.upper()} "
            "(the catalog is read-only)"
        )
    for node in tree.walk():
        if isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Set | exp.Pragma | exp.Copy):
            raise ReadOnlyViolation(f"{node.key.upper()} is not allowed in a read-only query")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    allowed = {t.lower() for t in tables} | ctes
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise ReadOnlyViolation("table functions are not allowed; query catalog tables")
        if table.catalog or (table.db and table.db.lower() not in ("main",)):
            raise ReadOnlyViolation(f"only catalog tables can be queried, not {table.sql()}")
        if table.name.lower() not in allowed:
            raise ReadOnlyViolation(
                f"unknown table {table.name!r}; catalog tables: {', '.join(sorted(tables))}"
            )
    for func in tree.find_all(exp.Func):
        name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
        if name.startswith(_FORBIDDEN_FUNCTION_PREFIXES) or name in _FORBIDDEN_FUNCTIONS:
            raise ReadOnlyViolation(f"function {name}() is not allowed in catalog queries")
    return query
