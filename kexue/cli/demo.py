"""Run the main demonstration: build a model, load a checkpoint, encode text."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kexue demo", description=__doc__)
    parser.parse_args(argv)
    from kexue import __version__

    print(f"kexue {__version__}: the model demo lands with the Transformer core.")
    return 0
