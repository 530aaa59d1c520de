"""The API's request bodies, made from the site's own job forms, so the two cannot drift apart.

Each field of a form becomes a field of a pydantic model with the form's type, default and, as
documentation in the OpenAPI schema, its limits and choices (minimum, maximum, maxLength,
enum). The limits are then enforced by the form itself, with its translated messages: the API
validates exactly as the web form does because it *is* the web form (gallery/api/jobs.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pydantic
from django import forms
from django.utils import translation


def _enum(field: forms.ChoiceField) -> list[Any]:
    values = [value for value, _label in field.choices if value not in ("", None)]
    coerce = getattr(field, "coerce", None)
    return [coerce(value) for value in values] if coerce not in (None, str) else values


def _field(name: str, field: forms.Field) -> tuple[Any, Any]:
    extra: dict[str, Any] = {}
    if isinstance(field, forms.ModelChoiceField):
        annotation: Any = UUID
        extra["description"] = "The id of one of your own pictures."
    elif isinstance(field, forms.TypedChoiceField) and field.coerce is int:
        annotation, extra["enum"] = int, _enum(field)
    elif isinstance(field, forms.ChoiceField):
        annotation, extra["enum"] = str, _enum(field)
    elif isinstance(field, forms.FloatField):  # before IntegerField: FloatField is one of those
        annotation = float
    elif isinstance(field, forms.IntegerField):
        annotation = int
    elif isinstance(field, forms.BooleanField):
        annotation = bool
    else:
        annotation = str
    if isinstance(field, forms.IntegerField | forms.FloatField):
        if field.min_value is not None:
            extra["minimum"] = field.min_value
        if field.max_value is not None:
            extra["maximum"] = field.max_value
    if isinstance(field, forms.CharField):
        if field.max_length is not None:
            extra["maxLength"] = field.max_length
        if field.required:
            extra["minLength"] = 1
    if field.help_text:
        extra.setdefault("description", str(field.help_text))
    title = str(field.label or name)
    if field.required and field.initial is None:
        return annotation, pydantic.Field(..., title=title, json_schema_extra=extra)
    if field.initial is not None:
        # Left out, it is the form's default; null is not a value of it.
        return annotation, pydantic.Field(field.initial, title=title, json_schema_extra=extra)
    return annotation | None, pydantic.Field(None, title=title, json_schema_extra=extra)


def schema_from_form(
    form_class: type[forms.Form],
    *,
    name: str,
    extra_fields: dict[str, tuple[Any, Any]] | None = None,
    strict: bool = False,
    exclude: tuple[str, ...] = (),
) -> type[pydantic.BaseModel]:
    """A pydantic model of `form_class`'s fields except file uploads (those travel as multipart
    files beside it), plus `extra_fields` (name: (annotation, default)). `strict` for JSON
    bodies: `false` is not a seed and "20" is not a number of steps (multipart fields are all
    text, so they are converted, as the form would)."""
    with translation.override("en"):  # the schema's titles and descriptions are in English
        fields = {
            field_name: _field(field_name, field)
            for field_name, field in form_class.base_fields.items()
            if not isinstance(field, forms.FileField) and field_name not in exclude
        }
    fields.update(extra_fields or {})
    return pydantic.create_model(name, __config__=pydantic.ConfigDict(strict=strict), **fields)


def form_data(payload: pydantic.BaseModel) -> dict[str, Any]:
    """What a browser would have posted: the fields that were given, as form values."""
    data = {}
    for key, value in payload.model_dump(exclude_none=True).items():
        data[key] = str(value) if isinstance(value, UUID) else value
    return data
