"""Running a program of a batch of points on NumPy arrays of any length, in two tiers.

A program is written once against a backend (:mod:`tridiff.compiler.backends`). The **JAX tier**
traces it into one fused XLA kernel: the fastest for repeated and large calls, but each kernel
takes 50–150 ms to compile. The **NumPy tier** runs the same program with NumPy at once, with no
compile: it serves a call whose JAX kernel is not compiled yet. A kernel is compiled, in one
background thread, the second time a call needs it, and serves every later call; a batch met once
never waits for a compile. Values agree between the tiers to a few ulps; NaN and reasons are the same.

float64 stays float64 through ``jax.enable_x64`` used as a context manager: the user's global
JAX configuration is never touched.
"""

from __future__ import annotations

import atexit
import math
import queue
import threading
from contextlib import contextmanager
from functools import cached_property, partial
from typing import Callable

import numpy as np

#: Elements per call of a kernel compiled for any length: a batch of points up to it is padded to
#: a power of two (at least SMALLEST points, or 1 row of a table), and a longer one goes through in
#: chunks of it, so a few kernels serve every size and memory offset (XLA compiles for one shape at
#: a time: 100 ms for each new size). Chunks cost a large batch some speed (a dispatch each, the copy
#: out, one core), and padding a table by many elements (:data:`PAD_WORTH`) costs rows of work, so the
#: second time such a batch of one length comes, a kernel for exactly that length is compiled in the
#: background and serves it from then on: repeated work on one size runs at full speed.
CHUNK = 1 << 16
TABLE_CHUNK = 1 << 22  # elements per call for a table of rows (a row's work is larger: chunks hold more)
SMALLEST = 16
AHEAD = 4  # chunks dispatched before the first is copied out: XLA computes while NumPy copies
SMALL_COPY = 1024  # elements of a result copied out rather than lent (see to_numpy)
MAX_EXACT = 16  # lengths per kernel that get one of their own
#: Elements of padding that make a table's length worth a kernel of its own: a compile costs 0.2-0.6 s
#: of CPU, 17 rows of 2 variables padded to 32 cost microseconds, 3 rows of 10^4 padded to 4 a third more.
PAD_WORTH = 1 << 12
MAX_SEEN = 1024
#: Points per NumPy call: each node of the program keeps an array of this many values alive
#: (a nested polynomial's hundred nodes: a few MB, in cache), not one of the whole batch.
NUMPY_CHUNK = 1 << 15

_FLOAT64 = np.dtype(np.float64)
COMPILING, FAILED = "compiling", "failed"  # a kernel: compiling in the background, or not to be had
TIERS = ("numpy", "jax")
_forced: str | None = None


@contextmanager
def tier(name: str):
    """Run every program in one tier inside the block: "jax" (compiling each kernel on first use,
    as if the NumPy tier did not exist) or "numpy" (never compiling). For tests and benchmarks.

    >>> import tridiff as td
    >>> with tier("numpy"):
    ...     float(td.derivative("x**3")(2.0))
    12.0
    """
    global _forced
    if name not in TIERS:
        raise ValueError(f"unknown tier {name!r}: choose one of {TIERS}")
    before, _forced = _forced, name
    try:
        yield
    finally:
        _forced = before


def x64():
    """64-bit JAX inside a ``with`` block only (thread-local; the global config is left alone)."""
    import jax

    return jax.enable_x64(True)


def bucket(n: int, smallest: int = SMALLEST) -> int:
    """The kernel's batch length for ``n`` points: the next power of two, at least ``smallest``."""
    return max(smallest, 1 << (n - 1).bit_length())


Result = np.ndarray | tuple[np.ndarray | None, ...]


