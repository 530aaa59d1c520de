"""Prompt moderation against the staff-managed sensitive-word list, and image reports.

Matching is robust to case, full-width/half-width forms (NFKC) and spacing: "Ｖｉｏ ｌｅｎｃｅ"
matches "violence". A block rule refuses the prompt (nothing is charged); a mask rule
replaces the matched characters with ＊ in what is sent and shown.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry, Image, Report, SensitiveWord

MASK = "＊"


class PromptBlocked(Exception):
    def __init__(self, word: str):
        self.word = word
        super().__init__(_("The prompt contains “%(word)s”, which is not allowed here.") % {"word": word})


@dataclass(frozen=True)
class Screened:
    text: str
    masked_words: tuple[str, ...] = ()


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _fold(text: str) -> tuple[str, list[int]]:
    """The comparable form of text with whitespace removed, and for each of its characters
    the index of the original character it came from (so a match can be masked in place)."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in normalise(char):
            if piece.isspace():
                continue
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


def screen_prompt(text: str, *, words: list[SensitiveWord] | None = None) -> Screened:
    """Apply the active rules to a prompt. Raises PromptBlocked for a block rule."""
    if words is None:
        words = list(SensitiveWord.objects.filter(is_active=True))
    folded, origin = _fold(text)
    masked_positions: set[int] = set()
    masked_words: list[str] = []
    for rule in words:
        needle, _ = _fold(rule.word)
        if not needle:
            continue
        start = folded.find(needle)
        if start < 0:
            continue
        if rule.mode == SensitiveWord.Mode.BLOCK:
            raise PromptBlocked(rule.word)
        masked_words.append(rule.word)
        while start >= 0:
            masked_positions.update(origin[start : start + len(needle)])
            start = folded.find(needle, start + len(needle))
    if not masked_positions:
        return Screened(text=text)
    result = "".join(MASK if i in masked_positions else char for i, char in enumerate(text))
    return Screened(text=result, masked_words=tuple(masked_words))


# --- reports on public images ---


class ReportError(Exception):
    pass


def report_image(*, image: Image, reporter: AbstractBaseUser, reason: str) -> Report:
    """File a report on a public image; a second report by the same user is refused."""
    if not image.is_public or image.owner_id == reporter.pk:
        raise ReportError(_("This image cannot be reported."))
    try:
        with transaction.atomic():
            return Report.objects.create(image=image, reporter=reporter, reason=reason[:255])
    except IntegrityError:
        raise ReportError(_("You have already reported this image.")) from None


def resolve_report(*, report: Report, hide: bool, staff: AbstractBaseUser) -> Report:
    """Staff decision: hide the image from public and inspiration views, or dismiss."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status != Report.Status.OPEN:
            return report
        report.status = Report.Status.HIDDEN if hide else Report.Status.DISMISSED
        report.handled_by = staff
        report.handled_at = timezone.now()
        report.save()
        if hide:
            Image.objects.filter(pk=report.image_id).update(is_hidden=True)
            # Other open reports on the same image are settled by this decision.
            Report.objects.filter(image_id=report.image_id, status=Report.Status.OPEN).update(
                status=Report.Status.HIDDEN, handled_by=staff, handled_at=timezone.now()
            )
        AuditEntry.objects.create(
            actor=staff,
            action="report.hidden" if hide else "report.dismissed",
            data={"report": report.pk, "image": str(report.image_id)},
        )
        return report


def set_image_hidden(*, image: Image, hidden: bool, staff: AbstractBaseUser) -> bool:
    """Hide an image from the public and inspiration views (or show it again), audited.

    Returns False and writes nothing when the image is already in that state."""
    with transaction.atomic():
        changed = Image.objects.filter(pk=image.pk, is_hidden=not hidden).update(is_hidden=hidden)
        if changed:
            AuditEntry.objects.create(
                actor=staff, action="image.hidden" if hidden else "image.unhidden", data={"image": str(image.pk)}
            )
        return bool(changed)
