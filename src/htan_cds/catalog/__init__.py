"""catalog area of htan-cds."""
