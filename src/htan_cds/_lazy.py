"""Lazy package exports (PEP 562): a package's public names loaded from their submodules on
first use, so importing the package stays cheap.

Used by :mod:`htan_cds.manifest`, :mod:`htan_cds.net` and :mod:`htan_cds.transfer`, whose
start-up cost ``tests/test_cli_startup.py`` guards.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` for a package.

    ``namespace`` is the package's ``globals()``; ``exports`` maps each public name to the
    submodule that defines it, relative to the package (``"checks"``, ``"formats._cells"``).
    ``__getattr__`` imports that submodule on first use and stores the value in ``namespace``,
    so later look-ups are plain attribute reads; an unknown name raises :class:`AttributeError`
    as a module does. ``__dir__`` lists the loaded names and every export, sorted.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # once loaded, a plain module attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
