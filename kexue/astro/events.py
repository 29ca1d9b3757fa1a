"""The event record shared by every event family, and the list of categories.

An :class:`Event` is one line of the calendar: an instant (TT Julian date; ``timed=False`` for
the untimed first-of-month Venus line), a category (what ``--only`` selects), a ``kind`` (the
machine name of the phenomenon, from which :mod:`kexue.astro.format` makes the Chinese or
English label), the bodies involved, and an optional value with its unit and direction
(N/S for a declination or an offset, E/W for an elongation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CATEGORIES", "Event"]

#: ``--only`` name → one-line description. The order is the order of the docs.
CATEGORIES = {
    "phases": "Moon phases (new, first quarter, full, last quarter)",
    "lunar-apsides": "Moon at perigee / apogee, with the distance",
    "lunar-nodes": "Moon at ascending / descending node",
    "lunar-declination": "Moon at extreme north / south declination, with the value",
    "eclipses": "solar and lunar eclipses with their type, at greatest eclipse",
    "seasons": "equinoxes and solstices",
    "earth-apsides": "Earth at perihelion / aphelion, with the distance",
    "elongations": "greatest elongations of Mercury and Venus",
    "inner-conjunctions": "inferior and superior conjunctions of Mercury and Venus",
    "oppositions": "oppositions of Mars…Neptune",
    "outer-conjunctions": "conjunctions of Mars…Neptune with the Sun",
    "moon-conjunctions": "Moon–planet and Moon–star/cluster conjunctions (in right ascension)",
    "appulses": "planet–planet and planet–star closest approaches",
    "venus": "Venus's elongation on the first of each month (untimed)",
    "showers": "meteor-shower peaks with their ZHR",
}


@dataclass(frozen=True)
class Event:
    """One calendar line. ``jd`` is the instant in TT (for an untimed line: the instant its
    value is computed)."""

    jd: float
    category: str
    kind: str
    bodies: tuple[str, ...] = ()
    value: float | None = None
    unit: str = ""  # "km", "AU", "deg" or "ZHR"
    direction: str = ""  # "N", "S", "E", "W" or ""
    timed: bool = True
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
