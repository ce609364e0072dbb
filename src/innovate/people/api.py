"""People in the JSON API: administrators deactivate and reactivate accounts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin
from innovate.inputs import JSON, read_input, text_field
from innovate.people.service import set_active


def _user_id(request: Request) -> int:
    return int(request.path_params["user_id"])


async def api_deactivate(request: Request) -> Response:
    actor = require_admin(request)
    data = await read_input(request)
    reason = text_field(data, "reason", max_length=500, required=False)
    user = await set_active(request.app.state.resources, actor, _user_id(request), active=False, reason=reason)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


async def api_reactivate(request: Request) -> Response:
    actor = require_admin(request)
    user = await set_active(request.app.state.resources, actor, _user_id(request), active=True)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


routes = [
    Route("/api/v1/users/{user_id:int}/deactivate", api_deactivate, methods=["POST"]),
    Route("/api/v1/users/{user_id:int}/reactivate", api_reactivate, methods=["POST"]),
]
