"""/api/v1/images: your pictures, with presigned URLs and their labels; delete one."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from .. import galleries, pagination, representations, trash
from ..models import JobKind
from . import form_schemas, problems, schemas
from .jobs import _json

router = Router(tags=["images"])


class ImageFilters(Schema):
    kind: JobKind | None = None
    favourites: bool = False
    q: str = form_schemas.pydantic.Field("", max_length=200, description="Words of the prompt (Chinese or English).")
    after: str | None = None
    limit: int = form_schemas.pydantic.Field(25, ge=1, le=100)


def _own_image(request, image_id: UUID):
    return get_object_or_404(galleries.personal_images(owner=request.user), id=image_id)


@router.get("", response={200: schemas.ImagePage, 401: problems.Problem, 422: problems.Problem})
def list_images(request, filters: Query[ImageFilters]):
    """Your pictures, newest first; pass `next_cursor` as `after` for the next page."""
    chosen = galleries.Filters(
        kind=filters.kind or "", favourites=filters.favourites, query=galleries.search_text(filters.q)
    )
    page = pagination.paginate(
        galleries.personal_images(owner=request.user, filters=chosen), after=filters.after, limit=filters.limit
    )
    items = [representations.image_json(image) for image in page.images]
    return _json({"items": items, "next_cursor": page.next_cursor}, status=200)


@router.get(
    "/{image_id}", response={200: schemas.ImageOut, 401: problems.Problem, 404: problems.Problem, 422: problems.Problem}
)
def get_image(request, image_id: UUID):
    """One of your pictures: its parameters, label and presigned URLs (they expire)."""
    return _json(representations.image_json(_own_image(request, image_id)), status=200)


@router.delete(
    "/{image_id}",
    response={204: None, **{code: problems.Problem for code in (401, 403, 404, 422)}},
)
def delete_image(request, image_id: UUID):
    """Delete one of your pictures as the gallery's delete button does: it goes to your trash,
    where you can restore it for TRASH_RETENTION_DAYS days."""
    if not request.api_token.can_create:
        return problems.problem("forbidden", _("This token may only read; make one that may create jobs."))
    image = _own_image(request, image_id)
    trash.trash_images(owner=request.user, images=[image])
    return HttpResponse(status=204)
