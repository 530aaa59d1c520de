"""Compare two pictures: ?a=<id>&b=<id>. Both must be visible to the visitor (the one rule in
Image.objects.visible_to); otherwise the page is a 404, as for a single picture."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .. import compare


class CompareForm(forms.Form):
    a = forms.UUIDField()
    b = forms.UUIDField()


@require_GET
def compare_pictures(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Pick two pictures to compare."))
    first_id, second_id = form.cleaned_data["a"], form.cleaned_data["b"]
    if first_id == second_id:
        return HttpResponseBadRequest(_("Pick two different pictures to compare."))
    pictures = compare.pair(request.user, first_id, second_id)
    if pictures is None:
        raise Http404
    first, second = pictures
    rows = compare.differences(first, second)
    return render(
        request,
        "gallery/compare.html",
        {"first": first, "second": second, "rows": rows, "differing": sum(row.differs for row in rows)},
    )
