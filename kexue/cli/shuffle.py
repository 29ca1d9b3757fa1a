"""Shuffle the lines of files larger than memory, exactly uniformly (kexue.fm/archives/8662)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

_EPILOG = """\
Every order of the input lines is equally likely whatever the memory budget (Rao/Sandelius
scatter, see docs/shuffle.md); the same --seed and --memory give the same output. Lines are
bytes; a last line without a newline gets one. The output appears atomically (temporary name,
renamed at the end), so OUTPUT may equal an input; it keeps the mode of the file it replaces
and is never more readable than the inputs. Shards: OUTPUT is a template with {i} (e.g.
'part-{i:05d}.txt'), or gets '-{i:05d}' appended; an existing set of shards is refused unless
--force. A line larger than --memory is refused before anything is written. Temporary files
left by a killed run are removed by the next run on the same output (and in --tmpdir, where
they are named kexue-shuffle-PID-RANDOM.*.kexue-tmp). Inputs compressed with gzip, bzip2, xz
or zstd are recognised by content and decompressed while streaming; an output or shard named
.gz/.bz2/.xz/.zst is written compressed (--level).

examples:
  kexue shuffle corpus/*.jsonl -o shuffled.jsonl --memory 4G --seed 1
  cat a.txt b.txt | kexue shuffle - -o - --memory 256M > out.txt
  kexue shuffle big.txt -o 'shuf/part-{i:05d}.txt' --shard-lines 100000
  kexue shuffle train-*.txt.gz -o 'shuf/part-{i:03d}.txt.gz' --shard-lines 100000 -s 1
  kexue shuffle --scheduler tcp://HOST:8786 'file:///data/corpus-*.txt.gz' \
      -o 'file:///data/shuf/part-{i:05d}.txt.gz' --shard-lines 100000 -s 1

With --scheduler, the job runs on that Dask cluster (pip install 'kexue[cluster]'): INPUTs
and OUTPUT are fsspec URLs or paths that every worker sees, --memory is per task, --tmpdir is
a shared URL, and -j, --no-threads, -z and --max-open-files do not apply (see docs/shuffle.md,
"Cluster").
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kexue shuffle",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input files, '-' for stdin")
    p.add_argument("-o", "--output", required=True, help="output file, '-' for stdout")
    p.add_argument(
        "-m", "--memory", default="1G", metavar="SIZE",
        help="memory budget: 512K, 256M, 4G or bytes (default 1G)",
    )
    p.add_argument("-s", "--seed", type=int, default=None, help="random seed (default: fresh)")
    p.add_argument("-T", "--tmpdir", default=None, metavar="DIR",
                   help="directory for temporary files (default: system temp dir)")
    shard = p.add_mutually_exclusive_group()
    shard.add_argument("--shard-lines", type=int, default=None, metavar="N",
                       help="write numbered shards of at most N lines")
    shard.add_argument("--shard-bytes", default=None, metavar="SIZE",
                       help="write numbered shards of at most SIZE bytes")
    p.add_argument("-z", "--zero-terminated", action="store_true",
                   help="lines end with NUL, not newline")
    p.add_argument("--max-open-files", type=int, default=None, metavar="N",
                   help="most buckets per scatter pass (default 256; bigger inputs are split "
                        "again)")
    p.add_argument("--level", type=int, default=None, metavar="N",
                   help="compression level of an output named .gz/.bz2/.xz/.zst (gzip, bzip2 "
                        "1-9, default 6/9; xz 0-9, default 6; zstd 1-22, default 3)")
    p.add_argument("--force", action="store_true",
                   help="with --shard-lines/--shard-bytes: replace an existing set of shards "
                        "(the whole set, once the new one is complete)")
    p.add_argument("--fsync", action="store_true",
                   help="flush the output to disk before the final rename (durable, slower)")
    p.add_argument("--no-threads", action="store_true",
                   help="do everything on one thread (for comparison; same output)")
    p.add_argument("-j", "--workers", type=int, default=2, metavar="N",
                   help="threads shuffling buckets in parallel (default 2; same output)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--decompress-threads", type=int, default=None, metavar="N",
                   help="threads decompressing compressed inputs ahead of the scatter, up to N "
                        "files at once (default: the cores minus 2, which the scatter keeps "
                        "busy; 0: decompress on the reading thread; same output)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on this Dask cluster (e.g. tcp://HOST:8786); inputs and output "
                        "are fsspec URLs")
    return p


def _on_sigterm(signum, frame):  # turn SIGTERM into the same clean exit as Ctrl-C
    raise KeyboardInterrupt


def _message(e: BaseException) -> str:
    """The error without Python's ``[Errno N]`` prefix (the reason and the file it concerns)."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror + (f": {e.filename!r}" if e.filename else "")
    return str(e)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if "numpy" not in sys.modules:
        # The shuffle does no linear algebra: keep OpenBLAS (loaded with NumPy) from starting
        # a thread that spins for a while after start-up (measured: ~0.1 s of CPU taken from
        # the shuffle's two busy threads on a two-core machine).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args.scheduler is not None:  # inputs and outputs are URLs there: checked by the job
        return _cluster(args)
    from kexue.cli._exitcodes import (
        USAGE_ERROR,
        UsageError,
        check_input_file,
        check_output_file,
    )
    from kexue.data.shuffle import MAX_OPEN_FILES, shuffle_files
    from kexue.data.sizes import parse_size

    try:  # what the arguments alone show is a usage error (2), as in every kexue command
        for path in args.inputs:
            check_input_file(path, "input")
        check_output_file(args.output.replace("{", "").replace("}", ""), "output")
        if args.tmpdir is not None and not os.path.isdir(args.tmpdir):
            raise UsageError(f"temporary directory {args.tmpdir!r} does not exist")
        for size in (args.memory, args.shard_bytes):
            if size is not None:
                try:
                    parse_size(size)
                except ValueError as e:
                    raise UsageError(str(e)) from None
    except UsageError as e:
        print(f"kexue shuffle: error: {e}", file=sys.stderr)
        return USAGE_ERROR

    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        previous = None
    try:
        report = shuffle_files(
            args.inputs,
            args.output,
            memory=args.memory,
            seed=args.seed,
            tmpdir=args.tmpdir,
            shard_lines=args.shard_lines,
            shard_bytes=args.shard_bytes,
            separator=b"\0" if args.zero_terminated else b"\n",
            max_open_files=args.max_open_files or MAX_OPEN_FILES,
            fsync=args.fsync,
            force=args.force,
            level=args.level,
            threads=not args.no_threads,
            workers=args.workers,
            decompress_threads=args.decompress_threads,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except BrokenPipeError:  # `kexue shuffle ... -o - | head`: stop quietly, like coreutils
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except (OSError, ValueError, TypeError) as e:
        print(f"kexue shuffle: error: {_message(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kexue shuffle: interrupted; temporary files removed, no output written",
              file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if args.output != "-" and not args.quiet and sys.stderr.isatty():
        print(f"kexue shuffle: {report.lines} lines -> {', '.join(report.outputs)}",
              file=sys.stderr)
    return 0


def _cluster(args: argparse.Namespace) -> int:
    """``--scheduler``: the same shuffle as a Dask job (:mod:`kexue.data.shuffle.cluster`)."""
    if args.shard_bytes is not None:
        print("kexue shuffle: error: --scheduler cuts shards by lines only (--shard-lines)",
              file=sys.stderr)
        return 2
    if args.zero_terminated:
        print("kexue shuffle: error: -z is not supported with --scheduler", file=sys.stderr)
        return 2
    try:
        from distributed import Client

        from kexue.data.shuffle.cluster import shuffle_cluster
    except ImportError as e:
        print(f"kexue shuffle: error: --scheduler needs Dask: pip install 'kexue[cluster]' ({e})",
              file=sys.stderr)
        return 1
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        previous = None
    try:
        with Client(args.scheduler, timeout="30s") as client:
            report = shuffle_cluster(
                args.inputs, args.output, client=client, memory=args.memory, seed=args.seed,
                tmpdir=args.tmpdir, shard_lines=args.shard_lines, level=args.level,
                force=args.force, fsync=args.fsync)
    except (OSError, ValueError, TypeError) as e:
        print(f"kexue shuffle: error: {_message(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kexue shuffle: interrupted; the job's temporary files were removed, no output "
              "written", file=sys.stderr)
        return 130
    except Exception as e:  # a Dask error (e.g. KilledWorker: a worker died too often)
        print(f"kexue shuffle: error: the Dask job failed, no output written "
              f"({type(e).__name__}: {e})", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        print(f"kexue shuffle: {report.lines} lines -> {len(report.outputs)} file(s) "
              f"({report.partitions} partitions, {report.buckets} buckets)", file=sys.stderr)
    return 0
