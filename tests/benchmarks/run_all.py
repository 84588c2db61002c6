"""Run every bench_*.py in this folder in turn, each in its own process (a fresh model cache,
no memory or thread settings carried from one to the next). Exits non-zero if any failed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"=== {script.name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parents[1])
        print(f"=== {script.name}: exit {code} after {time.perf_counter() - started:.0f} s ===\n", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
