from django import template

from .. import display, media

register = template.Library()


@register.simple_tag
def media_url(key: str) -> str:
    """A short-lived presigned URL for a private object."""
    return media.url(key)


@register.simple_tag(takes_context=True)
def image_card(context, image, selectable: bool = False, show_state: bool = False, show_owner: bool = False) -> str:
    """{% image_card image selectable=True show_state=True %}: one picture card of a grid, written by
    display.image_card. What the cards of a page share is made once per page (display.CardKit,
    kept in the render context)."""
    kit = context.render_context.get(_CARD_KIT)
    if kit is None:
        kit = context.render_context[_CARD_KIT] = display.CardKit.for_page()
    return display.image_card(image, kit, selectable=selectable, show_state=show_state, show_owner=show_owner)


_CARD_KIT = object()  # the render context's key for the page's display.CardKit


@register.filter
def basic_fields(form) -> list:
    """The visible fields shown up front; the rest are folded under "More options"."""
    advanced = getattr(form, "advanced_fields", ())
    return [field for field in form.visible_fields() if field.name not in advanced]


@register.filter
def folded_fields(form) -> list:
    advanced = getattr(form, "advanced_fields", ())
    return [field for field in form.visible_fields() if field.name in advanced]


@register.filter
def param_value(value, name: str):
    """{{ params.style|param_value:"style" }}: a parameter's value as the form names it."""
    return display.parameter_value(name, value)


@register.filter
def made_by_label(label: str) -> str:
    """{{ image.made_by|made_by_label }}: who made the pixels, in the page's language."""
    return display.made_by(label)


@register.simple_tag
def last_reconciliation():
    """The newest comparison of the database with the bucket (the admin index shows it)."""
    from ..models import Reconciliation

    return Reconciliation.objects.first()
