"""Reference server A: the plain ``websockets`` fan-out, i.e. the Python limit.

    python bench/servers/raw_websockets.py --port 0 --ready-file /tmp/port

* ``ws://HOST:PORT/sub``: subscriber; it never needs to send anything.
* ``ws://HOST:PORT/pub``: publisher; every text frame it sends is passed
  verbatim (no decoding, no re-encoding) to ``websockets.broadcast()`` for
  all current subscribers.

Compression is off.  Keepalive pings keep the library default (20 s), as the
application server's do.  Runs on uvloop when it is installed (``--loop``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from pathlib import Path

from websockets.asyncio.server import broadcast, serve

if __package__ in (None, ""):  # run as a script: make the bench package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import loop_factory, raise_nofile_limit, write_ready  # noqa: E402

SUBSCRIBERS: set = set()


async def handler(ws) -> None:
    path = ws.request.path.split("?", 1)[0]
    if path == "/sub":
        SUBSCRIBERS.add(ws)
        try:
            await ws.wait_closed()
        finally:
            SUBSCRIBERS.discard(ws)
    elif path == "/pub":
        while True:
            try:
                message = await ws.recv(decode=False)
            except Exception:
                return
            broadcast(SUBSCRIBERS, message, text=True)
    else:
        await ws.close(1008, "unknown path")


async def main(args) -> None:
    raise_nofile_limit()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(args.backlog)
    sock.setblocking(False)
    stop = asyncio.get_running_loop().create_future()

    def on_signal() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, on_signal)
    # backlog is passed on to loop.create_server(), which calls listen() again.
    async with serve(handler, sock=sock, compression=None, max_queue=None, backlog=args.backlog):
        write_ready(args.ready_file, sock.getsockname()[1])
        await stop


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 binds an ephemeral port")
    p.add_argument("--ready-file", help="written with the bound port once listening")
    p.add_argument("--backlog", type=int, default=4096)
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    return p.parse_args(argv)


def run(argv=None) -> None:
    args = parse_args(argv)
    factory = loop_factory(args.loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main(args))


if __name__ == "__main__":
    run()
