"""``GET /rooms/{slug}/live?after=SEQ[&format=json]``: a room's live stream over WebSocket.

The handshake is refused with HTTP 403 **before** ``accept()`` when there is no valid
session or bearer token, when a browser ``Origin`` is not exactly the public origin
(``null`` and look-alike hosts included) or is missing on a socket signed in with the
session cookie (only bearer tokens may go without one), and when the caller may not watch the room (not
visible to them, or not an active member; moderators and admins may watch). A malformed
``after`` or ``format`` gets 400.

After ``accept()``: every stored event after ``after`` the caller may see, in order, then
the state no event holds (standing, presence, every tally, the caller's own votes, unread
count: see docs/api.md), then live events; no seq twice and no gaps. The socket is registered with the hub *before* the
replay is read, and live frames arriving meanwhile wait in the connection until the
replay is out (repeats are dropped by seq). A caller more than
``INNOVATE_WS_REPLAY_LIMIT`` events behind is closed with 4000 ("too far behind: reload").
Without ``after`` the stream starts at the room's current head.

Clients may send (JSON text frames, at most ``INNOVATE_WS_MESSAGES_PER_SECOND`` a second,
each at most ``INNOVATE_WS_MAX_FRAME_BYTES``): ``{"type": "ping"}`` (answered with
``{"kind": "pong"}``) and ``{"type": "typing", "idea_id": N | null}``. A socket that sends
nothing for ``INNOVATE_WS_IDLE_TIMEOUT_SECONDS`` is closed with 1001 (browsers' hx-ws
reconnects); ``live.js`` pings well within that.

A refused handshake is logged at INFO with its reason: pages open sockets for people who
have not joined, so refusals are ordinary traffic.

Close codes: 1001 idle, 1008 policy (access gone, rate limit), 1009 frame too large,
1011 server error (reconnect), 1012 server restart, 1013 too slow to keep up (reconnect
with the last seq), 4000 too far behind (reload).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from innovate.accounts.hashing import token_hash
from innovate.accounts.models import User
from innovate.accounts.sessions import bearer_token
from innovate.errors import AppError
from innovate.live.feed import RoomFeed, html_format
from innovate.live.standing import standing_for
from innovate.realtime.connection import POLICY, RELOAD, TOO_BIG, Connection, Outgoing
from innovate.realtime.fastpath import denial_sent, forget_handshake
from innovate.realtime.feed import FORMATS, Standing
from innovate.realtime.hub import Hub
from innovate.resources import Resources
from innovate.rooms.access import room_access
from innovate.rooms.models import Event, Room
from innovate.rooms.serializers import Viewer
from innovate.rooms.timeline import audience_allows, event_frames

log = logging.getLogger("innovate.live")

REPLAY_PAGE = 200
SERVER_ERROR = 1011


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def refuse(websocket: WebSocket, receive: Receive, refused: Refused) -> None:
    """Answer the handshake with the HTTP status and its reason, before ``accept()``. Pages
    open sockets for people who have not joined (yet), so a refusal is logged at INFO."""
    user = websocket.scope.get("user")
    log.info("live socket refused (%d) on %s for %s: %s", refused.status, websocket.url.path,
             f"user {user.id}" if user is not None else "no one signed in", refused.message)
    await websocket.send_denial_response(PlainTextResponse(refused.message, status_code=refused.status))
    denial_sent(receive)


@dataclass(frozen=True)
class Admission:
    user: User
    room: Room
    standing: Standing
    after: int | None
    format: str
    session_id: int | None
    token_hash: str | None


class LiveEndpoint:
    """A plain ASGI app (Starlette treats a non-function endpoint as one), so the frames go
    to the server's ``send`` without a wrapper per message."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        resources: Resources = scope["app"].state.resources
        hub = resources.hub
        feed: RoomFeed = scope["app"].state.feed
        try:
            if hub is None or hub.closed:
                raise Refused(503, "The live service is not running.")
            admission = await admit(websocket, resources)
        except Refused as refused:
            await refuse(websocket, receive, refused)
            return
        await websocket.accept()
        conn = connection_for(resources, admission, receive, send)
        head = admission.room.last_seq
        del websocket, admission
        let_go_of_handshake(scope, conn)
        await serve(hub, feed, resources, conn, head, receive)


