"""Run the gateway simulator standalone: ``python -m tests.gateway_sim --fixture 5.0.62``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .fixtures import FIXTURES_DIR, fixtures_available
from .server import CLOUD_EMAIL, CLOUD_PASSWORD, GatewaySimulator


async def _main(fixture: str, port: int, relay: bool) -> None:
    sim = GatewaySimulator(fixture)
    if relay:
        sim.add_relay()
    await sim.start(port=port)
    print(f"IQ Gateway simulator ({fixture}, firmware {sim.firmware}) at {sim.url}", flush=True)
    print(f"serial {sim.serial}")
    if sim.requires_token:
        print(f"token: {sim.issue_token()}")
        print(
            f"token service: {sim.login_url} + {sim.token_url} ({CLOUD_EMAIL}/{CLOUD_PASSWORD})",
            flush=True,
        )
    else:
        print(f"digest user: envoy / {sim.serial[-6:]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixture", default="7.6.175_with_cts")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--relay", action="store_true", help="add a Q-Relay to the inventory")
    args = parser.parse_args()
    if not fixtures_available(args.fixture):
        raise SystemExit(f"fixture set {args.fixture!r} not found under {FIXTURES_DIR}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.fixture, args.port, args.relay))


if __name__ == "__main__":
    main()
