"""``/scim/v2``: Users (list with filter and paging, create, get, replace, patch, delete) and the
discovery documents. Every request needs a SCIM bearer token; every error is SCIM's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.sessions import bearer_token, load_session_user, load_token_user
from innovate.scim import service
from innovate.scim.models import ScimToken
from innovate.scim.protocol import (
    MAX_RESULTS,
    ScimError,
    list_response,
    parse_filter,
    resource_types,
    schemas,
    scim_json,
    service_provider_config,
    user_resource,
)
from innovate.scim.tokens import verify_scim_token
from innovate.web import resources

ScimHandler = Callable[[Request, ScimToken], Awaitable[Response]]


async def _a_person(request: Request, bearer: str | None) -> bool:
    """The caller is a person (a session or a personal access token), not a directory."""
    res = resources(request)
    if bearer is not None:
        return await load_token_user(res, bearer) is not None
    _row, user = await load_session_user(res, request.cookies.get(res.settings.session_cookie_name))
    return user is not None


def scim(handler: ScimHandler) -> Callable[[Request], Awaitable[Response]]:
    """The token first (401 in SCIM's shape; 403 for a signed-in person, whom SCIM never
    serves), then the handler; its ScimErrors answered."""
    async def endpoint(request: Request) -> Response:
        try:
            bearer = bearer_token(request.scope)
            token = await verify_scim_token(resources(request), bearer)
            if token is None:
                if await _a_person(request, bearer):
                    raise ScimError(403, "SCIM is for directories: use a SCIM token, not a person's sign-in.")
                raise ScimError(401, "A valid SCIM bearer token is required.")
            return await handler(request, token)
        except ScimError as exc:
            return exc.response()

    endpoint.__name__ = handler.__name__
    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise ScimError(400, "The body is not valid JSON.", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    return body


def _whole_number(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimError(400, f"{name}: expected a whole number.", "invalidValue") from None


def _base(request: Request) -> str:
    return resources(request).settings.public_url


async def users(request: Request, token: ScimToken) -> Response:
    res = resources(request)
    if request.method == "POST":
        user = await service.create_user(res, token, await _body(request))
        resource = user_resource(user, _base(request))
        return scim_json(resource, status=201, headers={"Location": resource["meta"]["location"]})
    text = request.query_params.get("filter")
    comparisons = parse_filter(text) if text else []
    start = max(1, _whole_number(request, "startIndex", 1))
    count = _whole_number(request, "count", 100)
    if count < 0:
        count = 0
    found, total = await service.list_users(res, comparisons, start, min(count, MAX_RESULTS))
    return scim_json(list_response([user_resource(u, _base(request)) for u in found], total, start))


async def user(request: Request, token: ScimToken) -> Response:
    res, user_id = resources(request), request.path_params["user_id"]
    if request.method == "DELETE":
        await service.delete_user(res, token, user_id)
        return Response(status_code=204)
    if request.method == "PUT":
        found = await service.replace_user(res, token, user_id, await _body(request))
    elif request.method == "PATCH":
        found = await service.patch_user(res, token, user_id, await _body(request))
    else:
        found = await service.get_user(res, user_id)
    return scim_json(user_resource(found, _base(request)))


async def provider_config(request: Request, token: ScimToken) -> Response:
    return scim_json(service_provider_config(_base(request)))


async def types(request: Request, token: ScimToken) -> Response:
    found = resource_types(_base(request))
    if request.path_params.get("name"):
        match = [t for t in found if t["id"] == request.path_params["name"]]
        if not match:
            raise ScimError(404, "No such resource type.")
        return scim_json(match[0])
    return scim_json(list_response(found, len(found), 1))


async def schema_documents(request: Request, token: ScimToken) -> Response:
    found = schemas(_base(request))
    if request.path_params.get("name"):
        match = [s for s in found if s["id"] == request.path_params["name"]]
        if not match:
            raise ScimError(404, "No such schema.")
        return scim_json(match[0])
    return scim_json(list_response(found, len(found), 1))


async def groups(request: Request, token: ScimToken) -> Response:
    raise ScimError(501, "Groups are not supported: Innovate provisions users only.")


routes = [
    Route("/scim/v2/Users", scim(users), methods=["GET", "POST"]),
    Route("/scim/v2/Users/{user_id}", scim(user), methods=["GET", "PUT", "PATCH", "DELETE"]),
    Route("/scim/v2/ServiceProviderConfig", scim(provider_config), methods=["GET"]),
    Route("/scim/v2/ResourceTypes", scim(types), methods=["GET"]),
    Route("/scim/v2/ResourceTypes/{name}", scim(types), methods=["GET"]),
    Route("/scim/v2/Schemas", scim(schema_documents), methods=["GET"]),
    Route("/scim/v2/Schemas/{name}", scim(schema_documents), methods=["GET"]),
    Route("/scim/v2/Groups", scim(groups), methods=["GET", "POST"]),
    Route("/scim/v2/Groups/{group_id}", scim(groups), methods=["GET", "PUT", "PATCH", "DELETE"]),
]