def let_go_of_handshake(scope: Scope, conn: Connection) -> None:
    """The socket keeps its frames and the scope for its life: let go of what the handshake
    loaded and read (the user, their session, the request's headers; ~4 KiB of headers held
    by uvicorn's scope and websockets' parser), which the connection has no use for: re-checks
    use the session id or token hash it kept."""
    scope["user"] = scope["session"] = None
    scope["headers"] = []
    if conn.protocol is not None:
        forget_handshake(conn.protocol)


@dataclass(frozen=True)
class Caller:
    """Who opens a socket, and what they signed in with (re-checked while it is open)."""

    user: User
    format: str
    session_id: int | None
    token_hash: str | None


def caller(websocket: WebSocket, resources: Resources) -> Caller:
    """The checks every live socket's handshake makes; raises :class:`Refused`."""
    settings = resources.settings
    origin = websocket.headers.get("origin")
    if origin is not None and origin != settings.public_origin:
        raise Refused(403, "Cross-site WebSocket refused.")
    user: User | None = websocket.scope.get("user")
    if user is None:
        raise Refused(403, "Sign in first.")
    if origin is None and websocket.scope.get("auth") != "token":
        # Browsers always send Origin; a cookie without one is not a page of this site (a
        # script elsewhere replaying a stolen cookie, say). Bearer clients need not send it.
        raise Refused(403, "Cross-site WebSocket refused: a signed-in browser socket must come with its Origin.")
    fmt = websocket.query_params.get("format") or "html"
    if fmt not in FORMATS:
        raise Refused(400, "format: expected html or json")
    if fmt == "html":
        fmt = html_format(websocket.scope.get("locale"))
    token = bearer_token(websocket.scope) if websocket.scope.get("auth") == "token" else None
    return Caller(user=user, format=fmt,
                  session_id=websocket.scope.get("session_id") if token is None else None,
                  token_hash=token_hash(token) if token is not None else None)


async def admit(websocket: WebSocket, resources: Resources) -> Admission:
    """Everything a room socket's handshake checks; raises :class:`Refused` with the HTTP status."""
    who = caller(websocket, resources)
    after = _after(websocket.query_params.get("after"))
    try:
        async with resources.db() as db:
            access = await room_access(db, who.user, websocket.path_params["slug"])
    except AppError:
        raise Refused(403, "You may not watch this room.") from None
    standing = standing_for(access.room, who.user, access.membership)
    if standing is None:
        raise Refused(403, "You may not watch this room.")
    return Admission(user=who.user, room=access.room, standing=standing, after=after, format=who.format,
                     session_id=who.session_id, token_hash=who.token_hash)


