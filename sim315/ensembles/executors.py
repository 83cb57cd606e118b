"""Where chunks of runs are computed: this machine's CPU threads, its GPU, or a Dask cluster.

Each executor turns an ordered list of chunk starts into ``(a, P, values, status)`` in run
order; the runner streams them into the result file. A run's numbers depend only on the
scenario, the seed and its run number, so every executor gives the same datasets: ``local``
and ``dask`` run the same compiled CPU kernel (bit-identical), ``cuda`` the same model code
compiled for the GPU (float64; equal to the CPU within 1e-12 relative, math library ulps).

What :func:`sim315.ensembles.runner.execute` asks of an executor, in order: ``check(plan)``
(refuse a bad setting before anything is made), ``begin(plan, starts)`` for a new run (start
anything that can go on while the file is made), ``prepare(plan)`` (compile or load the
kernels), ``compute(plan, starts)`` (any number of times), and ``end()`` when a run stops
before computing took what ``begin`` started.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np

from ..core.errors import Sim315Error
from .kernelcall import run_axis, values

SCHEDULER_ENV = "SIM315_SCHEDULER"
#: Seconds to wait for a first worker before a Dask run is refused.
WORKER_WAIT = 10


#: Chunks whose parameters are drawn ahead, each in its own thread.
DRAW_AHEAD = 2


def _sample(plan, a: int) -> np.ndarray:
    return plan.rows(a, min(plan.runs, a + plan.chunk))


def _sample_after(before: Future | None, plan, a: int) -> np.ndarray:
    """:func:`_sample` once ``before`` (the chunk before's draw) has ended: the first
    chunks' history runs, which take one lock, then run in chunk order (the second chunk's
    took it first about half the time, and the first kernel call waited for both)."""
    if before is not None:
        wait([before])
    return _sample(plan, a)


@contextmanager
def _sampler_started(plan) -> Iterator[None]:
    """The sampler's first row drawn in a thread while the block runs (the kernels
    compiling or loading): what a sampler makes once is made then, off the first chunk's
    path (a Latin hypercube's shuffles, 0.4 s at 10^6 runs of 26 dimensions, release the
    GIL). Its errors are raised at the block's end."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim315-sampler") as pool:
        first = pool.submit(plan.sampler.rows, 0, min(plan.runs, 1))
        yield
        first.result()


