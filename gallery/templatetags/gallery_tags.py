from django import template

from .. import media

register = template.Library()


@register.simple_tag
def media_url(key: str) -> str:
    """A short-lived presigned URL for a private object."""
    return media.url(key)


@register.filter
def basic_fields(form) -> list:
    """The visible fields shown up front; the rest are folded under "More options"."""
    advanced = getattr(form, "advanced_fields", ())
    return [field for field in form.visible_fields() if field.name not in advanced]


@register.filter
def folded_fields(form) -> list:
    advanced = getattr(form, "advanced_fields", ())
    return [field for field in form.visible_fields() if field.name in advanced]
