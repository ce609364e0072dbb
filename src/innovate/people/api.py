"""People in the JSON API: administrators deactivate and reactivate accounts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin
from innovate.inputs import JSON, read_input, text_field
from innovate.people.service import set_active
from innovate.web import resources


async def api_deactivate(request: Request) -> Response:
    actor = require_admin(request)
    data = await read_input(request)
    reason = text_field(data, "reason", max_length=500, required=False)
    user = await set_active(resources(request), actor, request.path_params["user_id"], active=False, reason=reason)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


async def api_reactivate(request: Request) -> Response:
    actor = require_admin(request)
    user = await set_active(resources(request), actor, request.path_params["user_id"], active=True)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


routes = [
    Route("/api/v1/users/{user_id:id}/deactivate", api_deactivate, methods=["POST"]),
    Route("/api/v1/users/{user_id:id}/reactivate", api_reactivate, methods=["POST"]),
]
