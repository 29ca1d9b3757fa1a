"""Figures of the recipes: matplotlib without a display, saved atomically as small PNGs."""

from __future__ import annotations

import io
import os

from kexue.io.atomic import write_bytes

__all__ = ["pyplot", "save_png"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or ``ImportError`` saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("figures need matplotlib: pip install 'kexue[bench]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | os.PathLike, dpi: int = 80) -> None:
    """Render ``fig`` to PNG in memory, then replace ``path`` atomically; closes ``fig``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    write_bytes(path, buf.getvalue())