def _after(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Refused(400, "after: expected the last seq you have (a whole number)")
    return int(raw)


def connection_for(resources: Resources, admission: Admission, receive: Receive, send: Send) -> Connection:
    settings = resources.settings
    room, user = admission.room, admission.user
    return Connection(
        send=send, receive=receive, room_id=room.id, slug=room.slug, user_id=user.id, user_name=user.name,
        user_kind=user.kind, privileged=admission.standing.privileged, muted_until=admission.standing.muted_until,
        format=admission.format, session_id=admission.session_id, token_hash=admission.token_hash,
        queue_size=settings.ws_queue_size, messages_per_second=settings.ws_messages_per_second,
        after=room.last_seq if admission.after is None else admission.after,
    )


async def serve(hub: Hub, feed: RoomFeed, resources: Resources, conn: Connection, head: int,
                receive: Receive) -> None:
    """A room socket's life: replay what it missed, go live, read until it ends."""
    settings = resources.settings
    after = conn.sent_seq
    room_id = conn.room_id
    if room_id is None:
        raise ValueError("a socket in no room is served by UserEndpoint")
    hub.attach(conn, head)

    async def catch_up() -> None:
        if after > head or head - after > settings.ws_replay_limit:
            conn.cut(RELOAD, "too far behind: reload")
            return
        sent = await replay(feed, resources, conn, after)
        if sent is not None and not conn.closed:
            # State, not history: what changed while the socket was away is sent as it is now
            # (the room's own by the room's pump, see Hub.go_live).
            hub.go_live(conn, sent)
            for message in await feed.arrival(conn.user_id, conn.format):
                conn.push(None, message)

    await hold(hub, conn, receive, settings.ws_max_frame_bytes, catch_up)


async def hold(hub: Hub, conn: Connection, receive: Receive, max_bytes: int,
               start: Callable[[], Awaitable[None]] | None = None) -> None:
    """Run ``start`` (the replay), then read the client's frames until the socket ends; the
    hub forgets the socket however that happens."""
    try:
        if start is not None:
            await start()
        await read(hub, conn, receive, max_bytes)
    except asyncio.CancelledError:
        # The hub ends a socket it could not close this way (see Connection.cut).
        task = asyncio.current_task()
        if not conn.closed or task is None or task.cancelling() > 1:
            raise
        task.uncancel()
    except Exception:
        log.exception("live socket for room %s failed", conn.slug or "(none: the user's own)")
        conn.cut(SERVER_ERROR, "server error")
    finally:
        hub.detach(conn)


async def replay(feed: RoomFeed, resources: Resources, conn: Connection, after: int) -> int | None:
    """Send the stored events after ``after`` this viewer may see; the last seq read, or
    None if the socket ended meanwhile."""
    viewer = Viewer(user_id=conn.user_id, moderator=conn.privileged)
    limit = resources.settings.ws_replay_limit
    cursor = after
    while not conn.closed:
        async with resources.db() as db:
            room = await db.get(Room, conn.room_id)
            if room is None:
                conn.cut(POLICY, "the room is gone")
                return None
            rows = list((await db.execute(
                select(Event).where(Event.room_id == conn.room_id, Event.seq > cursor)
                .order_by(Event.seq).limit(REPLAY_PAGE)
            )).scalars())
            visible = [event for event in rows if audience_allows(event, viewer)]
            frames = await event_frames(db, room, visible, viewer) if visible else []
        for frame in frames:
            if conn.closed:
                return None
            await conn.send_now(Outgoing(feed.encoder.text(conn.format, frame, viewer)))
        if rows:
            cursor = rows[-1].seq
        if len(rows) < REPLAY_PAGE:
            return cursor
        if cursor - after > limit + REPLAY_PAGE:
            # The room moves faster than this socket can be brought up to date.
            conn.cut(RELOAD, "too far behind: reload")
            return None
    return None


async def read(hub: Hub, conn: Connection, receive: Receive, max_bytes: int) -> None:
    """Read the client's frames until the socket ends, enforcing the limits."""
    loop = asyncio.get_running_loop()
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if conn.closed:
            continue  # closing: wait for the disconnect
        if not conn.allow_frame(loop.time()):
            conn.cut(POLICY, "too many messages")
            continue
        data = message.get("text")
        if data is None:
            data = message.get("bytes")
        if data is None:
            continue
        if (len(data) if isinstance(data, bytes) else len(data.encode())) > max_bytes:
            conn.cut(TOO_BIG, "frame too large")
            continue
        hub.client_frame(conn, data)


class UserEndpoint:
    """``GET /me/live[?format=json]``: a socket of the user's own, for pages with no room
    (the home page, the inbox): the frames addressed to the user, such as their unread
    count. Same handshake as a room's, no replay (what it carries is state, sent anew)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        resources: Resources = scope["app"].state.resources
        hub = resources.hub
        feed: RoomFeed = scope["app"].state.feed
        try:
            if hub is None or hub.closed:
                raise Refused(503, "The live service is not running.")
            who = caller(websocket, resources)
        except Refused as refused:
            await refuse(websocket, receive, refused)
            return
        await websocket.accept()
        settings = resources.settings
        user = who.user
        conn = Connection(
            send=send, receive=receive, room_id=None, slug="", user_id=user.id, user_name=user.name,
            user_kind=user.kind, privileged=False, muted_until=None, format=who.format,
            session_id=who.session_id, token_hash=who.token_hash, queue_size=settings.ws_queue_size,
            messages_per_second=settings.ws_messages_per_second,
        )
        del websocket, who, user
        let_go_of_handshake(scope, conn)
        hub.attach_user(conn)

        async def arrive() -> None:
            for message in await feed.arrival(conn.user_id, conn.format):
                conn.push(None, message)

        await hold(hub, conn, receive, settings.ws_max_frame_bytes, arrive)


routes = [WebSocketRoute("/rooms/{slug}/live", LiveEndpoint(), name="room_live"),
          WebSocketRoute("/me/live", UserEndpoint(), name="user_live")]
