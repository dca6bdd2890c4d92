"""nnscratch's training step alone, for comparing two commits (no PyTorch, no table).

Run it from two checkouts in alternation, each on its own code, and compare the best times:

    git worktree add ../before <commit>
    for i in 1 2 3; do
        (cd ../before && PYTHONPATH=src python benchmarks/step_time.py --cases d --threads 1)
        PYTHONPATH=src python benchmarks/step_time.py --cases d --threads 1
    done

Each line is the best of ``--repeat`` blocks of ``--number`` steps (``NNScratchRunner``: the step
``nnscratch.fit`` takes), after 20 warm-up steps, with BLAS at ``--threads`` threads.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import conv_rnn_cases, dense_cases, transformer_cases
from impls import NNScratchRunner, initial_state
from threadpoolctl import threadpool_limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="a,b_full,b_32,c,d,e,f,g")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--number", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    cases = {c.key: c for c in dense_cases() + conv_rnn_cases() + transformer_cases()}
    for key in args.cases.split(","):
        case = cases[key]
        for threads in (int(t) for t in args.threads.split(",")):
            with threadpool_limits(threads):
                runner = NNScratchRunner(case, initial_state(case))
                for _ in range(20):
                    runner.step()
                best = min(timeit.repeat(runner.step, number=args.number, repeat=args.repeat))
            print(f"{key} threads={threads} best {best / args.number * 1e3:.4f} ms", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
