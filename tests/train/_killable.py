"""Kill points for the SIGKILL resume test without a fresh interpreter per kill.

The children are forked from one ``forkserver`` that imported torch and kexue once, so a kill
point costs a fork instead of a torch import (several seconds each on the test machine). Each
child is still a separate process killed with a real ``SIGKILL`` at a point it announces
through a pipe (like :func:`tests.faults.sigkill_when`, which reads the announcement from the
child's stdout instead)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from typing import Any

# torch._dynamo too: torch.optim.Optimizer.add_param_group imports it on first use (with
# sympy; about as long as importing torch), so every child would pay for it again.
PRELOAD = ["torch", "torch._dynamo", "kexue.train", "tests.train._tiny"]


def context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _child(ckpt_dir: str, conn: Any, midsave_of: int | None) -> None:
    from tests.train import _tiny

    if midsave_of is not None:  # stop half-way through writing that step's checkpoint
        import kexue.train.checkpoint as ck
        import kexue.train.loop as loop

        real_write, real_save = ck._HashingWriter.write, ck.save_checkpoint

        def save(path: Any, state: Any) -> None:
            if str(path).endswith(f"ckpt-{midsave_of:09d}.kexue"):
                def write(self: Any, b: Any) -> int:
                    n = real_write(self, b)
                    if self.n > 4000 and not getattr(self, "told", False):
                        self.told = True
                        self.f.flush()
                        conn.send("midsave")
                        time.sleep(60)
                    return n
                ck._HashingWriter.write = write
            try:
                real_save(path, state)
            finally:
                ck._HashingWriter.write = real_write

        loop.save_checkpoint = save
    _tiny.run_tiny(ckpt_dir, announce=conn.send)
    conn.send("done")


def kill_at(ctx: Any, ckpt_dir: str, line: str, *, midsave_of: int | None = None,
            timeout: float = 120) -> int:
    """Run the tiny problem resumably in ``ckpt_dir`` in a forked child and SIGKILL it when it
    announces ``line`` (``"step N"`` after optimizer step N, or ``"midsave"``); returns its
    exit code (-9). Raises if the child ends or times out before announcing."""
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(ckpt_dir, send, midsave_of), daemon=True)
    proc.start()
    send.close()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while recv.poll(max(deadline - time.monotonic(), 0)):
            msg = recv.recv()
            seen.append(msg)
            if msg == line:
                os.kill(proc.pid, signal.SIGKILL)
                proc.join(30)
                return proc.exitcode
    except EOFError:
        pass
    finally:
        recv.close()
        if proc.is_alive():
            proc.kill()
            proc.join()
    raise AssertionError(f"the child ended without announcing {line!r} (exit code "
                         f"{proc.exitcode}); it announced {seen[-5:]}")
