"""Reporting a public image; staff handle reports in the admin's moderation queue."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .. import moderation
from ..access import get_visible_image

REASONS = [
    ("sexual", gettext_lazy("Sexual content")),
    ("violence", gettext_lazy("Violence or gore")),
    ("hate", gettext_lazy("Hateful or harassing")),
    ("illegal", gettext_lazy("Illegal content")),
    ("other", gettext_lazy("Something else")),
]


class ReportImageForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("What is wrong with it?"), choices=REASONS)
    details = forms.CharField(label=gettext_lazy("Details (optional)"), max_length=200, required=False)

    def reason_text(self) -> str:
        """What staff read in the queue: the reason's code, then the reporter's words."""
        details = self.cleaned_data["details"].strip()
        return f"{self.cleaned_data['reason']}: {details}" if details else self.cleaned_data["reason"]


@login_required
@require_POST
def report_image(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """File a report on a public image. Another user's private or hidden image is a 404; the
    owner's own image and a second report by the same user are refused with a message.
    An htmx request gets the form partial back; a plain POST is redirected to the image."""
    image = get_visible_image(request, image_id)
    form = ReportImageForm(request.POST)
    done, error = False, ""
    if form.is_valid():
        try:
            moderation.report_image(image=image, reporter=request.user, reason=form.reason_text())
            done = True
        except moderation.ReportError as exc:
            error = str(exc)
    else:
        error = _("Please choose a reason.")
    if request.htmx:
        context = {"image": image, "report_form": form, "report_done": done, "report_error": error}
        return render(request, "gallery/_report_form.html", context)
    if done:
        messages.success(request, _("Thank you. Staff will look at this image."))
    else:
        messages.error(request, error)
    return redirect("image_detail", image_id=image.id)
