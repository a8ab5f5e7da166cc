"""Compare this checkout's training, sampling and run files with the pinned reference commit, by hand.

    python -m tests.equivalence.run                          # the CI matrix (3 steps)
    python -m tests.equivalence.run --steps 200 --precision both
    python -m tests.equivalence.run --only mnist_dcgan --only option/top_k --steps 20
    python -m tests.equivalence.run --no-cache --keep      # rebuild the reference, keep both sides' run dirs

Prints one line per case (PASS/FAIL/SKIP, the largest absolute difference, what differs) and exits 1 on any FAIL.
Run it from the repository root with ``PYTHONPATH=src`` (or an installed gankit): the code under test is the
imported ``gankit``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.equivalence import harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.equivalence.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, help="training steps per case (default: the CI matrix, 3 steps)")
    parser.add_argument("--precision", choices=("own", "fp32", "bf16", "both"), default=None,
                        help="presets: their own train.precision (CI), one of the two, or both (default: own; both with --steps)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT", help="run the cases whose id contains TEXT")
    parser.add_argument("--no-cache", action="store_true", help="run the reference again instead of reading its cache")
    parser.add_argument("--work", type=Path, help="where both sides write their runs (default: a temporary folder)")
    parser.add_argument("--src", type=Path, help="the src/ folder to test (default: the imported gankit's)")
    parser.add_argument("--timeout", type=float, default=12 * 3600, help="seconds one runner process may take (default 12 h)")
    args = parser.parse_args(argv)

    if args.steps is None:
        cases = harness.short_cases() if args.precision in (None, "own") else (
            harness.preset_cases(harness.SHORT_STEPS, args.precision) + harness.option_cases(harness.SHORT_STEPS, args.precision)
            + harness.distributed_cases(harness.SHORT_STEPS, args.precision) + harness.fixture_cases(2))
    else:
        cases = harness.full_cases(args.steps, args.precision or "both")
    if args.only:
        cases = [c for c in cases if any(text in c.id for text in args.only)]
    if not cases:
        parser.error("no case matches --only")
    work = args.work or Path(tempfile.mkdtemp(prefix="gankit-equivalence-"))
    print(f"{len(cases)} cases; reference {harness.REF_COMMIT[:7]}; cache {harness.cache_root()}; runs in {work}", flush=True)
    start = time.perf_counter()
    try:
        results = harness.run_equivalence(cases, work, args.src, use_cache=not args.no_cache, timeout=args.timeout)
    except harness.ReferenceUnavailable as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    print(harness.table(results, max_notes=6))
    counts = {s: sum(r.status == s for r in results) for s in ("PASS", "FAIL", "SKIP")}
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped in {time.perf_counter() - start:.0f} s")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
