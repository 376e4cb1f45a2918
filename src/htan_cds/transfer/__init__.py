"""transfer area of htan-cds."""
