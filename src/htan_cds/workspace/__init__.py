"""workspace area of htan-cds."""
