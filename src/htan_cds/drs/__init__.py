"""DRS: URIs, prefix registry, DRS 1.5 models and the resolver client."""

from htan_cds.drs.prefixes import PrefixEntry, PrefixRegistry, builtin_registry, default_registry
from htan_cds.drs.uri import (
    DrsUri,
    DrsUriKind,
    encode_object_id,
    format_drs_uri,
    is_loopback_host,
    make_drs_uri,
    normalize_drs_uri,
    parse_drs_uri,
)

__all__ = [
    "DrsUri",
    "DrsUriKind",
    "PrefixEntry",
    "PrefixRegistry",
    "builtin_registry",
    "default_registry",
    "encode_object_id",
    "format_drs_uri",
    "is_loopback_host",
    "make_drs_uri",
    "normalize_drs_uri",
    "parse_drs_uri",
]
