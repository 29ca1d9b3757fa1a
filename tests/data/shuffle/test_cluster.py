"""kexue.data.shuffle.cluster: the shuffle as a Dask job on a local cluster (loopback only).

A ``LocalCluster`` with 2 worker processes (in-process scheduler on 127.0.0.1) shuffles a
corpus of plain, gzip and bzip2 files given as ``file://`` URLs. Worker death: with Dask's
default ``allowed-failures`` the killed worker's tasks are retried and the output is the same
bytes as an undisturbed run; when the scheduler gives up (``allowed_failures = 0``) the job
fails, nothing is published and the job directory is removed. Both are tested.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

distributed = pytest.importorskip(
    "distributed",
    reason="the Dask shuffle needs the 'cluster' extra: pip install 'kexue[cluster]'")

from kexue.cli.shuffle import main  # noqa: E402
from kexue.data.shuffle.cluster import shuffle_cluster  # noqa: E402
from kexue.io import lines as L  # noqa: E402

N = 6000
LINES = [b"%05d %s" % (i, b"xy" * (i % 29)) for i in range(N)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Four inputs (plain, gzip, bzip2 named .txt, plain without a final newline)."""
    d = tmp_path_factory.mktemp("corpus")
    parts = [LINES[:1500], LINES[1500:3500], LINES[3500:5000], LINES[5000:]]
    (d / "c-0.txt").write_bytes(b"\n".join(parts[0]) + b"\n")
    (d / "c-1.txt.gz").write_bytes(gzip.compress(b"\n".join(parts[1]) + b"\n", mtime=0))
    (d / "c-2.txt").write_bytes(bz2.compress(b"\n".join(parts[2]) + b"\n"))
    (d / "c-3.txt").write_bytes(b"\n".join(parts[3]))
    return d


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def read_set(outputs) -> list[bytes]:
    """The lines of the output files, in order."""
    data = b"".join(b"".join(L.read_lines(u.removeprefix("file://"))) for u in outputs)
    assert data.endswith(b"\n")
    return data.split(b"\n")[:-1]


def run(client, corpus: Path, out: Path, seed: int, **kw):
    out.mkdir(exist_ok=True)
    return shuffle_cluster([f"file://{corpus}/c-*"], f"file://{out}/part-{{i:02d}}.txt.gz",
                           client=client, memory="64K", seed=seed, shard_lines=1000, **kw)


def test_multiset_shards_and_nothing_left(client, corpus, tmp_path):
    report = run(client, corpus, tmp_path / "out", seed=1)
    assert report.partitions == 4 and report.buckets > 4 and report.lines == N
    got = read_set(report.outputs)
    assert collections.Counter(got) == collections.Counter(LINES)
    assert got != LINES
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == [f"part-{i:02d}.txt.gz" for i in range(6)], "job files left or shards wrong"
    assert [len(read_set([str(tmp_path / "out" / n)])) for n in names] == [1000] * 6
    assert all(L.file_codec(tmp_path / "out" / n) == "gzip" for n in names)


def test_seed_fixes_the_output_whatever_the_number_of_workers(client, corpus, tmp_path):
    two = run(client, corpus, tmp_path / "two", seed=5)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as one_client:
            one = run(one_client, corpus, tmp_path / "one", seed=5)
    assert read_set(one.outputs) == read_set(two.outputs)
    for a, b in zip(one.outputs, two.outputs, strict=True):  # the compressed bytes too
        assert Path(a.removeprefix("file://")).read_bytes() == Path(
            b.removeprefix("file://")).read_bytes()
    other = run(client, corpus, tmp_path / "other", seed=6)
    assert read_set(other.outputs) != read_set(two.outputs)


