"""The ``htan-cds`` command line, one module per area, thin over the library."""
