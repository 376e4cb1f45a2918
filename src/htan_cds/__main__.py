"""``python -m htan_cds``: the same CLI as the ``htan-cds`` script (for environments where the
script's directory is not on ``PATH``, e.g. a notebook's ``!python -m htan_cds …``)."""

import sys

from htan_cds.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
