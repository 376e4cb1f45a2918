"""A STAND-IN for ``google.cloud.bigquery.Client`` (real BigQuery is unreachable here).

It receives the exact BigQuery SQL the builder sends, checks it names only ISB-CGC tables it
holds, transpiles it to DuckDB with sqlglot and runs it on fixture tables that use ISB-CGC's
column names (real rows from ../shared where available).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp


@dataclass
class _Result:
    table: Any

    def to_arrow(self) -> Any:
        return self.table


class BigQueryStandIn:
    """Runs BigQuery SQL on DuckDB over tables registered by their BigQuery names."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.tables: dict[str, str] = {}
        self.queries: list[str] = []

    def add_table(self, bq_name: str, select_sql: str) -> None:
        """Register ``project.dataset.table`` as the result of a DuckDB ``SELECT``."""
        local = "t_" + bq_name.replace("-", "_").replace(".", "__")
        self.con.execute(f"CREATE TABLE {local} AS {select_sql}")
        self.tables[bq_name] = local

    def ensure_columns(self, bq_name: str, columns: dict[str, str]) -> None:
        """Add missing columns (NULL) so partial fixtures have the real table's columns."""
        local = self.tables[bq_name]
        have = {r[0].lower() for r in self.con.execute(f"DESCRIBE {local}").fetchall()}
        for column, kind in columns.items():
            if column.lower() not in have:
                self.con.execute(f'ALTER TABLE {local} ADD COLUMN "{column}" {kind}')

    def query(self, sql: str) -> _Result:
        self.queries.append(sql)
        tree = sqlglot.parse_one(sql, read="bigquery")
        for table in tree.find_all(exp.Table):
            if not table.catalog:
                continue  # CTE names
            name = f"{table.catalog}.{table.db}.{table.name}"
            if name not in self.tables:
                raise LookupError(f"404 Not found: Table {name}")
            table.replace(exp.to_table(self.tables[name]).as_(table.alias_or_name))
        return _Result(self.con.sql(tree.sql(dialect="duckdb")).to_arrow_table())
