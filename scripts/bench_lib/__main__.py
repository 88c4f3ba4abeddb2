"""Run the benchmark scenarios and print one table: ``python -m scripts.bench_lib``.

The scenarios (``cases.py``) run in a Home Assistant test instance through
pytest; each writes its measurements to a JSON-lines file that is read back
here and printed beside the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.bench_lib.report import render

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    """Run the scenarios, print the table; exit 1 when a scenario failed to run."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("-k", help="only scenarios matching this pytest expression")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "scripts" / "bench_lib" / "cases.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
        ]
        if args.k:
            command += ["-k", args.k]
        env = {**os.environ, "ENLIGHTEN_BENCH_RESULTS": str(results)}
        print("Running the scenarios (about a minute)...", file=sys.stderr, flush=True)
        run = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            print(run.stdout[-6000:], run.stderr[-3000:], sep="\n", file=sys.stderr)
        rows = (
            [json.loads(line) for line in results.read_text().splitlines()]
            if results.exists()
            else []
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render(rows))
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
