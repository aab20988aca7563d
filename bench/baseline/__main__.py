"""`python -m bench.baseline --port P --database URL`: serve the baseline with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn


def main() -> None:
    """Parse the two options the load tool passes and run one uvicorn process."""
    parser = argparse.ArgumentParser(prog="bench.baseline")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    os.environ["BASELINE_DATABASE_URL"] = args.database
    # the same server settings examvault's `serve` uses, so the comparison is of designs
    uvicorn.run(
        "bench.baseline.app:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
