"""``sandbox serve``: run the vendor fakes on 127.0.0.1 until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from .app import DEFAULT_KEY, VENDORS, Sandbox
from .http import encode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the vendor fakes")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--vendors", default=",".join(VENDORS), help="comma-separated: " + ",".join(VENDORS))
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--scale", default="small", help="tiny|small|medium|large, plus name=count overrides")
    serve.add_argument("--rate-limits", default="on", help="on|off|fast|xFACTOR (fast divides windows by 600)")
    serve.add_argument("--faults", default="", help="fault rules, e.g. '503@0.1,reset@0.02,ratelimit#5~/api/profiles'")
    serve.add_argument("--api-key", default=DEFAULT_KEY, help="the key every vendor accepts")
    serve.add_argument("--state", default=None, help="file to persist written objects and the clock across restarts")
    serve.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sb = Sandbox(args.vendors, seed=args.seed, scale=args.scale, rate_limits=args.rate_limits,
                     faults=args.faults, api_key=args.api_key, state_path=args.state)
    except ValueError as exc:
        parser.error(str(exc))
    sb.start(args.port)
    # One JSON line on stdout tells scripts where everything is.
    sys.stdout.write(encode({"sandbox": sb.base_url, **sb.config()}).decode() + "\n")
    sys.stdout.flush()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        sb.serve_forever_started()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
