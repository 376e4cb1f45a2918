"""imaging area of htan-cds."""
