"""The studio: the creation form beside the owner's recent results, as groups of cards.

A group is what one submission made (one job, or the jobs of a batch); each card is one job on
its way from queued to running to the picture, with what can be done with it then. The studio
page and the poll that refreshes one group both read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from . import jobs, reuse, waiting
from .models import Image, Job, JobStatus

# Groups of results the studio shows (older ones are in the gallery and "my jobs").
RECENT_JOBS = 24


@dataclass(frozen=True)
class Card:
    job: Job
    image: Image | None
    wait: waiting.Wait | None
    reuse_url: str = ""
    variation_url: str = ""
    from_image_links: list[reuse.FromImageLink] = field(default_factory=list)

    @property
    def can_cancel(self) -> bool:
        """Queued and not being sent, or with a provider that can still interrupt it."""
        return jobs.can_cancel(self.job)

    @cached_property  # the card reads it twice (the link, and can_retry)
    def retried_as(self) -> UUID | None:
        """The job "Try again" made of this one, if it was tried again (a job is tried once)."""
        if self.job.status not in jobs.RETRYABLE_STATUSES:
            return None
        # The studio's queries annotate it; a card made of a lone job asks.
        if hasattr(self.job, "retried_as"):
            return self.job.retried_as
        return self.job.retries.values_list("id", flat=True).first()

    @property
    def can_retry(self) -> bool:
        """Ended without a picture (and refunded), not tried again yet: "Try again" makes a new
        job, as on its page. Fails before: a card tried again still offered it, and the click
        gave the "already retried" message."""
        return self.job.status in jobs.RETRYABLE_STATUSES and self.retried_as is None


@dataclass(frozen=True)
class Group:
    cards: list[Card]

    @property
    def first(self) -> Job:
        return self.cards[0].job

    @property
    def key(self) -> str:
        return _group_key(self.first)

    @property
    def batch(self):
        return self.first.batch

    @property
    def is_finished(self) -> bool:
        return all(card.job.is_finished for card in self.cards)

    @property
    def can_cancel_rest(self) -> bool:
        """Some of the batch's jobs are still waiting for a worker ("cancel the rest")."""
        return any(card.job.status == JobStatus.QUEUED and not card.job.submit_claimed_at for card in self.cards)

    @property
    def run_again_url(self) -> str:
        return reuse.run_again_url(self.first, count=len(self.cards))


def card_for(job: Job, *, now: datetime) -> Card:
    image = getattr(job, "image", None)
    # The studio shows its owner's own jobs; a picture of theirs in the trash is gone for them too.
    if image is not None and not image.is_visible_to(job.owner):
        image = None
    if image is None:
        return Card(job=job, image=None, wait=None if job.is_finished else waiting.of(job, now=now))
    return Card(
        job=job,
        image=image,
        wait=None,
        reuse_url=reuse.reuse_url(image, page=reuse.STUDIO),
        variation_url=reuse.reuse_url(image, variation=True, page=reuse.STUDIO) if reuse.can_vary(image) else "",
        from_image_links=reuse.from_image_links(image, page=reuse.STUDIO),
    )


def _with_retries(queryset: QuerySet[Job]) -> QuerySet[Job]:
    return queryset.annotate(retried_as=Subquery(Job.objects.filter(retry_of=OuterRef("pk")).values("id")[:1]))


def _group_key(job: Job) -> str:
    return str(job.batch or job.id)


def group_of(job: Job, *, now: datetime) -> Group:
    """The group `job` belongs to (its batch, or itself alone), as it is now."""
    if job.batch is None:
        return Group(cards=[card_for(job, now=now)])
    members = _with_retries(Job.objects.filter(owner_id=job.owner_id, batch=job.batch).select_related("image"))
    return Group(cards=[card_for(member, now=now) for member in members.order_by("batch_index")])


def recent_groups(*, owner: AbstractBaseUser, now: datetime, limit: int = RECENT_JOBS) -> list[Group]:
    """The owner's latest jobs, newest submission first, each submission one group."""
    recent = list(
        _with_retries(Job.objects.filter(owner=owner).select_related("image", "owner")).order_by("-created_at")[:limit]
    )
    groups: dict[str, list[Job]] = {}
    for job in recent:
        groups.setdefault(_group_key(job), []).append(job)
    return [
        Group(cards=[card_for(job, now=now) for job in sorted(members, key=lambda job: job.batch_index)])
        for members in groups.values()
    ]
