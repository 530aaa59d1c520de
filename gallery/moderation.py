"""Prompt moderation against the staff-managed sensitive-word list, and image reports.

Every word of the list belongs to a category (sexual content, violence, drugs and weapons...,
`SensitiveCategory`), which staff switch on or off and may set to block or mask as a whole.
The active words of the active categories are compiled into one Aho–Corasick automaton
(pyahocorasick), so a prompt is scanned once whatever the length of the list; the automaton
is kept per process and rebuilt when the list in the database changes (`_list_state`).

Matching is robust to case, full-width/half-width forms (NFKC), spacing and invisible format
characters (Unicode category Cf: zero-width spaces, soft hyphens, word joiners...):
"Ｖｉｏ ｌｅｎｃｅ" and "vio\u200blence" match "violence". The format characters are removed from
the prompt that is sent, too. An end of a word written in Latin letters or digits matches only
on a word boundary ("young oregano" does not contain "gore"); Chinese words match anywhere, so
a few harmless longer phrases are listed as exceptions (mode "allow": "路口交通" contains
"口交"). A block rule refuses the prompt (nothing is charged) and says which category, never
which word; a mask rule replaces the matched characters with ＊ in what is sent and shown.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import Image, Report, SensitiveCategory, SensitiveWord

MASK = "＊"
Category = SensitiveCategory.Code
Mode = SensitiveWord.Mode

# What the refusal says a prompt contains, per category ("it contains sexual content").
CONTAINS = {
    Category.SEXUAL: _("sexual content"),
    Category.MINORS: _("sexual content involving minors"),
    Category.VIOLENCE: _("violent or gory content"),
    Category.SELF_HARM: _("content about self-harm or suicide"),
    Category.DRUGS_WEAPONS: _("drugs, weapons or explosives"),
    Category.GAMBLING: _("gambling"),
    Category.FRAUD: _("fraud or counterfeiting"),
    Category.HATE: _("hateful or discriminatory content"),
    Category.OTHER: _("words that are not allowed here"),
}
# When a prompt trips several categories, the refusal names the first of this order: minors
# first ("a naked child" is both sexual and about a minor), staff's own words last.
SEVERITY = {code: rank for rank, code in enumerate(dict.fromkeys([Category.MINORS, *Category.values]))}


def _rank(category: str) -> int:
    return SEVERITY.get(category, len(SEVERITY))


class PromptBlocked(Exception):
    """A block rule matched. The message names the category only: showing the word would
    publish the list one refusal at a time. `word` is for logs and tests."""

    def __init__(self, category: str, word: str = ""):
        self.category = category
        self.word = word
        what = CONTAINS.get(category, CONTAINS[Category.OTHER])
        super().__init__(_("This prompt was refused: it contains %(what)s.") % {"what": what})


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


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    return "".join(piece for piece in normalise(char) if not piece.isspace())


def _is_word_character(char: str) -> bool:
    return any(piece.isascii() and piece.isalnum() for piece in _fold_char(char))


def _fold(text: str) -> tuple[str, list[int]]:
    """The comparable form of text with whitespace removed, and for each of its characters
    the index of the original character it came from (so a match can be masked in place)."""
    if text.isascii():  # NFKC leaves ASCII alone and casefold is lower: no per-character work
        origin = [index for index, char in enumerate(text) if not char.isspace()]
        lowered = text.lower()
        return "".join(lowered[index] for index in origin), origin
    folded: list[str] = []
    origin = []
    for index, char in enumerate(text):
        for piece in _fold_char(char):
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


@dataclass(frozen=True)
class _Needle:
    """What one folded needle means: the rule that wins when several words fold to it."""

    length: int
    word: str
    category: str
    mode: str
    # An end that is a Latin letter or digit must sit on a word boundary of the prompt.
    bounded_start: bool
    bounded_end: bool


_STRENGTH = {Mode.ALLOW: 0, Mode.MASK: 1, Mode.BLOCK: 2}


def _effective_mode(word_mode: str, category: str, category_mode: str = "") -> str:
    if word_mode == Mode.ALLOW:
        return Mode.ALLOW
    if category == Category.MINORS:
        return Mode.BLOCK
    return category_mode or word_mode


class Matcher:
    """The list compiled for one pass over a prompt."""

    def __init__(self, rules: Iterable[tuple[str, str, str]]):
        """rules: (word, category, mode) with the mode already decided for the category."""
        needles: dict[str, _Needle] = {}
        for word, category, mode in rules:
            needle, _origin = _fold(strip_format_characters(word))
            if not needle:
                continue
            entry = _Needle(
                length=len(needle),
                word=word,
                category=category,
                mode=mode,
                bounded_start=needle[0].isascii() and needle[0].isalnum(),
                bounded_end=needle[-1].isascii() and needle[-1].isalnum(),
            )
            known = needles.get(needle)
            if known is None or (_STRENGTH[mode], -_rank(category)) > (_STRENGTH[known.mode], -_rank(known.category)):
                needles[needle] = entry
        self.size = len(needles)
        self._automaton = ahocorasick.Automaton() if needles else None
        if self._automaton is not None:
            for needle, entry in needles.items():
                self._automaton.add_word(needle, entry)
            self._automaton.make_automaton()

    def screen(self, text: str) -> Screened:
        """Raises PromptBlocked for a block rule; otherwise the text, masked where needed."""
        text = strip_format_characters(text)
        if self._automaton is None:
            return Screened(text=text)
        folded, origin = _fold(text)
        hits: list[tuple[int, int, _Needle]] = []
        allowed: list[tuple[int, int]] = []
        for end, entry in self._automaton.iter(folded):
            start = end - entry.length + 1
            if not self._on_boundaries(text, origin[start], origin[end], entry):
                continue
            if entry.mode == Mode.ALLOW:
                allowed.append((start, end))
            else:
                hits.append((start, end, entry))
        hits = [hit for hit in hits if not any(low <= hit[0] and hit[1] <= high for low, high in allowed)]
        blocked = [entry for _start, _end, entry in hits if entry.mode == Mode.BLOCK]
        if blocked:
            first = min(blocked, key=lambda entry: _rank(entry.category))
            raise PromptBlocked(first.category, first.word)
        if not hits:
            return Screened(text=text)
        masked_positions = {origin[i] for start, end, _entry in hits for i in range(start, end + 1)}
        masked_words = tuple(dict.fromkeys(entry.word for _start, _end, entry in hits))
        result = "".join(MASK if i in masked_positions else char for i, char in enumerate(text))
        return Screened(text=result, masked_words=masked_words)

    @staticmethod
    def _on_boundaries(text: str, first: int, last: int, entry: _Needle) -> bool:
        if entry.bounded_start and first > 0 and _is_word_character(text[first - 1]):
            return False
        return not (entry.bounded_end and last + 1 < len(text) and _is_word_character(text[last + 1]))


def matcher_for(words: Iterable[SensitiveWord]) -> Matcher:
    """A matcher for the given words as they are (their own modes; minors always block)."""
    return Matcher((rule.word, rule.category_id, _effective_mode(rule.mode, rule.category_id)) for rule in words)


# --- the list in the database, compiled once per process ---

_lock = threading.Lock()
_compiled: tuple[tuple, Matcher] | None = None


def _list_state() -> tuple:
    """A cheap fingerprint of everything the matcher is built from, read on every screening.

    Every process (each gunicorn worker, the cluster) keeps its own automaton, so a staff change
    in one must reach the others through the database, not a signal. Saving a row moves
    `changed_at`; adding, deleting, switching a word on or off or changing its mode with a
    queryset update moves the counts and sums of ids. (An update() that rewrites a word's text or
    category and nothing else is not seen: set changed_at with it.) Plain SQL on the models'
    default tables because it runs for every prompt: the same aggregate through the ORM costs
    several times as much, most of it compiling the query (bench/moderation.py)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*),"
            " SUM(CASE WHEN is_active THEN id ELSE 0 END),"
            " SUM(CASE WHEN mode = %s THEN id ELSE 0 END),"
            " SUM(CASE WHEN mode = %s THEN id ELSE 0 END),"
            " MAX(changed_at) FROM gallery_sensitiveword",
            [Mode.BLOCK.value, Mode.ALLOW.value],
        )
        counts = tuple(cursor.fetchone())
        cursor.execute("SELECT code, is_active, mode FROM gallery_sensitivecategory ORDER BY code")
        switches = tuple((code, bool(is_active), mode) for code, is_active, mode in cursor.fetchall())
    return (counts, switches)


def _build(categories: Iterable[tuple[str, bool, str]]) -> Matcher:
    settings_by_code = {code: (is_active, mode) for code, is_active, mode in categories}
    rules = []
    for word, category, mode in SensitiveWord.objects.filter(is_active=True).values_list("word", "category", "mode"):
        is_active, category_mode = settings_by_code.get(category, (True, ""))
        if not is_active and category != Category.MINORS:  # minors cannot be switched off
            continue
        rules.append((word, category, _effective_mode(mode, category, category_mode)))
    return Matcher(rules)


def current_matcher() -> Matcher:
    """The matcher for the list as it is in the database now (rebuilt if it changed)."""
    global _compiled
    state = _list_state()
    compiled = _compiled
    if compiled is not None and compiled[0] == state:
        return compiled[1]
    with _lock:
        if _compiled is None or _compiled[0] != state:
            _compiled = (state, _build(state[1]))
        return _compiled[1]


def screen_prompt(text: str, *, words: list[SensitiveWord] | None = None) -> Screened:
    """Apply the active rules to a prompt (or the given words only). Raises PromptBlocked for
    a block rule."""
    matcher = current_matcher() if words is None else matcher_for(words)
    return matcher.screen(text)


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
