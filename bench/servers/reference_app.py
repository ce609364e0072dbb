"""The reference for the votes scenario: the least a web app on the same stack does for a vote.

Starlette on uvicorn, SQLAlchemy async over asyncpg, nothing else: no middleware, no access
rules, no rate limit, no budget, no live update. It runs against the votes scenario's own
database and answers two routes the way Innovate's API does:

* ``GET /api/v1/me``: the bearer token's row and its user in one query (the token hashed with
  SHA-256, as Innovate stores it), then the user as JSON;
* ``PUT /api/v1/ideas/{id}/vote``: the same lookup, then one transaction with the vote's upsert
  (into ``ref_votes``, a ``LIKE votes INCLUDING ALL`` copy the scenario creates) and the idea's
  tally increment with its new figures returned.

    python bench/servers/reference_app.py --dsn postgresql+asyncpg://... --port 0 --ready-file F
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import socket
from datetime import UTC, datetime

import uvicorn
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN_USER = text(
    "SELECT u.id, u.name, u.email FROM access_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.token_hash = :hash AND t.revoked_at IS NULL AND u.is_active"
)
UPSERT = text(
    "INSERT INTO ref_votes (room_id, idea_id, user_id, value, created_at, updated_at) "
    "SELECT room_id, id, :user_id, :value, :now, :now FROM ideas WHERE id = :idea_id "
    "ON CONFLICT (idea_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
).bindparams(bindparam("now"))
TALLY = text(
    "UPDATE ideas SET up = up + 1, score = score + :value, voters = voters + 1 WHERE id = :idea_id "
    "RETURNING up, down, score, voters"
)


def make_app(dsn: str) -> Starlette:
    # Innovate's default pool (INNOVATE_DATABASE_POOL_SIZE), so that the two compare their work,
    # not their pool settings.
    engine = create_async_engine(dsn, pool_size=20, max_overflow=0)
    lookup_engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def user_of(request: Request) -> tuple[int, str, str] | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        async with lookup_engine.connect() as conn:
            row = (await conn.execute(TOKEN_USER, {"hash": hashlib.sha256(token.encode()).hexdigest()})).first()
        return None if row is None else (row[0], row[1], row[2])

    async def me(request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return JSONResponse({"error": "not_signed_in"}, status_code=401)
        return JSONResponse({"id": user[0], "name": user[1], "email": user[2]})

    async def vote(request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return JSONResponse({"error": "not_signed_in"}, status_code=401)
        value = int(json.loads(await request.body())["value"])
        idea_id = int(request.path_params["idea_id"])
        async with engine.begin() as conn:
            await conn.execute(UPSERT, {"user_id": user[0], "value": value, "idea_id": idea_id,
                                        "now": datetime.now(UTC)})
            up, down, score, voters = (await conn.execute(TALLY, {"value": value, "idea_id": idea_id})).one()
        return JSONResponse({"idea_id": idea_id, "value": value, "up": up, "down": down, "score": score,
                             "voters": voters})

    return Starlette(routes=[Route("/api/v1/me", me), Route("/api/v1/ideas/{idea_id:int}/vote", vote,
                                                            methods=["PUT"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    sock = socket.socket()
    sock.bind((args.host, args.port))
    config = uvicorn.Config(make_app(args.dsn), log_level="warning", access_log=False, server_header=False)
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        with open(args.ready_file, "w") as f:
            f.write(str(sock.getsockname()[1]))
        await task

    try:  # Innovate's server runs on uvloop too (uvicorn's default when it is installed).
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve())


if __name__ == "__main__":
    main()