class Draws:
    """The parameter rows of a run's chunks (``starts``, in order), each drawn
    :data:`DRAW_AHEAD` chunks ahead of the one :meth:`next` hands on, each in a thread of
    its own (drawing: quantiles, history runs of new posterior draws). Made before the
    chunks are computed, it draws the first ones meanwhile (:meth:`LocalExecutor.begin`).
    """

    def __init__(self, plan, starts: list[int]):
        self.plan = plan
        self.starts = list(starts)
        self.pool = ThreadPoolExecutor(max_workers=DRAW_AHEAD, thread_name_prefix="sim315-sampler")
        self.ahead: deque = deque()
        for a in self.starts[:DRAW_AHEAD]:
            after = self.ahead[-1] if self.ahead else None
            self.ahead.append(self.pool.submit(_sample_after, after, plan, a))
        self.given = 0

    def next(self) -> np.ndarray:
        """The next chunk's rows (waiting for them), another chunk's drawing started."""
        P = self.ahead.popleft().result()
        i = self.given + DRAW_AHEAD
        if i < len(self.starts):
            self.ahead.append(self.pool.submit(_sample, self.plan, self.starts[i]))
        self.given += 1
        return P

    def close(self) -> None:
        """Stop: draws not started are cancelled, those under way end (an error they
        raised is dropped: nothing waits for their rows)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


class LocalExecutor:
    """This machine: Numba threads over runs (``target="cpu"``) or one GPU (``"cuda"``).

    The next :data:`DRAW_AHEAD` chunks' parameters are drawn in as many background threads
    while a chunk computes (:class:`Draws`): drawing would otherwise be one thread's work
    that the kernel's threads wait for. :meth:`begin` starts the first ones early.
    """

    def __init__(self, threads: int | None = None, target: str = "cpu"):
        self.threads = threads
        self.target = target
        self.name = "cuda" if target == "cuda" else "local"
        self._early: Draws | None = None

    def check(self, plan) -> None:
        """Refuse a bad setting before anything is created."""
        import numba

        most = numba.config.NUMBA_NUM_THREADS
        if self.threads is not None and not 1 <= self.threads <= most:
            raise Sim315Error(
                "executor",
                "--threads",
                f"threads must be 1..{most}, not {self.threads}",
                f"give a number from 1 to {most}",
            )
        if self.target == "cuda":
            plan.model.kernel_module(plan.method, "cuda")  # compiles, or says why not

    def begin(self, plan, starts: list[int]) -> None:
        """Start drawing the first chunks of ``starts`` now, for the :meth:`compute` of
        the same plan and starts that follows: the run's file is made and its kernels
        loaded meanwhile (at 10^6 plan runs the first chunk's draws, with 2,233 history
        runs, took 0.09 s after the file was made: the first kernel call began at 0.20 s of
        the run, now at 0.14 s). :meth:`end` lets go of draws that no compute took."""
        self.end()
        self._early = Draws(plan, starts)

    def end(self) -> None:
        """Stop the draws :meth:`begin` started, if no :meth:`compute` took them."""
        early, self._early = self._early, None
        if early is not None:
            early.close()

    def prepare(self, plan) -> None:
        """Compile (or load from the cache) the CPU kernels the run calls: the scenario's
        and its history runs' (a model text's first run on the block-of-runs kernel compiles
        for seconds), before the first chunk is timed; the sampler's own start meanwhile."""
        with _sampler_started(plan):
            if self.target == "cpu":
                plan.model.prepare(plan_call(plan))
            if plan.start is not None:
                plan.start.prepare()

    def _draws(self, plan, starts: list[int]) -> Draws:
        """The draws :meth:`begin` started for ``plan`` and ``starts``, else new ones."""
        early, self._early = self._early, None
        if early is not None and early.plan is plan and early.starts == list(starts):
            return early
        if early is not None:
            early.close()
        return Draws(plan, starts)

    def compute(self, plan, starts: list[int]) -> Iterator[tuple]:
        model = plan.model
        call = plan_call(plan)
        reuse = ChunkBuffers(call) if self.target == "cpu" else None
        draws = self._draws(plan, starts)
        try:
            for a in starts:
                P = draws.next()
                res = model.run_call(
                    call,
                    P,
                    run_offset=a,
                    threads=self.threads,
                    target=self.target,
                    buffers=None if reuse is None else reuse.take(P.shape[0]),
                )
                yield a, P, res.values, res.status
                del res
        finally:
            draws.close()


class ChunkBuffers:
    """A run's output buffers, reused from chunk to chunk once nothing else holds them: a
    fresh one costs its first touch of every page (32 MB a chunk: the plan's kernel alone
    takes 4.1 s for 10^6 runs with fresh buffers, 2.7 s with reused ones). A buffer still
    referenced anywhere (the writer or summary thread, a view the summary keeps, a caller's
    list) is never handed out again; every value of one that is, is written by the kernel."""

    #: Buffers kept for reuse: the chunks in flight (the one computing, the one just
    #: computed, the runner's ``WRITE_AHEAD`` waiting for the writer and summary) and one
    #: (the summary keeps its first chunks until it has calibrated its histograms).
    KEEP = 5

    def __init__(self, call):
        self.call = call
        self.kept: list[tuple] = []  # (the owner of out's memory or None, out, status)

    def take(self, runs: int) -> tuple[np.ndarray, np.ndarray]:
        for owner, out, status in self.kept:
            # an array's references: the tuple in ``kept``, this loop's name, getrefcount's
            # argument, and an owner's also ``out``'s base (a view of a view refers to the
            # owner: a chunk's values, transposed, hold it); any more is a holder elsewhere
            if (
                out.shape[run_axis(out)] == runs
                and sys.getrefcount(out) == 3
                and sys.getrefcount(status) == 3
                and (owner is None or sys.getrefcount(owner) == 4)
            ):
                return out, status
        pair = self.call.buffers(runs)
        if len(self.kept) < self.KEEP:
            self.kept.append((pair[0].base, *pair))
        return pair


def plan_call(plan):
    """The kernel call of a run plan: its method, grid, outputs and seed
    (:meth:`RunPlan.kernel_call`)."""
    return plan.kernel_call()


