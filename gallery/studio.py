"""The studio: the creation form beside the owner's recent results, as groups of cards.

A group is what one submission made (one job, or the jobs of a batch); each card is one job on
its way from queued to running to the picture, with what can be done with it then. The studio
page and the poll that refreshes one group both read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from . import reuse, waiting
from .models import Image, Job

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


@dataclass(frozen=True)
class Group:
    cards: list[Card]

    @property
    def first(self) -> Job:
        return self.cards[0].job

    @property
    def key(self) -> str:
        return str(self.first.id)

    @property
    def is_finished(self) -> bool:
        return all(card.job.is_finished for card in self.cards)


def card_for(job: Job, *, now: datetime) -> Card:
    image = getattr(job, "image", None)
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


def _group_key(job: Job) -> str:
    return str(job.id)


def group_of(job: Job, *, now: datetime) -> Group:
    """The group `job` belongs to, as it is now."""
    return Group(cards=[card_for(job, now=now)])


def recent_groups(*, owner: AbstractBaseUser, now: datetime, limit: int = RECENT_JOBS) -> list[Group]:
    """The owner's latest jobs, newest submission first, each submission one group."""
    recent = list(Job.objects.filter(owner=owner).select_related("image").order_by("-created_at")[:limit])
    groups: dict[str, list[Job]] = {}
    for job in recent:
        groups.setdefault(_group_key(job), []).append(job)
    return [Group(cards=[card_for(job, now=now) for job in members]) for members in groups.values()]
