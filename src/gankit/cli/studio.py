"""``gankit studio``: the local web app over a runs directory, with the live 2D GAN lab."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit studio                      # runs/ at http://127.0.0.1:7860
  gankit studio runs/ --port 8000
  gankit studio /data/gan-runs --host 0.0.0.0    # reachable from other machines: only on a network you trust

Pages: Lab (a 2D GAN trained live), Runs (every run in RUNS_DIR with its figures), Sample (draw and download).
Nothing is loaded from the internet; the app only reads the runs. Needs the studio extra: pip install 'gankit[studio]'.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "studio", help="open the web studio: a live 2D GAN lab, your runs, sampling",
        description="Serve the gankit studio, a local web app: the GAN Lab, the runs in RUNS_DIR, and sampling.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs_dir", nargs="?", default="runs", metavar="RUNS_DIR", help="the folder of run directories (default runs/)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="the port (default 7860)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port: {args.port} is outside 1..65535")
    try:
        import uvicorn

        from gankit.studio.app import create_app
    except ImportError as exc:
        raise ConfigError(f"gankit studio needs {exc.name}: pip install 'gankit[studio]'") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this machine can use the studio", args.host)
    app = create_app(args.runs_dir, host=args.host)
    log.info("gankit studio on http://%s:%d/ (runs from %s); Ctrl-C stops it", args.host, args.port, app.state.studio.root)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
    return 0
