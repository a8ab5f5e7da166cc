"""``python -m gankit`` runs the command line (also what ``torchrun -m gankit`` calls)."""

import sys

from gankit.cli import main

if __name__ == "__main__":
    sys.exit(main())
