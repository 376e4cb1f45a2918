"""manifest area of htan-cds."""
