"""The JSON API, /api/v1/ (django-ninja: the README's "API" says why this library).

Personal access tokens only (`Authorization: Bearer aigc_…`, gallery/api_tokens.py); a session
cookie is not accepted here, so a page of the site can never be made to call the API for its
visitor. Errors are problem details (gallery/api/problems.py). The endpoints are thin: they
parse, call the same domain functions as the site's views, and answer with
gallery/representations.py's JSON.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import Http404, HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from .. import api_tokens
from . import account, images, jobs, problems


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = api_tokens.authenticate(token)
        if found is None:
            return None
        request.user = found.owner
        request.api_token = found
        return found


class Api(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """Error answers are documented as what they are: application/problem+json."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status).startswith(("4", "5")) and "application/json" in content:
                        response["content"] = {problems.MEDIA_TYPE: content["application/json"]}
        return schema


api = Api(
    title="画廊 AIGC API",
    version="1.0.0",
    description=(
        "Create pictures from code as the site does from its forms. Authenticate with a personal "
        "access token from your profile page: `Authorization: Bearer aigc_…`. Errors are RFC 9457 "
        "problem details; `detail` follows Accept-Language (zh-Hans or en)."
    ),
    auth=TokenAuth(),
    urls_namespace="api-v1",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = problems.problem("unauthenticated", _("Send a valid API token: Authorization: Bearer <token>."))
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


# The names of the endpoints' parameters that hold a whole body or query (not a field of it).
_CONTAINERS = {"payload", "filters", "query"}


def _field_name(location: tuple) -> str:
    """("body", "payload", "steps") -> "steps": the field as the client sent it."""
    parts = [str(part) for part in location[1:]]
    if parts and parts[0] in _CONTAINERS:
        parts = parts[1:]
    return ".".join(parts)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    errors = [
        {"field": _field_name(error.get("loc", ())), "message": str(error.get("msg", ""))} for error in exc.errors
    ]
    return problems.problem("invalid", _("The request is not valid; see errors."), errors=errors)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problems.problem("not-found", _("Not found."))


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return problems.problem("too-large", _("The request body is too large."))


@api.exception_handler(MultiPartParserError)
@api.exception_handler(BadRequest)
def _unparseable(request, exc):
    return problems.problem("bad-request", _("The request body could not be read."))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    slug = {400: "bad-request", 404: "not-found", 405: "not-allowed", 413: "too-large"}.get(exc.status_code)
    if slug is None:
        slug = "bad-request"
    return problems.problem(slug, exc.message)


api.add_router("/jobs", jobs.router)
api.add_router("/images", images.router)
api.add_router("/", account.router)
