"""The inspiration gallery: the seven curated prompts, and public works staff feature.

Curated entries are seeded by migration 0003 and rendered once through the provider by
`manage.py render_inspiration` (`render_curated` below), as an ordinary txt2img job of the
system account "inspiration"; until then the page shows a placeholder. Featuring and
un-featuring are staff actions, each written to the audit log in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import audit, credits, forms, jobs, reuse
from .models import ACTIVE_STATUSES, Image, InspirationEntry, Job, JobKind, JobStatus, Tag, publicly_visible

SYSTEM_USERNAME = "inspiration"
# Featured works come after the curated seven (ordering is position, then newest first).
FEATURED_POSITION = 1000
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# The curated pictures are rendered with the text-to-image form's defaults and a fixed seed per
# entry, so a re-render after a lost picture looks the same.
RENDER_SEED_BASE = 20240000


class InspirationError(Exception):
    """An inspiration operation that cannot happen; the message is safe to show the user."""

    def __init__(self, message: Any):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# --- what the page shows ---


def visible_entries(*, tag: str = "") -> QuerySet[InspirationEntry]:
    """Curated entries always (with or without a picture); featured works only while their
    image is public and not hidden by staff."""
    queryset = InspirationEntry.objects.filter(Q(is_curated=True) | publicly_visible("image__")).select_related(
        "image", "image__owner"
    )
    if tag:
        queryset = queryset.filter(tags__slug=tag)
    return queryset.prefetch_related("tags").order_by("position", "-created_at").distinct()


def tag_label(tag: Tag) -> str:
    if (get_language() or "").startswith("en"):
        return tag.name_en or tag.name_zh or tag.slug
    return tag.name_zh or tag.name_en or tag.slug


def localized_prompt(entry: InspirationEntry) -> str:
    """The prompt in the visitor's language where a rendering exists (as the template tag)."""
    if (get_language() or "").startswith("en") and entry.prompt_en:
        return entry.prompt_en
    return entry.prompt_zh or entry.prompt_en


@dataclass
class Card:
    entry: InspirationEntry
    prompt: str
    use_url: str
    image: Image | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)

    @property
    def hue(self) -> int:
        """Which of the placeholder colourings this card gets, so neighbours differ."""
        return self.entry.position % 7


def cards(entries: Iterable[InspirationEntry]) -> list[Card]:
    """Entries ready for the template: the prompt in the current language, the picture only if
    anybody may see it, the tags with their names in the current language."""
    result = []
    for entry in entries:
        image = entry.image
        if image is not None and not image.is_publicly_visible:
            image = None
        prompt = localized_prompt(entry)
        result.append(
            Card(
                entry=entry,
                prompt=prompt,
                use_url=reuse.prompt_url(prompt),  # visitors log in first, then come back to it
                image=image,
                tags=[(tag.slug, tag_label(tag)) for tag in entry.tags.all()],
            )
        )
    return result


def all_tags() -> list[tuple[str, str]]:
    return [(tag.slug, tag_label(tag)) for tag in Tag.objects.order_by("slug")]


# --- featuring (staff) ---


def featured_entry(image: Image) -> InspirationEntry | None:
    return InspirationEntry.objects.filter(image=image, is_curated=False).first()


def _split_prompt(prompt: str) -> tuple[str, str]:
    """(prompt_zh, prompt_en): a prompt with Chinese characters is the Chinese rendering."""
    return (prompt, "") if _CJK.search(prompt) else ("", prompt)


def feature(*, image: Image, by: AbstractBaseUser, tags: Iterable[Tag] = ()) -> InspirationEntry:
    """Put a public image, with its prompt, into the inspiration gallery.

    Only staff may, only public images staff have not hidden. Featuring an image that is
    featured already updates its tags and writes no second audit entry."""
    if not by.is_staff:
        raise InspirationError(_("Only staff can feature pictures."))
    tags = list(tags)
    with transaction.atomic():
        image = Image.objects.select_for_update().get(id=image.id)
        if not image.is_publicly_visible:
            raise InspirationError(_("Only public pictures can be featured."))
        entry = InspirationEntry.objects.filter(image=image, is_curated=False).first()
        if entry is not None:
            if tags:
                entry.tags.set(tags)
            return entry
        prompt_zh, prompt_en = _split_prompt(image.prompt)
        entry = InspirationEntry.objects.create(
            image=image,
            is_curated=False,
            position=FEATURED_POSITION,
            prompt_zh=prompt_zh,
            prompt_en=prompt_en,
            featured_by=by,
        )
        entry.tags.set(tags)
        audit.record(
            by,
            audit.Action.INSPIRATION_FEATURED,
            image,
            image=str(image.id),
            entry=entry.id,
            owner=image.owner_id,
            tags=[t.slug for t in tags],
        )
        return entry


