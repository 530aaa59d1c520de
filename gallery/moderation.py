"""Prompt moderation against the staff-managed sensitive-word list, and image reports.

Matching is robust to case, full-width/half-width forms (NFKC), spacing and invisible format
characters (Unicode category Cf: zero-width spaces, soft hyphens, word joiners...):
"Ｖｉｏ ｌｅｎｃｅ" and "vio\u200blence" match "violence". The format characters are removed from
the prompt that is sent, too. A word written in Latin letters matches only as a whole word
("young oregano" does not contain "gore"); Chinese words match anywhere. A block rule refuses
the prompt (nothing is charged); a mask rule replaces the matched characters with ＊ in what is
sent and shown.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import Image, Report, SensitiveWord

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


def strip_format_characters(text: str) -> str:
    """Remove invisible format characters (category Cf), which split a word for a matcher
    but not for a reader or an image model."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def _is_latin_word(needle: str) -> bool:
    return needle.isascii() and needle.isalnum()


def _is_word_character(char: str) -> bool:
    return any(piece.isascii() and piece.isalnum() for piece in normalise(char))


def _occurrences(text: str, folded: str, origin: list[int], needle: str):
    """Start indices (in `folded`) where needle occurs; for a Latin word, only where it is not
    part of a longer word in the original text."""
    latin = _is_latin_word(needle)
    start = folded.find(needle)
    while start >= 0:
        first, last = origin[start], origin[start + len(needle) - 1]
        before = text[first - 1] if first > 0 else " "
        after = text[last + 1] if last + 1 < len(text) else " "
        if not latin or not (_is_word_character(before) or _is_word_character(after)):
            yield start
        start = folded.find(needle, start + 1)


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
    text = strip_format_characters(text)
    folded, origin = _fold(text)
    masked_positions: set[int] = set()
    masked_words: list[str] = []
    for rule in words:
        needle, _ = _fold(strip_format_characters(rule.word))
        if not needle:
            continue
        starts = list(_occurrences(text, folded, origin, needle))
        if not starts:
            continue
        if rule.mode == SensitiveWord.Mode.BLOCK:
            raise PromptBlocked(rule.word)
        masked_words.append(rule.word)
        for start in starts:
            masked_positions.update(origin[start : start + len(needle)])
    if not masked_positions:
        return Screened(text=text)
    result = "".join(MASK if i in masked_positions else char for i, char in enumerate(text))
    return Screened(text=result, masked_words=tuple(masked_words))


# --- reports on public images ---


class ReportError(Exception):
    pass


def report_image(*, image: Image, reporter: AbstractBaseUser, reason: str) -> Report:
    """File a report on a public image; a second report by the same user is refused."""
    if not image.is_publicly_visible or image.owner_id == reporter.pk:
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
        action = audit.Action.REPORT_HIDDEN if hide else audit.Action.REPORT_DISMISSED
        audit.record(staff, action, report, report=report.pk, image=str(report.image_id))
        return report


def set_image_hidden(*, image: Image, hidden: bool, staff: AbstractBaseUser) -> bool:
    """Hide an image from the public and inspiration views (or show it again), audited.

    Returns False and writes nothing when the image is already in that state."""
    with transaction.atomic():
        changed = Image.objects.filter(pk=image.pk, is_hidden=not hidden).update(is_hidden=hidden)
        if changed:
            action = audit.Action.IMAGE_HIDDEN if hidden else audit.Action.IMAGE_UNHIDDEN
            audit.record(staff, action, image, image=str(image.pk))
        return bool(changed)
