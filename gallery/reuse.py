"""Pre-filled job forms: "use again", "variation", "from this picture", "use this prompt".

Both directions live here: the links (a job form's URL with a query string built from a
picture, by the rules its kind declares in gallery/kinds.py) and the form's initial values
read back from such a query. The query speaks the form's field names, so a link stays valid
whatever the provider calls its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import Promise

from . import kinds
from .kinds import Kind
from .models import Image, Job

# The kind the text-only links open ("use this prompt", the home page's quick prompt).
PROMPT_KIND = "txt2img"
# The pages that hold a kind's form, by URL name: the form page of its own, and the studio
# (the form beside the results). Both read the same query.
FORM_PAGE = "new_job"
STUDIO = "studio_kind"


def form_url(kind: Kind | str, query: dict[str, Any] | None = None, *, page: str = FORM_PAGE) -> str:
    url = reverse(page, args=[str(kind)])
    return f"{url}?{urlencode(query)}" if query else url


def reuse_url(image: Image, *, variation: bool = False, page: str = FORM_PAGE) -> str:
    """The job form of the image's kind, pre-filled with everything it was made with.

    `variation` keeps all of it but the seed (-1: a new random seed). For the kinds that start
    from a picture, the same source picture is preselected when it still exists."""
    kind = kinds.get(image.kind)
    if kind is None:  # a kind no longer offered: nothing to fill
        return ""
    query = _query(kind, image.params or {}, prompt=image.prompt, source_image_id=image.source_image_id)
    if variation:
        query["seed"] = -1
    return form_url(kind, query, page=page)


def run_again_url(job: Job, *, count: int = 1, page: str = STUDIO) -> str:
    """ "Run again with changes": the form of the job's kind filled with what the job (the first
    of a batch) was made with, and the batch's count of pictures."""
    kind = kinds.get(job.kind)
    if kind is None:
        return ""
    query = _query(kind, job.params or {}, prompt=job.prompt, source_image_id=job.source_image_id)
    if count > 1:
        query["count"] = count
    return form_url(kind, query, page=page)


def _query(kind: Kind, params: dict[str, Any], *, prompt: str, source_image_id: Any) -> dict[str, Any]:
    """The form fields a picture or a job was made with, by the rules of its kind."""
    query: dict[str, Any] = {}
    for param, field in kind.reuse_fields:
        value = params.get(param)
        if value is not None and value != "":
            query[field] = value
    if "prompt" not in query and prompt and kind.takes_prompt:
        query["prompt"] = prompt
    if kind.takes_source and source_image_id:
        query["from_image"] = str(source_image_id)
    return query


def can_vary(image: Image) -> bool:
    """Whether "variation" makes sense: the kind has a seed and the picture recorded one."""
    kind = kinds.get(image.kind)
    return kind is not None and kind.can_vary and "seed" in (image.params or {})


def from_image_url(image: Image, *, kind: Kind, page: str = FORM_PAGE) -> str:
    """The job form of `kind` with this image as its source ("image→image from this")."""
    query: dict[str, Any] = {"from_image": str(image.id)}
    if kind.takes_prompt and image.prompt:
        query["prompt"] = image.prompt
    return form_url(kind, query, page=page)


@dataclass(frozen=True)
class FromImageLink:
    kind: Kind
    url: str
    label: Promise | str


def from_image_links(image: Image, *, page: str = FORM_PAGE) -> list[FromImageLink]:
    """The "continue from this picture" buttons: every kind that starts from a picture and
    accepts one this size (an upscaled picture is too big for any of them)."""
    side = max(image.width, image.height)
    return [
        FromImageLink(kind=kind, url=from_image_url(image, kind=kind, page=page), label=kind.from_image_label)
        for kind in kinds.KINDS
        if kind.from_image_label and kind.max_source_side is not None and side <= kind.max_source_side
    ]


def prompt_url(prompt: str) -> str:
    """The text→image form pre-filled with the prompt ("use this prompt")."""
    return form_url(PROMPT_KIND, {"prompt": prompt})


def initial_values(*, kind: Kind, query: QueryDict, owner: AbstractBaseUser) -> dict[str, Any]:
    """The form's initial values from a link above: the fields of the kind's form found in the
    query, and the source picture of `from_image` when it is the owner's own."""
    initial: dict[str, Any] = {name: query[name] for name in kind.form_class.base_fields if name in query}
    if kind.takes_source and "from_image" in query:
        try:
            image = Image.objects.visible_to(owner).get(id=query["from_image"], owner=owner)
        except (Image.DoesNotExist, ValueError, ValidationError):  # unknown, not theirs, or not a UUID
            image = None
        if image is not None:
            initial["source_image"] = image.pk
    return initial
