"""How many CPU threads a long kexue job uses: one rule, in one place.

PyTorch starts one intra-op thread per core it sees, in every process. That is right for one
job alone on a machine, and badly wrong when several jobs (or ``torchrun`` workers) share it:
on a shared two-core machine an oversubscribed run was measured 17 times slower. kexue's
commands that run models (``kexue pretrain``, ``kexue fill-mask``, ``kexue demo``) therefore
call :func:`set_threads`, whose default is

    ``threads = max(1, min(4, usable_cpus // processes_on_this_machine))``

where ``usable_cpus`` counts the CPUs this process may run on (its affinity mask, which
``taskset`` and container CPU sets restrict) and ``processes_on_this_machine`` is the number
of worker processes started together (``torchrun --nproc_per_node``). Four is the cap because
the small models kexue trains on CPUs gain little beyond it.

Set it yourself with ``--threads N`` (``kexue fill-mask``), ``threads = N`` in the ``[train]``
table of a ``kexue pretrain`` config (``0``: this rule), or ``kexue.threads.set_threads(N)``
(which is ``torch.set_num_threads``) in your own script.
"""

from __future__ import annotations

import os

__all__ = ["MAX_DEFAULT_THREADS", "usable_cpus", "default_threads", "set_threads"]

#: the most threads the default rule gives one process
MAX_DEFAULT_THREADS = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where the platform
    has no affinity call)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads(processes: int = 1) -> int:
    """The default rule: ``max(1, min(4, usable_cpus() // processes))``."""
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise ValueError(f"processes must be an int >= 1, got {processes!r}")
    return max(1, min(MAX_DEFAULT_THREADS, usable_cpus() // processes))


def set_threads(threads: int | None = None, *, processes: int = 1) -> int:
    """``torch.set_num_threads`` with ``threads`` (``None`` or ``0``: :func:`default_threads`);
    returns the number set."""
    import torch

    if threads is None or threads == 0:
        threads = default_threads(processes)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be an int >= 1 (or 0 for the default), got {threads!r}")
    torch.set_num_threads(threads)
    return threads
