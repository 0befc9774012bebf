"""Everyday speed (issue 14): what a user meets first, each figure a ratio to a reference in the same run.

The figures and how they are taken are :mod:`tridiff.studies.everyday`'s (``tridiff bench`` prints
them too): a new array size and a new batch size against a warm call of that size, another memory
offset, ``d(3.0)`` against raw ``jax.jit(jax.grad(f))`` and NumPy, and start-up in fresh
interpreters. Timings are printed, never asserted.
Run ``python benchmarks/bench_everyday.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tridiff.studies.everyday import everyday


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, repeats and fresh processes (~10 s)")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    args = parser.parse_args()
    result = everyday(quick=args.quick)
    print(result.table())
    if args.json:
        args.json.write_text(result.to_json(indent=1))


if __name__ == "__main__":
    main()
