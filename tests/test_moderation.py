"""Prompt moderation (block and mask, robust to case, width and spacing), the seeded default
list, reporting a public image, and the staff decision on a report."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery import credits, moderation
from gallery.models import AuditEntry, CreditTransaction, Image, Job, Report, SensitiveWord
from tests.factories import image_row
from tests.helpers import txt2img_form

pytestmark = pytest.mark.django_db

WORDS = [
    SensitiveWord(word="violence", mode=SensitiveWord.Mode.MASK),
    SensitiveWord(word="血腥", mode=SensitiveWord.Mode.MASK),
    SensitiveWord(word="恐怖袭击", mode=SensitiveWord.Mode.BLOCK),
    SensitiveWord(word="terrorist attack", mode=SensitiveWord.Mode.BLOCK),
]


# --- matching ---


@pytest.mark.parametrize(
    "prompt",
    [
        "a violence scene",
        "a VIOLENCE scene",
        "a Violence scene",
        "a ＶＩＯＬＥＮＣＥ scene",
        "a v i o l e n c e scene",
        "a ｖ ｉ ｏ ｌ ｅ ｎ ｃ ｅ scene",
        "a vio\u3000lence scene",
    ],
)
def test_it_masks_a_word_whatever_its_case_width_or_spacing(prompt):
    screened = moderation.screen_prompt(prompt, words=WORDS)
    assert screened.masked_words == ("violence",)
    assert screened.text.startswith("a ") and screened.text.endswith(" scene")
    assert "＊" in screened.text
    assert "violence" not in moderation.normalise(screened.text).replace(" ", "")


def test_it_masks_only_the_matched_characters():
    assert moderation.screen_prompt("a violence scene", words=WORDS).text == "a ＊＊＊＊＊＊＊＊ scene"
    assert moderation.screen_prompt("血腥的战场，夕阳", words=WORDS).text == "＊＊的战场，夕阳"


def test_it_masks_every_occurrence():
    assert moderation.screen_prompt("血腥 and 血 腥", words=WORDS).text == "＊＊ and ＊ ＊"


@pytest.mark.parametrize(
    "prompt",
    [
        "恐怖袭击现场",
        "恐怖 袭击",
        "恐怖\u3000袭击",
        "a Terrorist  Attack on a city",
        "ＴＥＲＲＯＲＩＳＴ ＡＴＴＡＣＫ",
        "t e r r o r i s t attack",
    ],
)
def test_it_blocks_a_prompt_with_a_block_word(prompt):
    with pytest.raises(moderation.PromptBlocked) as info:
        moderation.screen_prompt(prompt, words=WORDS)
    assert info.value.word in ("恐怖袭击", "terrorist attack")
    assert info.value.word in str(info.value)


def test_it_lets_a_harmless_prompt_through_unchanged():
    screened = moderation.screen_prompt("白色城堡，云海，日落，油画 a castle", words=WORDS)
    assert screened.text == "白色城堡，云海，日落，油画 a castle"
    assert screened.masked_words == ()


def test_an_inactive_word_is_ignored():
    SensitiveWord.objects.filter(word="violence").update(is_active=False)
    assert moderation.screen_prompt("violence").text == "violence"


def test_the_default_list_is_seeded_in_chinese_and_english():
    words = dict(SensitiveWord.objects.values_list("word", "mode"))
    assert words["恐怖袭击"] == words["terrorist attack"] == "block"
    assert words["血腥"] == words["gore"] == words["暴力"] == words["violence"] == "mask"
    assert moderation.screen_prompt("暴力美学").text == "＊＊美学"


# --- the job form ---


def _post_txt2img(client, prompt: str):
    data = txt2img_form(prompt)
    return client.post(reverse("new_job", args=["txt2img"]), data)


def test_a_blocked_prompt_gives_a_form_error_and_charges_nothing(alice_client, alice):
    response = _post_txt2img(alice_client, "恐怖 袭击 in the city")
    assert response.status_code == 200
    html = response.content.decode()
    assert "恐怖袭击" in html  # the form says which rule
    assert 'role="alert"' in html
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == 50
    assert list(CreditTransaction.objects.filter(user=alice).values_list("kind", flat=True)) == ["grant"]


def test_a_masked_prompt_is_what_is_sent_and_shown(alice_client, alice):
    response = _post_txt2img(alice_client, "a quiet street, no ＶＩＯＬＥＮＣＥ, 血腥 sunset")
    job = Job.objects.get(owner=alice)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.id])
    assert job.prompt == "a quiet street, no ＊＊＊＊＊＊＊＊, ＊＊ sunset"
    assert job.params["text"] == job.prompt
    assert credits.balance_of(alice) == 48
    page = alice_client.get(response["Location"]).content.decode()
    assert "ＶＩＯＬＥＮＣＥ" not in page and "血腥" not in page


# --- reports ---


def _report(client, image, reason="violence", details=""):
    return client.post(reverse("report_image", args=[image.id]), {"reason": reason, "details": details})


def test_a_user_can_report_a_public_image(alice_client, alice, bob):
    image = image_row(bob, is_public=True)
    response = _report(alice_client, image, details="blood everywhere")
    assert response.status_code == 302 and response["Location"] == reverse("image_detail", args=[image.id])
    report = Report.objects.get()
    assert (report.image, report.reporter, report.reason, report.status) == (
        image,
        alice,
        "violence: blood everywhere",
        "open",
    )


def test_an_htmx_report_gets_the_thank_you_partial(alice_client, bob):
    image = image_row(bob, is_public=True)
    response = alice_client.post(reverse("report_image", args=[image.id]), {"reason": "hate"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Staff will look at this image" in response.content.decode()
    assert Report.objects.get().reason == "hate"


def test_a_second_report_by_the_same_user_is_refused(alice_client, bob):
    image = image_row(bob, is_public=True)
    _report(alice_client, image)
    response = _report(alice_client, image)
    assert response.status_code == 302
    assert Report.objects.count() == 1
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("already reported" in m for m in messages)


def test_the_owner_cannot_report_their_own_image(client, bob):
    image = image_row(bob, is_public=True)
    client.force_login(bob)
    _report(client, image)
    assert not Report.objects.exists()


@pytest.mark.parametrize("fields", [{"is_public": False}, {"is_public": True, "is_hidden": True}])
def test_a_private_or_hidden_image_of_someone_else_is_a_404(alice_client, bob, fields):
    image = image_row(bob, **fields)
    assert _report(alice_client, image).status_code == 404
    assert not Report.objects.exists()


def test_reporting_needs_a_login_and_a_post(client, alice_client, bob):
    image = image_row(bob, is_public=True)
    url = reverse("report_image", args=[image.id])
    from django.test import Client

    anonymous = Client()
    response = anonymous.post(url, {"reason": "violence"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert alice_client.get(url).status_code == 405
    assert not Report.objects.exists()


def test_an_unknown_reason_is_refused(alice_client, bob):
    image = image_row(bob, is_public=True)
    _report(alice_client, image, reason="<script>")
    assert not Report.objects.exists()


def test_hiding_takes_the_image_off_explore_and_settles_every_report_on_it(client, alice, bob, staff, make_user):
    image = image_row(bob, is_public=True, prompt="reported picture")
    carol = make_user("carol")
    first = moderation.report_image(image=image, reporter=alice, reason="violence")
    moderation.report_image(image=image, reporter=carol, reason="hate")
    assert "reported picture" in client.get(reverse("explore")).content.decode()
    moderation.resolve_report(report=first, hide=True, staff=staff)
    image.refresh_from_db()
    assert image.is_hidden
    assert set(Report.objects.values_list("status", flat=True)) == {"hidden"}
    assert "reported picture" not in client.get(reverse("explore")).content.decode()
    assert AuditEntry.objects.filter(action="report.hidden", actor=staff).count() == 1
    # The owner still has it.
    client.force_login(bob)
    assert client.get(reverse("image_detail", args=[image.id])).status_code == 200


def test_dismissing_keeps_the_image_public(alice, bob, staff):
    image = image_row(bob, is_public=True)
    report = moderation.report_image(image=image, reporter=alice, reason="other")
    moderation.resolve_report(report=report, hide=False, staff=staff)
    moderation.resolve_report(report=report, hide=True, staff=staff)  # a second decision changes nothing
    assert Report.objects.get().status == "dismissed"
    assert not Image.objects.get(id=image.id).is_hidden
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["report.dismissed"]


def test_the_report_form_partial_renders_for_a_visitor_and_not_for_the_owner(rf, alice, bob):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    image = image_row(bob, is_public=True)

    def render(user) -> str:
        request = rf.get(reverse("image_detail", args=[image.id]))
        request.user = user
        return render_to_string("gallery/_report_form.html", {"image": image}, request=request)

    visitor = render(alice)
    assert f'action="{reverse("report_image", args=[image.id])}"' in visitor
    assert 'name="csrfmiddlewaretoken"' in visitor and 'name="reason"' in visitor
    assert render(bob).strip() == ""
    assert reverse("login") in render(AnonymousUser())


def test_the_image_page_offers_the_report_form_to_visitors_only(alice_client, client, bob):
    image = image_row(bob, is_public=True)
    url = reverse("image_detail", args=[image.id])
    assert reverse("report_image", args=[image.id]) in alice_client.get(url).content.decode()
    client.force_login(bob)
    assert reverse("report_image", args=[image.id]) not in client.get(url).content.decode()


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\u2060", "\ufeff", "\u200d"])
def test_invisible_format_characters_do_not_hide_a_word(invisible):
    """Fails before the fix: "恐怖\\u200b袭击" and "terror\\u00adist attack" went through."""
    for prompt in (f"恐怖{invisible}袭击", f"terror{invisible}ist attack"):
        with pytest.raises(moderation.PromptBlocked):
            moderation.screen_prompt(prompt, words=WORDS)


def test_the_prompt_sent_has_the_format_characters_removed():
    """Fails before the fix: the zero-width characters were sent on to the provider."""
    screened = moderation.screen_prompt("a vio\u200blence scene, roses\u2060", words=WORDS)
    assert screened.text == "a ＊＊＊＊＊＊＊＊ scene, roses"
    assert moderation.screen_prompt("sun\u200bset", words=WORDS).text == "sunset"


@pytest.mark.parametrize("prompt", ["young oregano on a table", "a gorgeous gorecrow", "Singapore at night"])
def test_a_latin_word_matches_only_as_a_whole_word(prompt):
    """Fails before the fix: "young oregano" contains "g ore" once spaces are folded away."""
    words = [SensitiveWord(word="gore", mode=SensitiveWord.Mode.BLOCK)]
    assert moderation.screen_prompt(prompt, words=words).text == prompt


def test_a_latin_word_is_still_found_beside_punctuation_and_chinese():
    words = [SensitiveWord(word="gore", mode=SensitiveWord.Mode.BLOCK)]
    for prompt in ("gore", "lots of GORE!", "血与gore，夕阳", "g o r e"):
        with pytest.raises(moderation.PromptBlocked):
            moderation.screen_prompt(prompt, words=words)
