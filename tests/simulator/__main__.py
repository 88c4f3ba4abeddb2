"""Run the simulator standalone: ``python -m tests.simulator --port 8123``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .accounts import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
)
from .app import EnlightenSimulator


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.simulator", description="Fake Enlighten cloud on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    parser.add_argument(
        "--frozen",
        action="store_true",
        help="simulated clock moves only through POST /__sim__/advance (default: wall clock)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    sim = EnlightenSimulator(realtime=not args.frozen)
    sim.latency = args.latency
    url = await sim.start(port=args.port)
    print(f"Enlighten simulator listening on {url}", flush=True)
    print(f"  demo account:  {DEMO_EMAIL} / {DEMO_PASSWORD}", flush=True)
    print(f"  MFA account:   {MFA_EMAIL} / {MFA_PASSWORD} (OTP {sim.login_otp})", flush=True)
    print(f"  multi account: {MULTI_EMAIL} / {MULTI_PASSWORD}", flush=True)
    print(f"  control:       {url}/__sim__/state", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main() -> None:
    """Entry point."""
    asyncio.run(_serve(_parse()))


if __name__ == "__main__":
    main()