def chunk_task(source, call, P, run0):
    """One chunk on a Dask worker: load the model's kernel (compiled once per worker and
    cached on its disk) and run it with the run's kernel call. A pure function of its
    arguments, so a chunk lost with its worker is simply computed again elsewhere."""
    import numba

    from ..compilation.cache import load_kernel_module
    from .threads import run_threads

    mod, _, _ = load_kernel_module(source)
    out, status = call.buffers(P.shape[0])
    serial = getattr(mod, call.entry_points[1])
    run_threads(serial, call.args(P, out, status, run0), P.shape[0], numba.config.NUMBA_NUM_THREADS)
    return values(out), status  # (runs, times, outputs): sent as such, whatever the layout


class DaskExecutor:
    """Chunks as tasks on a Dask cluster (``dask.distributed``), results back in run order.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``); default ``$SIM315_SCHEDULER``.
    client : distributed.Client, optional
        An existing client (tests use a ``LocalCluster``).
    window : int, optional
        Chunks in flight at once (default: twice the workers' threads): bounds memory.
    on_result : callable, optional
        Called with the chunk start after each chunk arrives (tests, progress).
    """

    name = "dask"

    def __init__(self, address=None, client=None, window=None, on_result=None):
        try:
            import distributed
        except ImportError:
            raise Sim315Error(
                "executor",
                "dask",
                "the dask executor needs dask.distributed, not installed",
                "pip install -e '.[dask]'",
            ) from None
        self._distributed = distributed
        self.address = address or os.environ.get(SCHEDULER_ENV)
        self.client = client
        self.window = window
        self.on_result = on_result

    def prepare(self, plan) -> None:
        """The history runs' kernel, compiled here: the parameters are drawn here (the
        workers compile the scenario's kernel, each once); the sampler's start meanwhile."""
        with _sampler_started(plan):
            if plan.start is not None:
                plan.start.prepare()

    def begin(self, plan, starts: list[int]) -> None:
        """Nothing to start early: a chunk's rows are drawn as it is submitted."""

    def end(self) -> None:
        """Nothing to stop (see :meth:`begin`)."""

    def check(self, plan) -> None:
        if self.client is None:
            if not self.address:
                raise Sim315Error(
                    "executor",
                    "--scheduler",
                    "the dask executor needs a scheduler address",
                    f"pass --scheduler tcp://HOST:8786 or set {SCHEDULER_ENV}",
                )
            try:
                self._distributed.comm.parse_address(self.address, strict=True)
                host = self._distributed.comm.get_address_host_port(self.address)
            except (ValueError, TypeError):
                raise Sim315Error(
                    "executor",
                    "--scheduler",
                    f"'{self.address}' is not a scheduler address",
                    "write it as tcp://HOST:PORT",
                ) from None
            if not host[0] or not host[1]:
                raise Sim315Error(
                    "executor", "--scheduler", f"'{self.address}' has no host or port"
                )
            try:
                self.client = self._distributed.Client(self.address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise Sim315Error(
                    "executor",
                    "--scheduler",
                    f"cannot reach the Dask scheduler at {self.address} ({type(exc).__name__})",
                    "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'",
                ) from None
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except (TimeoutError, OSError):
            raise Sim315Error(
                "executor",
                "--scheduler",
                f"the Dask scheduler at {self.address or 'the client'} has no workers "
                f"(waited {WORKER_WAIT} s)",
                "start workers with 'dask worker ADDRESS'",
            ) from None

    def compute(self, plan, starts: list[int]) -> Iterator[tuple]:
        model = plan.model
        source = model.source_code(plan.method)
        client = self.client
        # sent to every worker once, not with each chunk
        [src, call] = client.scatter([source, plan_call(plan)], broadcast=True)
        threads = sum(client.nthreads().values()) or 1
        window = self.window or 2 * threads
        pending: deque = deque()
        it = iter(starts)

        def submit(a):
            P = _sample(plan, a)
            fut = client.submit(chunk_task, src, call, P, a, pure=False, retries=2)
            pending.append((a, P, fut))

        for a in it:
            submit(a)
            if len(pending) >= window:
                break
        while pending:
            a, P, fut = pending.popleft()
            values, status = fut.result()
            if self.on_result is not None:
                self.on_result(a)
            yield a, P, values, status
            nxt = next(it, None)
            if nxt is not None:
                submit(nxt)


def make_executor(name: str, threads=None, scheduler=None):
    """The executor for a ``--executor`` name."""
    if name == "local":
        return LocalExecutor(threads)
    if name == "cuda":
        return LocalExecutor(threads, target="cuda")
    if name == "dask":
        return DaskExecutor(address=scheduler)
    raise Sim315Error(
        "executor", "--executor", f"unknown executor '{name}'", "use local, dask or cuda"
    )
