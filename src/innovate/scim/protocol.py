"""What SCIM says on the wire: the User resource, list responses, errors (RFC 7644 §3.12),
filters (``userName eq "..."`` and the like, joined by ``and``) and the discovery documents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from innovate.accounts.models import User
from innovate.inputs import JSON

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEDIA_TYPE = "application/scim+json"
MAX_RESULTS = 200


class ScimError(Exception):
    """An error answered in SCIM's own shape."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def response(self) -> Response:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if self.status == 401 else None
        return scim_json(body, status=self.status, headers=headers)


def scim_json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = JSON(body, status_code=status, headers=headers)
    response.headers["content-type"] = MEDIA_TYPE
    return response


def user_resource(user: User, base_url: str) -> dict[str, Any]:
    name: dict[str, Any] = {"formatted": user.name}
    if user.given_name:
        name["givenName"] = user.given_name
    if user.family_name:
        name["familyName"] = user.family_name
    return {
        "schemas": [USER_SCHEMA],
        "id": str(user.id),
        "externalId": user.external_id,
        "userName": user.email,
        "displayName": user.name,
        "name": name,
        "emails": [{"value": user.email, "type": "work", "primary": True}] if user.email else [],
        "active": user.is_active,
        "meta": {"resourceType": "User", "created": user.created_at.isoformat(),
                 "lastModified": (user.deactivated_at or user.created_at).isoformat(),
                 "location": f"{base_url}/scim/v2/Users/{user.id}"},
    }


def list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start, "itemsPerPage": len(resources),
            "Resources": resources}


# Filters ------------------------------------------------------------------------------------

# The attributes a filter may compare, by their lower-cased SCIM path.
FILTERABLE = {"username": "userName", "externalid": "externalId", "id": "id", "displayname": "displayName",
              "emails.value": "emails", 'emails[type eq "work"].value': "emails", "active": "active"}
_COMPARISON = re.compile(r'\s*([A-Za-z][\w.]*(?:\[type eq "work"\](?:\.value)?)?)\s+(eq)\s+("(?:[^"\\]|\\.)*"|true|false)\s*',
                         re.IGNORECASE)


@dataclass(frozen=True)
class Comparison:
    attribute: str  # a value of FILTERABLE
    value: str | bool


def parse_filter(text: str) -> list[Comparison]:
    """``attr eq "value" [and attr eq "value"...]``; anything else is a 400 ``invalidFilter``
    (the directories above only send equality, joined by ``and``)."""
    comparisons = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _COMPARISON.fullmatch(part)
        if match is None:
            raise ScimError(400, f"Unsupported filter {text!r}: use attribute eq \"value\", joined by and.",
                            "invalidFilter")
        path, raw = match.group(1).lower(), match.group(3)
        attribute = FILTERABLE.get(path)
        if attribute is None:
            raise ScimError(400, f"Cannot filter on {match.group(1)!r}.", "invalidFilter")
        value: str | bool = raw.lower() == "true" if raw.lower() in ("true", "false") else \
            raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        comparisons.append(Comparison(attribute, value))
    return comparisons


# Discovery ----------------------------------------------------------------------------------


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "A token made with `innovate scim token create` or on the people page.",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/scim/v2/ServiceProviderConfig"},
    }


def resource_types(base_url: str) -> list[dict[str, Any]]:
    return [{
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User", "name": "User", "endpoint": "/Users", "description": "An employee",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/scim/v2/ResourceTypes/User"},
    }]


def _attribute(name: str, kind: str = "string", *, required: bool = False, unique: str = "none",
               mutability: str = "readWrite", multi: bool = False, sub: list[dict[str, Any]] | None = None,
               case_exact: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "type": kind, "multiValued": multi, "required": required,
                            "caseExact": case_exact, "mutability": mutability, "returned": "default",
                            "uniqueness": unique}
    if sub is not None:
        data["subAttributes"] = sub
    return data


def schemas(base_url: str) -> list[dict[str, Any]]:
    return [{
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "An employee (userName is the e-mail address)",
        "attributes": [
            _attribute("userName", required=True, unique="server"),
            _attribute("externalId", case_exact=True),
            _attribute("displayName"),
            _attribute("name", "complex", sub=[_attribute("formatted"), _attribute("givenName"),
                                                _attribute("familyName")]),
            _attribute("emails", "complex", multi=True, sub=[_attribute("value"), _attribute("type"),
                                                             _attribute("primary", "boolean")]),
            _attribute("active", "boolean"),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/scim/v2/Schemas/{USER_SCHEMA}"},
    }]
