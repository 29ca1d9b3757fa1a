"""Solar and lunar eclipses: the instant of greatest eclipse and the type.

Geometry uses geocentric *apparent* vectors (light time, aberration, deflection: the
convention of the Besselian elements and of Espenak's catalogues; with astrometric vectors
greatest eclipse comes ~40 s later) in km, and the radii
of :mod:`kexue.astro.ephemeris` (Sun 696,000 km, Moon 1,737.4 km, Earth 6,378.137 km). The
definitions follow Espenak's NASA eclipse catalogues (the source of SKYCAL's eclipse lines):

**Solar eclipse** (near each new moon). Let ``u`` be the unit vector along the shadow axis,
from the Sun through the Moon. *Greatest eclipse* is the instant when that axis passes closest
to the Earth's centre; the distance, in Earth radii, is ``γ`` (gamma). On the plane through the
Earth's centre perpendicular to the axis (the fundamental plane), with ``z`` the height along the
axis towards the Moon and ``z_M`` the Moon's height, the cone radii are

    penumbra  L1(z) = R_M / cos f1 + (z_M − z) tan f1,   sin f1 = (R_S + R_M) / |S − M|
    umbra     L2(z) = R_M / cos f2 − (z_M − z) tan f2,   sin f2 = (R_S − R_M) / |S − M|

(``L2 > 0``: the umbra reaches height ``z`` — total; ``L2 < 0``: only the antumbra — annular).
There is an eclipse when ``γ < 1 + L1(0)``. It is *central* when ``γ < 0.9972`` (the Earth's
polar flattening makes the limb of the Earth's disc on the fundamental plane an ellipse whose
minor semi-axis is 0.9966–1; 0.9972 is the value used by Espenak). It is *partial* when it is
neither central nor reaches the Earth with the umbra/antumbra (``γ > 0.9972 + |L2(0)|``).
Otherwise its type is that of the shadow at the surface point under the axis,
``z = sqrt(1 − γ²)``: total if ``L2(z) > 0``, annular if not; a total eclipse whose shadow is
annular at the ends of the path (``L2(0) < 0``) is *hybrid*.

**Lunar eclipse** (near each full moon). *Greatest eclipse* is the instant when the Moon's
centre passes closest to the axis of the Earth's shadow (the anti-Sun direction); ``d`` is that
angular distance. With the Moon's horizontal parallax ``π_M``, the Sun's ``π_S`` and
semidiameters ``s_S``, ``s_M``, the shadow radii (enlarged by 2 %, Chauvenet's rule as used by
Espenak for the Earth's atmosphere) are ``P = 1.02 (π_M + π_S + s_S)`` (penumbra) and
``U = 1.02 (π_M + π_S − s_S)`` (umbra). Magnitudes: umbral ``(U + s_M − d) / (2 s_M)``,
penumbral ``(P + s_M − d) / (2 s_M)``. Type: *total* if the umbral magnitude ≥ 1, *partial* if it
is > 0, *penumbral* if only the penumbral magnitude is > 0, no eclipse otherwise.

Meeus, *Astronomical Algorithms*, ch. 54; Espenak & Meeus, *Five Millennium Canon of Solar
Eclipses* (NASA/TP-2006-214141), section 1.
"""

from __future__ import annotations

import numpy as np

from kexue.astro.ephemeris import EARTH_RADIUS_KM, MOON_RADIUS_KM, SUN_RADIUS_KM, Ephemeris
from kexue.astro.events import Event
from kexue.astro.moon import elongation_angle
from kexue.astro.search import refine, roots, wrap180

__all__ = ["eclipses", "lunar_geometry", "solar_geometry"]

CENTRAL_GAMMA = 0.9972
SHADOW_ENLARGEMENT = 1.02


def solar_geometry(eph: Ephemeris, jd: np.ndarray) -> dict[str, np.ndarray]:
    """γ and the penumbra/umbra radii (Earth radii) of the Moon's shadow at times ``jd``."""
    s, m = (v / EARTH_RADIUS_KM for v in eph.apparent_km(("sun", "moon"), jd))
    axis = m - s
    dist = np.sqrt((axis * axis).sum(0))
    u = axis / dist
    z_m = -(m * u).sum(0)  # Moon's height above the fundamental plane, towards the Moon
    perp = m + z_m * u  # the axis point nearest the Earth's centre
    gamma = np.sqrt((perp * perp).sum(0))
    rs, rm = SUN_RADIUS_KM / EARTH_RADIUS_KM, MOON_RADIUS_KM / EARTH_RADIUS_KM
    f1 = np.arcsin((rs + rm) / dist)
    f2 = np.arcsin((rs - rm) / dist)
    return {
        "gamma": gamma,
        "z_moon": z_m,
        "l1": rm / np.cos(f1) + z_m * np.tan(f1),
        "l2": rm / np.cos(f2) - z_m * np.tan(f2),
        "tan_f2": np.tan(f2),
    }