def test_positions_are_uniform_chi_square(client, corpus, tmp_path):
    """Input decile x output decile over 3 seeds: every cell expects 3 * N / 100 lines when the
    order is uniform (a bucket left unshuffled or written out of order fails this)."""
    table = np.zeros((10, 10))
    index = {line: i for i, line in enumerate(LINES)}
    for seed in range(3):
        report = run(client, corpus, tmp_path / f"s{seed}", seed=seed)
        for pos, line in enumerate(read_set(report.outputs)):
            table[index[line] * 10 // N, pos * 10 // N] += 1
    chi2 = ((table - table.mean()) ** 2 / table.mean()).sum()
    p = stats.chi2.sf(chi2, 99)
    assert p > 1e-3, f"chi-square rejects uniform positions (p={p:.2e})"


def test_one_output_file_and_large_buckets(client, tmp_path):
    """Short lines: a bucket costs more than the memory budget (16 bytes a line of overhead);
    it is shuffled by the bounded-memory single-machine path on the worker."""
    src = tmp_path / "short.txt"
    short = [b"%d" % i for i in range(20000)]
    src.write_bytes(b"\n".join(short) + b"\n")
    out = tmp_path / "out.txt"
    report = shuffle_cluster(str(src), str(out), client=client, memory="64K", seed=2)
    assert report.large_buckets > 0
    got = out.read_bytes().split(b"\n")[:-1]
    assert collections.Counter(got) == collections.Counter(short) and got != short
    assert sorted(os.listdir(tmp_path)) == ["out.txt", "short.txt"]


def test_cli_matches_the_python_api(client, corpus, tmp_path, capsys):
    expect = run(client, corpus, tmp_path / "api", seed=9)
    assert len(expect.outputs) == 6
    (tmp_path / "cli").mkdir()
    code = main(["--scheduler", client.scheduler.address, f"file://{corpus}/c-*", "-o",
                 f"file://{tmp_path}/cli/part-{{i:02d}}.txt.gz", "--shard-lines", "1000",
                 "-m", "64K", "-s", "9"])
    assert code == 0, capsys.readouterr().err
    got = sorted(os.listdir(tmp_path / "cli"))
    assert got == sorted(os.listdir(tmp_path / "api"))
    assert all((tmp_path / "cli" / n).read_bytes() == (tmp_path / "api" / n).read_bytes()
               for n in got)
    capsys.readouterr()
    for extra in (["--shard-bytes", "1M"], ["-z"]):  # not supported on the cluster: refused
        assert main(["--scheduler", client.scheduler.address, f"file://{corpus}/c-*", "-o",
                     f"file://{tmp_path}/x-{{i}}.txt", *extra]) == 2
        assert "--scheduler" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["api", "cli"]


def test_existing_shards_need_force(client, corpus, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for i in range(8):
        (out / f"part-{i:02d}.txt.gz").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="already exist"):
        run(client, corpus, out, seed=1)
    report = run(client, corpus, out, seed=1, force=True)
    assert sorted(os.listdir(out)) == [f"part-{i:02d}.txt.gz" for i in range(6)]
    assert collections.Counter(read_set(report.outputs)) == collections.Counter(LINES)


def test_truncated_gzip_fails_the_job_with_no_output(client, corpus, tmp_path, capsys):
    bad = tmp_path / "in"
    bad.mkdir()
    whole = (corpus / "c-1.txt.gz").read_bytes()
    (bad / "cut.txt.gz").write_bytes(whole[: len(whole) // 2])
    (bad / "ok.txt").write_bytes((corpus / "c-0.txt").read_bytes())
    (tmp_path / "out").mkdir()
    code = main(["--scheduler", client.scheduler.address, f"file://{bad}/*", "-o",
                 f"file://{tmp_path}/out/part-{{i}}.txt", "--shard-lines", "100", "-s", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "cut.txt.gz" in err and "truncated" in err, err
    assert os.listdir(tmp_path / "out") == [], "output or job directory left"


def _killer(marker: str):
    """A worker plugin that SIGKILLs its worker process when the first scatter task starts
    (once: ``marker`` records it). Defined in a function so it is pickled by value."""
    class KillOnce(distributed.WorkerPlugin):
        name = "kexue-test-kill-once"

        def transition(self, key, start, finish, **kwargs):
            if finish == "executing" and "kexue-scatter" in str(key) and not os.path.exists(
                    marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)

    return KillOnce()


def test_killed_worker_is_retried_to_the_same_output(client, corpus, tmp_path):
    expect = read_set(run(client, corpus, tmp_path / "ref", seed=11).outputs)
    marker = tmp_path / "killed"
    client.register_plugin(_killer(str(marker)))
    try:
        report = run(client, corpus, tmp_path / "out", seed=11)
    finally:
        client.unregister_worker_plugin("kexue-test-kill-once")
    assert marker.exists(), "no worker was killed"
    assert read_set(report.outputs) == expect
    assert len(os.listdir(tmp_path / "out")) == len(report.outputs)


def test_killed_worker_without_retries_fails_with_nothing_published(client, corpus, tmp_path):
    scheduler = client.cluster.scheduler
    marker = tmp_path / "killed"
    allowed, scheduler.allowed_failures = scheduler.allowed_failures, 0
    client.register_plugin(_killer(str(marker)))
    try:
        with pytest.raises(distributed.scheduler.KilledWorker):
            run(client, corpus, tmp_path / "out", seed=11)
    finally:
        client.unregister_worker_plugin("kexue-test-kill-once")
        scheduler.allowed_failures = allowed
    assert marker.exists()
    assert os.listdir(tmp_path / "out") == [], "output or job directory left"


def test_stale_job_directories_of_this_host_are_removed(tmp_path):
    import socket

    from kexue.data.shuffle.cluster import remove_stale_jobs

    host = socket.gethostname()
    dead = tmp_path / f".kexue-shuffle.{host}.999999999.0123abcd.kexue-tmp"
    live = tmp_path / f".kexue-shuffle.{host}.{os.getpid()}.0123abcd.kexue-tmp"
    other = tmp_path / ".kexue-shuffle.elsewhere.999999999.0123abcd.kexue-tmp"
    for d in (dead, live, other):
        d.mkdir()
        (d / "part-000000").write_bytes(b"x\n")
    assert remove_stale_jobs(f"file://{tmp_path}") == [f"file://{dead}"]
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name])
