"""server area of htan-cds."""
