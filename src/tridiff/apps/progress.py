"""Progress a person can read while a long command runs: "step M of N: what", a bar, the time
spent and the time left (from each step's expected share of the whole), on stderr when it is a
terminal; nothing at all otherwise (a log or a test sees only the results)."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def stepwise(steps: list[tuple[str, float]]):
    """Yield ``start(i)``, called as step i (0-based) of ``steps`` begins; each step is ``(what,
    expected seconds)``, the weights that turn the steps done into the time left.

    >>> with stepwise([("one", 1.0), ("two", 2.0)]) as start:
    ...     start(0); start(1)
    """
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda i: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    total = sum(weight for _, weight in steps)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=total)

        def start(i: int) -> None:
            what = steps[i][0]
            bar.update(task, completed=sum(weight for _, weight in steps[:i]),
                       description=f"step {i + 1} of {len(steps)}: {what}")

        yield start
        bar.update(task, completed=total)
