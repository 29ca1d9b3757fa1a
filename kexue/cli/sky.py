"""A year's celestial events in Beijing time, as the blog's 天象 lists publish them.

Usage:

    kexue sky [YEAR | now] [--from DATE] [--to DATE] [--only CATEGORY,...]
              [--lang zh|en] [--tz ZONE] [--format text|json|csv|ics] [-o FILE]
    kexue sky --list-categories | --list-zones

``kexue sky 2020`` prints the whole year in the layout of kexue.fm/archives/7144 (Chinese,
Beijing time); ``kexue sky now`` the coming 30 days (the blog's live 天象 page); with no
argument, the current year. Dates are local dates in ``--tz``; ``--to`` is inclusive
(``--from`` alone runs to the end of its year, ``--to`` alone from the start of its year).
Everything is computed offline from JPL DE421 (1899-07-29 to 2053-10-09). Exit status: 0 on
success, 2 on bad input (unknown category or time zone, a date outside DE421), 1 when the
output cannot be written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

__all__ = ["demo_section", "main", "month_text"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    from kexue.astro.format import FORMATS

    p = argparse.ArgumentParser(prog="kexue sky", description=__doc__.splitlines()[0])
    p.add_argument("when", nargs="?", default=None,
                   help="a year (e.g. 2020) or 'now' (the coming 30 days); default: this year")
    p.add_argument("--from", dest="first", type=_date, help="first local date, YYYY-MM-DD")
    p.add_argument("--to", dest="last", type=_date, help="last local date (inclusive)")
    from kexue.astro.events import CATEGORIES

    p.add_argument("--only", help="comma-separated categories: " + ", ".join(CATEGORIES))
    p.add_argument("--lang", default="zh", choices=["zh", "en"], help="text language")
    p.add_argument("--tz", default="Asia/Shanghai", help="IANA time zone (default Beijing)")
    p.add_argument("--format", default="text", choices=list(FORMATS), help="output format")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.add_argument("--list-categories", action="store_true", help="print the categories")
    p.add_argument("--list-zones", action="store_true", help="print the valid time zones")
    return p


def _range(args, zone, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """(first, last, title) from the positional argument and --from/--to."""
    when = args.when
    if when is not None and (args.first or args.last):
        raise ValueError("give either a YEAR / 'now' or --from/--to, not both")
    if when == "now":
        return today, today + dt.timedelta(days=30), ""
    if when is not None:
        if not (when.isdigit() and len(when) == 4):
            raise ValueError(f"expected a 4-digit year or 'now', got {when!r}")
        year = int(when)
        return dt.date(year, 1, 1), dt.date(year, 12, 31), f"{year}"
    if args.first or args.last:
        first = args.first or dt.date(args.last.year, 1, 1)
        last = args.last or dt.date(first.year, 12, 31)
        return first, last, ""
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31), f"{today.year}"


def month_text(day: dt.date | None = None, zone: str = "Asia/Shanghai",
               lang: str = "zh") -> str:
    """The events of ``day``'s month (default: the current month) as the blog's text; used by
    ``kexue demo``."""
    from kexue.astro.calendar import compute, parse_zone
    from kexue.astro.ephemeris import Ephemeris
    from kexue.astro.format import render

    tz = parse_zone(zone)
    day = day or dt.datetime.now(tz).date()
    first = day.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    eph = Ephemeris()
    events = compute(eph, first, last, tz)
    title = f"{first.year}年{first.month}月天象" if lang == "zh" else f"{first:%B %Y}"
    return render(events, eph, tz, "text", lang, title)


def demo_section() -> None:
    """Print this month's events for ``kexue demo`` (a note instead if Skyfield is absent)."""
    print("\nThis month's celestial events (kexue sky, archive 7144 layout, Beijing time):")
    try:
        print(month_text(), end="")
    except ImportError as e:
        print(f"  (skipped: {e})")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from kexue.astro.calendar import compute, parse_categories, parse_zone
    from kexue.astro.ephemeris import Ephemeris, EphemerisRangeError
    from kexue.astro.events import CATEGORIES
    from kexue.astro.format import render

    if args.list_categories:
        for name, doc in CATEGORIES.items():
            print(f"{name:<20} {doc}")
        return 0
    if args.list_zones:
        import zoneinfo

        print("\n".join(sorted(zoneinfo.available_timezones())))
        return 0
    try:
        zone = parse_zone(args.tz)
        categories = parse_categories(args.only)
        now = dt.datetime.now(zone)
        first, last, year = _range(args, zone, now.date())
        eph = Ephemeris()
        events = compute(eph, first, last, zone, categories)
        if args.when == "now":
            start, stop = eph.jd_from_utc(now), eph.jd_from_utc(now + dt.timedelta(days=30))
            events = [e for e in events if not e.timed or start <= e.jd < stop]
        if year:
            title = f"{year}年全年天象" if args.lang == "zh" else f"Sky events {year}"
        else:
            title = f"{first} — {last}" if args.lang == "en" else f"{first} 至 {last} 天象"
        text = render(events, eph, zone, args.format, args.lang, title)
    except (ValueError, EphemerisRangeError) as e:
        print(f"kexue sky: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"kexue sky: error: {e}", file=sys.stderr)
        return 1
    data = text.encode("utf-8")
    try:
        if args.output == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            from kexue.io.atomic import remove_stale_temps, write_bytes

            remove_stale_temps(args.output)
            write_bytes(args.output, data)
    except BrokenPipeError:  # `kexue sky 2020 | head`: stop quietly, like coreutils
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except OSError as e:
        print(f"kexue sky: error: cannot write {args.output}: {e.strerror or e}",
              file=sys.stderr)
        return 1
    return 0
