"""The user's own prompt history: the last 50 distinct prompts, newest first, searchable, and each
one click from the form again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery import jobs, reuse
from gallery.models import Job
from tests.factories import make_job

pytestmark = pytest.mark.django_db


def _entries(html: str) -> list[str]:
    return [part.split("</p>", 1)[0] for part in html.split('<p class="prompt">')[1:]]


def test_it_lists_distinct_prompts_newest_use_first_with_a_reuse_link(alice_client, alice, bob):
    """Fails before: there was no prompt history."""
    old = make_job(alice, "白色城堡，云海")
    Job.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=2))
    make_job(alice, "a fox in the snow")
    make_job(alice, "白色城堡，云海")  # used again: it moves to the top
    make_job(bob, "bob's secret prompt")
    html = alice_client.get(reverse("prompt_history")).content.decode()
    assert _entries(html) == ["白色城堡，云海", "a fox in the snow"]
    assert "Used 2 times" in html and "bob" not in html
    assert reuse.prompt_url("白色城堡，云海").replace("&", "&amp;") in html
    zh = alice_client.get(reverse("prompt_history"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "用过 2 次" in zh and "我最近的提示词" in zh


def test_a_chinese_word_inside_a_prompt_finds_it(alice_client, alice):
    make_job(alice, "白色城堡，云海")
    make_job(alice, "a fox in the snow")
    html = alice_client.get(reverse("prompt_history"), {"q": "城堡"}).content.decode()
    assert _entries(html) == ["白色城堡，云海"]
    assert "None of your prompts" in alice_client.get(reverse("prompt_history"), {"q": "dragon"}).content.decode()


def test_it_keeps_the_last_fifty(alice):
    for n in range(55):  # rows only: the limits of create_job are not what is tested here
        Job.objects.create(owner=alice, kind="txt2img", params={}, prompt=f"prompt {n}", cost=0)
    assert len(jobs.recent_prompts(owner=alice)) == jobs.PROMPT_HISTORY_SIZE


def test_the_form_links_to_the_history(alice_client):
    html = alice_client.get(reverse("new_job", args=["txt2img"])).content.decode()
    assert reverse("prompt_history") in html
