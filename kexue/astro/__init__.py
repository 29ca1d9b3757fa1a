"""kexue.astro: a year's celestial events, as the blog's yearly 天象 lists publish them.

Torch-free. Modules, one job each:

- :mod:`kexue.astro.ephemeris`    DE421 through Skyfield (offline), apparent positions
- :mod:`kexue.astro.search`       grid + vectorised bisection for crossings and extrema
- :mod:`kexue.astro.events`       the :class:`Event` record and the category list
- :mod:`kexue.astro.moon`         phases, perigee/apogee, nodes, extreme declinations
- :mod:`kexue.astro.sun`          equinoxes/solstices, perihelion/aphelion
- :mod:`kexue.astro.planets`      elongations, conjunctions with the Sun, oppositions, Venus line
- :mod:`kexue.astro.conjunctions` Moon conjunctions, planet–planet and planet–star appulses
- :mod:`kexue.astro.eclipses`     solar and lunar eclipses with their type
- :mod:`kexue.astro.showers`      the meteor-shower table
- :mod:`kexue.astro.calendar`     all categories between two local dates, sorted
- :mod:`kexue.astro.format`       the blog's Chinese text layout, English text, JSON, CSV, ICS

Archive: kexue.fm/archives/7144 (2020年全年天象) and its 2011–2019 siblings.
"""

from kexue.astro.events import CATEGORIES, Event

__all__ = ["CATEGORIES", "Event"]
