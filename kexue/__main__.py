"""``python -m kexue`` runs the command line."""

import sys

from kexue.cli import main

if __name__ == "__main__":
    sys.exit(main())