class Elementwise:
    """A program of a batch of points as a kernel taking NumPy arrays of any length (see
    :func:`elementwise`)."""

    def __init__(self, fn: Callable, numpy_fn: Callable | None = None):
        self.fn, self.numpy_fn = fn, numpy_fn
        self.warm: dict = {}  # (length, row shape, dtype) of a padded or chunk kernel -> True, COMPILING or FAILED
        self.met: set = set()  # such kernels a call needed once, served by NumPy
        # (elements behind the batch, length, row shape, dtype) -> a kernel for exactly that, COMPILING or FAILED
        self.exact: dict = {}
        self.seen: set = set()  # the lengths that came once (forgotten past MAX_SEEN: a stream of sizes)

    @cached_property
    def jitted(self):
        import jax

        return jax.jit(self.fn)

    @cached_property
    def widened(self):
        import jax
        import jax.numpy as jnp
        from jax import lax

        fn = self.fn

        @partial(jax.jit, static_argnums=1)
        def widened(wide, back):
            # ``wide`` is the batch read from the 64-byte boundary before it (see _widen): its first
            # ``back`` lanes hold whatever precedes the batch in memory, and their outputs are dropped.
            # A program that branches (lax.cond: a kink test) decides for the whole batch, though, and a
            # malloc header reads as a denormal, which a kink test takes for 0: there those lanes get
            # the first point's value (a select, which costs the loop 15-30 %, so only there).
            if back and _branches(jax.make_jaxpr(fn)(wide).jaxpr):
                wide = jnp.where(lax.iota(np.int32, wide.shape[0]) < back, wide[back], wide)
            return fn(wide)

        return widened

    def __call__(self, batch: np.ndarray) -> Result:
        n, row = batch.shape[0], batch.shape[1:]
        if not row and n <= CHUNK:  # the everyday call, kept short: a kernel call is 13 µs
            size = SMALLEST if n <= SMALLEST else 1 << (n - 1).bit_length()
            if self.numpy_fn is not None and _forced != "jax":
                key = (size, row, batch.dtype)
                if _forced == "numpy" or self.warm.get(key) is not True:
                    return self._numpy_or_later(key, batch)
            return self._padded(batch, size)
        chunk = CHUNK if not row else max(1, TABLE_CHUNK // math.prod(row))  # points per call
        size = bucket(n, 1 if row else SMALLEST)
        # A length gets a kernel of its own when chunks would serve it, or (a row of a table being
        # costly: a gradient of 10^4 variables) when padding would add many elements to compute.
        exact = None
        if n > chunk or (row and (size - n) * math.prod(row) >= PAD_WORTH):
            exact = (_behind(batch), n, row, batch.dtype)
        if self.numpy_fn is not None and _forced != "jax":
            key = (min(size, chunk), row, batch.dtype)  # the padded or chunk kernel that would serve it
            if _forced == "numpy" or self.warm.get(key) is not True:
                return self._numpy_or_later(key, batch, exact)
        if exact is not None:
            kernel = self.exact.get(exact)
            if callable(kernel):
                back = exact[0]
                with x64():
                    return _each(kernel(_widen(batch, back)), lambda out: to_numpy(out)[back:])
            if n > chunk:
                out = self._chunked(batch, (-batch.ctypes.data % 64) // batch.itemsize, chunk)
                self._meet(exact)  # after the call's own work (see _numpy_or_later)
                return out
            self._meet(exact)
        return self._padded(batch, size)

    def _padded(self, batch: np.ndarray, size: int) -> Result:
        """The kernel for ``size`` points on the batch padded with zeros to that length."""
        n = batch.shape[0]
        if n != size:
            block = np.zeros((size, *batch.shape[1:]), batch.dtype)
            block[:n] = batch
            batch = block
        with x64():
            out = self.jitted(batch)
        return to_numpy(out)[:n] if type(out) is not tuple else _each(out, lambda a: to_numpy(a)[:n])

    def scalar(self, x: float):
        """The one output at one Python float, as a NumPy scalar: ``d(3.0)`` without the general
        path's checks (a kernel call is 13 µs; they cost as much again)."""
        key = (SMALLEST, (), _FLOAT64)
        if self.numpy_fn is None or _forced == "jax" or (_forced is None and self.warm.get(key) is True):
            block = np.zeros(SMALLEST)
            block[0] = x
            with x64():
                return np.asarray(self.jitted(block))[0]
        return self(np.array([x]))[0]

    def temporary_bytes(self, batch: np.ndarray) -> int | None:
        """The bytes of XLA's temporary buffers in one call on ``batch`` (beyond its input and
        outputs), from the compiled program's own memory analysis; None where the backend does
        not report it. Compiles the program for ``batch``'s shape, once more."""
        import jax

        with x64():
            compiled = self.jitted.lower(jax.ShapeDtypeStruct(batch.shape, batch.dtype)).compile()
        stats = compiled.memory_analysis()
        return None if stats is None else int(stats.temp_size_in_bytes)

    def _call(self, block: np.ndarray):
        with x64():
            return self.jitted(block)

    def _numpy_or_later(self, key, batch: np.ndarray, exact=None) -> Result:
        """The batch by NumPy, its kernel (``key``) not being compiled; compiling it starts the
        second time it is needed, as does that of the batch's ``exact`` length, if it would get one
        (see :meth:`__call__`): both are ready when the chunks are."""
        out = self._numpy(batch)
        # A compile queued before this call's own work slowed it 10-30x: tracing holds the GIL,
        # and NumPy, which lets it go around each large operation, waited up to Python's switch
        # interval (5 ms) to have it back each time.
        if _forced is None:
            if key not in self.warm:
                if key in self.met:
                    self._warm_later(key)
                self.met.add(key)
            if exact is not None:
                self._meet(exact)
        return out

    def _meet(self, exact) -> None:
        """Count a meeting of a length that would get a kernel of its own: the second queues its compile."""
        if exact in self.seen and exact not in self.exact and len(self.exact) < MAX_EXACT:
            self._exact_later(exact)
        if len(self.seen) >= MAX_SEEN:
            self.seen.clear()
        self.seen.add(exact)

    def _numpy(self, batch: np.ndarray) -> Result:
        n, out = batch.shape[0], None
        with np.errstate(all="ignore"):  # NaN and inf are the answers here, not accidents
            for start in range(0, n, NUMPY_CHUNK):
                m = min(NUMPY_CHUNK, n - start)
                part = self.numpy_fn(batch[start:start + m])
                if m == n:
                    return _owned(part)
                out = _copy_out(out, [(start, m)], _each(part, np.asarray), n)
        return out

    def _warm_later(self, key) -> None:
        self.warm[key] = COMPILING
        length, row, dtype = key

        def work():
            try:
                with x64():
                    self.jitted(np.zeros((length, *row), dtype))  # compiles, and jit keeps the kernel
                self.warm[key] = True
            except Exception:  # out of memory, say: NumPy goes on serving this length
                self.warm[key] = FAILED

        in_background(work)

    def _exact_later(self, key) -> None:
        self.exact[key] = COMPILING

        def work():
            import jax

            back, n, row, dtype = key
            try:
                with x64():
                    self.exact[key] = self.widened.lower(jax.ShapeDtypeStruct((back + n, *row), dtype), back).compile()
            except Exception:  # out of memory, say: the chunks go on serving this length
                self.exact[key] = FAILED

        in_background(work)

    def _chunked(self, batch: np.ndarray, head: int, chunk: int) -> Result:
        # Full chunks from the aligned start; the unaligned head and the short tail share one chunk,
        # padded, so that a long batch's first call compiles one kernel, not three. A job is the
        # runs (start, length) of the batch that one call of the kernel computes.
        n = batch.shape[0]
        end = head + (n - head) // chunk * chunk
        jobs = [[(start, chunk)] for start in range(head, end, chunk)]
        rest = [(at, m) for at, m in ((0, head), (end, n - end)) if m]
        jobs += [rest] if sum(m for _, m in rest) <= chunk else [[r] for r in rest]
        out, pending = None, []
        for runs in filter(None, jobs):
            pending.append((runs, self._call(_gather(batch, runs, chunk))))
            if len(pending) > AHEAD:
                runs, result = pending.pop(0)
                out = _copy_out(out, runs, _each(result, to_numpy), n)
        while pending:
            runs, result = pending.pop(0)
            out = _copy_out(out, runs, _each(result, to_numpy), n)
        return out


def elementwise(fn: Callable, numpy_fn: Callable | None = None) -> Elementwise:
    """Wrap a JAX function of a batch of points as a kernel taking NumPy arrays of any length.

    ``fn`` maps an array whose leading axis is the points (a flat array, or a table of one row per
    point) to one array or a tuple of arrays (or None) with the same leading axis, each output row
    depending on its input row alone. ``numpy_fn``, the same program on NumPy arrays, serves the
    calls whose kernel is not compiled yet (see the module's docstring); without it the first call
    of each kernel compiles it. See :data:`CHUNK` for how lengths are served.
    """
    return Elementwise(fn, numpy_fn)


_lock = threading.Lock()
_idle = threading.Condition(_lock)
_jobs: queue.SimpleQueue | None = None
_worker: threading.Thread | None = None
_pending = 0
_closing = False


def in_background(job: Callable[[], None]) -> None:
    """Run ``job`` in tridiff's one compile thread.

    The thread is a daemon, and at exit it finishes the job under way and drops the rest: a thread
    stopped inside XLA's C++ code as the interpreter shuts down aborts the process.
    """
    global _jobs, _worker, _pending
    with _lock:
        if _closing:
            return
        if _jobs is None:
            _jobs = queue.SimpleQueue()
            _worker = threading.Thread(target=_work, args=(_jobs,), name="tridiff-compile", daemon=True)
            _worker.start()
            atexit.register(_close)
        _pending += 1
    _jobs.put(job)


def settle(timeout: float | None = None) -> bool:
    """Wait until every kernel queued for compiling is compiled (or ``timeout`` seconds); True if
    none is left. For benchmarks timing the steady state, and tests.

    >>> settle()
    True
    """
    with _idle:
        return _idle.wait_for(lambda: _pending == 0, timeout)


def _work(jobs: queue.SimpleQueue) -> None:
    global _pending
    while True:
        job = jobs.get()
        if _closing:
            return
        try:
            job()
        finally:
            with _idle:
                _pending -= 1
                _idle.notify_all()


def _close() -> None:
    global _closing
    with _lock:
        _closing = True
    _jobs.put(lambda: None)  # wakes the thread if it is waiting
    _worker.join()


def _each(result, fn: Callable):
    """``fn`` applied to one array or to each of a tuple of them (None stays None)."""
    if isinstance(result, tuple):
        return tuple(None if a is None else fn(a) for a in result)
    return fn(result)


def _owned(result) -> Result:
    """NumPy results as arrays the caller owns: a broadcast constant, or an output that is also
    another output (f' is its own left and right limit where f is smooth), copied."""
    seen: set[int] = set()

    def own(a):
        a = np.asarray(a)
        if not a.flags.writeable or a.base is not None or id(a) in seen:
            a = a.copy()
        seen.add(id(a))
        return a

    return _each(result, own)


def _gather(batch: np.ndarray, runs: list[tuple[int, int]], chunk: int) -> np.ndarray:
    """The points one kernel call computes: a view of one full chunk, else the runs copied one
    after another into a zero-padded block."""
    if runs[0][1] == chunk:
        start = runs[0][0]
        return batch[start:start + chunk]
    block, at = np.zeros((chunk, *batch.shape[1:]), batch.dtype), 0
    for start, m in runs:
        block[at:at + m] = batch[start:start + m]
        at += m
    return block


def _copy_out(out, runs: list[tuple[int, int]], parts, n: int):
    """Copy one call's outputs (NumPy arrays) back to the runs it was gathered from, into ``out``
    (made on the first call: n points of each output's shape and dtype)."""
    if out is None:
        out = _each(parts, lambda p: np.empty((n, *p.shape[1:]), p.dtype))
    for target, part in zip(*((out, parts) if isinstance(out, tuple) else ((out,), (parts,)))):
        if target is None:
            continue
        at = 0
        for start, m in runs:
            target[start:start + m] = part[at:at + m]
            at += m
    return out


def _branches(jaxpr) -> bool:
    """Whether a program chooses between branches (lax.cond) anywhere, its inner programs included."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "cond":
            return True
        inner = [getattr(v, "jaxpr", v) for v in eqn.params.values()]
        if any(hasattr(j, "eqns") and _branches(j) for j in inner):
            return True
    return False


def _behind(batch: np.ndarray) -> int:
    """Elements between the 64-byte boundary at or before a flat batch's start and its start: XLA reads
    an aligned NumPy buffer in place but copies an unaligned one (np.linspace's often is), at the cost
    of a pass over memory. 0 for a table of rows, and for a batch not aligned to its own item size."""
    if batch.ndim > 1 or batch.ctypes.data % batch.itemsize:
        return 0
    return batch.ctypes.data % 64 // batch.itemsize


class _Memory:
    """Memory for NumPy to view, at ``address``, with ``owner`` (what holds it) kept alive as the view's base."""

    def __init__(self, owner, address: int, shape: tuple[int, ...], dtype, writable: bool):
        self.owner = owner
        self.__array_interface__ = {"shape": tuple(shape), "typestr": np.dtype(dtype).str,
                                    "data": (address, not writable), "version": 3}


def _widen(batch: np.ndarray, back: int) -> np.ndarray:
    """The batch read from ``back`` elements before it (see :func:`_behind`): a 64-byte aligned view,
    which XLA reads in place. Those elements lie in the batch's 64-byte block, hence in its page, so
    reading them is always safe. The kernel's outputs are then shifted by ``back`` too, which keeps
    every load and store of its loop in step: splitting off an unaligned head instead and padding the
    output back into place made XLA's loop 1.4-2x slower."""
    if not back:
        return batch
    return np.asarray(_Memory(batch, batch.ctypes.data - back * batch.itemsize, (back + batch.shape[0],),
                              batch.dtype, writable=False))


def to_numpy(array) -> np.ndarray:
    """A writable NumPy array sharing a JAX result's memory (a copy when it is small, which is
    quicker than lending the buffer, or empty)."""
    if array.size <= SMALL_COPY:
        return np.array(array)
    array.block_until_ready()  # JAX dispatches asynchronously: the buffer may not be written yet
    # The buffer is the kernel's private output: lent writable, it spares the copy that np.asarray
    # (read-only) followed by .copy() would cost.
    return np.asarray(_Memory(array, array.unsafe_buffer_pointer(), array.shape, array.dtype, writable=True))