def unfeature(*, image: Image, by: AbstractBaseUser) -> bool:
    """Take a featured image out of the inspiration gallery; False if it was not featured
    (a second call changes nothing and writes no audit entry). The image itself is untouched."""
    if not by.is_staff:
        raise InspirationError(_("Only staff can feature pictures."))
    with transaction.atomic():
        entries = list(InspirationEntry.objects.select_for_update().filter(image=image, is_curated=False))
        if not entries:
            return False
        for entry in entries:
            audit.record(
                by,
                audit.Action.INSPIRATION_UNFEATURED,
                image,
                image=str(image.id),
                entry=entry.id,
                owner=image.owner_id,
            )
        InspirationEntry.objects.filter(id__in=[entry.id for entry in entries]).delete()
        return True


# --- rendering the curated entries ---


class SystemUserTaken(InspirationError):
    pass


def system_user(*, username: str = SYSTEM_USERNAME) -> AbstractBaseUser:
    """The account the curated pictures belong to: no password, so nobody can log in as it.

    If a person has registered the name, we refuse rather than spend their credits and fill
    their gallery."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.has_usable_password():
        raise SystemUserTaken(
            _("The user %(name)s is a person's account; choose another name for the system user.") % {"name": username}
        )
    return user


def _jobs_for(entry: InspirationEntry, *, user: AbstractBaseUser) -> QuerySet[Job]:
    # The job is found by its prompt: nothing else links it to the entry, and the command is
    # the only thing that makes txt2img jobs for the system account.
    return Job.objects.filter(owner=user, kind=JobKind.TXT2IMG, prompt=entry.prompt_zh)


@dataclass
class RenderReport:
    linked: int = 0
    created: int = 0
    pending: int = 0
    done: int = 0
    total: int = 0
    waiting_for_limit: int = 0

    @property
    def is_complete(self) -> bool:
        return self.done == self.total


def link_rendered(*, user: AbstractBaseUser) -> int:
    """Give each curated entry without a picture the image of its finished job (made public, so
    visitors can open it). Returns how many entries got one; a second call links nothing new."""
    linked = 0
    for entry in InspirationEntry.objects.filter(is_curated=True, image__isnull=True):
        image = (
            Image.objects.filter(job__in=_jobs_for(entry, user=user), job__status=JobStatus.SUCCEEDED)
            .order_by("-created_at")
            .first()
        )
        if image is None:
            continue
        with transaction.atomic():
            updated = InspirationEntry.objects.filter(id=entry.id, image__isnull=True).update(image=image)
            if updated:
                Image.objects.filter(id=image.id).update(is_public=True)
                linked += 1
    return linked


def request_renders(*, user: AbstractBaseUser) -> RenderReport:
    """Create one txt2img job for every curated entry that has no picture and no job in flight.

    Credits for the system account are granted just before each job. The per-user job limits
    apply to it too: when they refuse, the rest waits for the next call (`waiting_for_limit`).
    Safe to run concurrently and repeatedly: the check and the creation happen under the
    account's row lock, so two runs never make two jobs for one entry."""
    report = RenderReport()
    for entry in InspirationEntry.objects.filter(is_curated=True, image__isnull=True).order_by("position"):
        try:
            with transaction.atomic():
                credits.lock_account(user=user)
                if _jobs_for(entry, user=user).filter(status__in=ACTIVE_STATUSES).exists():
                    report.pending += 1
                    continue
                cost = credits.cost_of(JobKind.TXT2IMG)
                balance = credits.balance_of(user)
                if balance < cost:
                    credits.grant(user=user, amount=cost - balance, reason="inspiration rendering")
                jobs.create_job(
                    owner=user,
                    kind=JobKind.TXT2IMG,
                    params=forms.default_params(
                        forms.Txt2ImgForm, prompt=entry.prompt_zh, seed=RENDER_SEED_BASE + entry.position
                    ),
                    prompt=entry.prompt_zh,
                )
                report.created += 1
        except jobs.RateLimited:
            report.waiting_for_limit += 1
    return report


def render_curated(*, user: AbstractBaseUser) -> RenderReport:
    """One round: link finished pictures, then ask for the missing ones. Idempotent."""
    linked = link_rendered(user=user)
    report = request_renders(user=user)
    report.linked = linked
    curated = InspirationEntry.objects.filter(is_curated=True)
    report.total = curated.count()
    report.done = curated.filter(image__isnull=False).count()
    return report