def _solar_type(g: dict[str, float]) -> str | None:
    gamma, l1, l2 = g["gamma"], g["l1"], g["l2"]
    if gamma >= 1.0 + l1:
        return None
    if gamma >= CENTRAL_GAMMA + abs(l2):
        return "partial"
    z = np.sqrt(max(0.0, 1.0 - gamma * gamma))
    l2_surface = l2 + z * g["tan_f2"]
    if l2_surface <= 0:
        return "annular"
    return "hybrid" if l2 < 0 and gamma < CENTRAL_GAMMA else "total"


def lunar_geometry(eph: Ephemeris, jd: np.ndarray) -> dict[str, np.ndarray]:
    """Angular distance of the Moon from the shadow axis and the shadow radii, degrees."""
    s, m = eph.apparent_km(("sun", "moon"), jd)
    ds = np.sqrt((s * s).sum(0))
    dm = np.sqrt((m * m).sum(0))
    cos_d = -(s * m).sum(0) / (ds * dm)
    d = np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0)))
    pi_m = np.degrees(np.arcsin(EARTH_RADIUS_KM / dm))
    pi_s = np.degrees(np.arcsin(EARTH_RADIUS_KM / ds))
    s_s = np.degrees(np.arcsin(SUN_RADIUS_KM / ds))
    s_m = np.degrees(np.arcsin(MOON_RADIUS_KM / dm))
    penumbra = SHADOW_ENLARGEMENT * (pi_m + pi_s + s_s)
    umbra = SHADOW_ENLARGEMENT * (pi_m + pi_s - s_s)
    return {
        "distance": d,
        "umbral_magnitude": (umbra + s_m - d) / (2 * s_m),
        "penumbral_magnitude": (penumbra + s_m - d) / (2 * s_m),
    }


def _lunar_type(g: dict[str, float]) -> str | None:
    if g["umbral_magnitude"] >= 1.0:
        return "total"
    if g["umbral_magnitude"] > 0.0:
        return "partial"
    if g["penumbral_magnitude"] > 0.0:
        return "penumbral"
    return None


def _greatest(f, jd0: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Minimum of ``f`` within ±0.3 day of each syzygy ``jd0`` (refined on its slope)."""

    def slope(x: np.ndarray) -> np.ndarray:
        both = f(np.concatenate([x - h, x + h]))
        return both[x.size:] - both[: x.size]

    lo, hi = jd0 - 0.3, jd0 + 0.3
    ends = slope(np.concatenate([lo, hi]))
    return refine(slope, lo, hi, ends[: lo.size], ends[lo.size:])


def eclipses(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Solar and lunar eclipses whose greatest eclipse falls in [start, stop].

    New and full moons come from one search (rising zeros of ``wrap180(2 E)``); a syzygy far
    from a node (γ > 1.7 or the Moon > 1.8° from the shadow axis) cannot give an eclipse
    and is skipped before the refinement."""
    syzygies, _ = roots(lambda t: wrap180(2.0 * elongation_angle(eph, t)), start - 1, stop + 1,
                        0.25, direction=+1)
    if not len(syzygies):
        return []
    full = np.abs(wrap180(elongation_angle(eph, syzygies) - 180.0)) < 90.0
    out = []
    for kind, sel in (("solar", ~full), ("lunar", full)):
        jd0 = syzygies[sel]
        if kind == "solar":
            def geometry(t):
                return solar_geometry(eph, t)
            near = geometry(jd0)["gamma"] < 1.7
            key, typer = "gamma", _solar_type
        else:
            def geometry(t):
                return lunar_geometry(eph, t)
            near = geometry(jd0)["distance"] < 1.8
            key, typer = "distance", _lunar_type
        if not near.any():
            continue
        times = _greatest(lambda t, g=geometry, k=key: g(t)[k], jd0[near])
        geo = geometry(times)
        for i, jd in enumerate(times):
            if not start <= jd <= stop:
                continue
            g = {k: float(v[i]) for k, v in geo.items()}
            etype = typer(g)
            if etype is None:
                continue
            out.append(Event(float(jd), "eclipses", f"{etype}-{kind}-eclipse", ("sun", "moon"),
                             extra={k: round(v, 4) for k, v in g.items()}))
    return out
