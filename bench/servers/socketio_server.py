"""Reference server C: python-socketio on uvicorn, the peer implementation.

    python bench/servers/socketio_server.py --port 0 --ready-file /tmp/port

``socketio.AsyncServer(async_mode="asgi")`` wrapped in ``socketio.ASGIApp``,
served by uvicorn started programmatically (``ws="websockets-sansio"``,
per-message deflate off, log level warning).

* Subscribers connect to the default namespace with auth ``{"room": "bench"}``
  and are put in that room by the connect handler, before the CONNECT ack.
* A publisher connects without auth and emits ``pub`` events; each event's
  data is emitted as ``msg`` to the room.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

import socketio
import uvicorn

if __package__ in (None, ""):  # run as a script: make the bench package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import raise_nofile_limit, write_ready  # noqa: E402

ROOM = "bench"

sio = socketio.AsyncServer(
    async_mode="asgi",
    cors_allowed_origins="*",
    logger=False,
    engineio_logger=False,
)


@sio.event
async def connect(sid, environ, auth):
    if isinstance(auth, dict) and auth.get("room"):
        await sio.enter_room(sid, auth["room"])


@sio.on("pub")
async def pub(sid, data):
    await sio.emit("msg", data, room=ROOM)


app = socketio.ASGIApp(sio)


def build_server(args) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=args.backlog,
        loop=args.loop,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


async def main(args, server: uvicorn.Server) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        write_ready(args.ready_file, port)

    task = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    task.cancel()


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
    raise_nofile_limit()
    server = build_server(args)
    # The event loop uvicorn itself would pick for this --loop value.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(main(args, server))


if __name__ == "__main__":
    run()
