"""Prompt moderation (block and mask, robust to case, width and spacing), the shipped default
list by category, its CSV import and export, reporting a public image, and the staff decision
on a report."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gallery import credits, moderation
from gallery.models import AuditEntry, CreditTransaction, Image, Job, Report, SensitiveCategory, SensitiveWord
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
    assert info.value.word not in str(info.value)  # the refusal names the category, never the word


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
    # The form says which category, not which word of the list.
    assert "This prompt was refused: it contains violent or gory content." in html
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


# --- the shipped list, by category, in one pass ---

Category = SensitiveCategory.Code

# Prompts that went through with the ten words of the old default list.
REFUSED = [
    ("a nude woman lying on a bed, photorealistic", Category.SEXUAL),
    ("two people having sex, explicit", Category.SEXUAL),
    ("hentai girl, NSFW", Category.SEXUAL),
    ("ｐｏｒｎ star with big boobs", Category.SEXUAL),
    ("裸体少女，写实风格", Category.SEXUAL),
    ("一对情侣在做爱", Category.SEXUAL),
    ("色 情 图片，巨乳", Category.SEXUAL),
    ("a naked child on the beach", Category.MINORS),
    ("loli, nsfw", Category.MINORS),
    ("decapitated soldier, severed head on the ground", Category.VIOLENCE),
    ("a dismembered body in a bathtub", Category.VIOLENCE),
    ("碎尸现场，血肉模糊", Category.VIOLENCE),
    ("砍头的画面", Category.VIOLENCE),
    ("school shooting in a classroom", Category.VIOLENCE),
    ("a table covered in cocaine and heroin", Category.DRUGS_WEAPONS),
    ("吸毒的男人，冰毒", Category.DRUGS_WEAPONS),
    ("online casino banner, sports betting", Category.GAMBLING),
    ("网络赌博广告", Category.GAMBLING),
    ("假钞和假身份证", Category.FRAUD),
    ("a white supremacy rally", Category.HATE),
    ("割腕的女孩", Category.SELF_HARM),
    ("how to commit suicide", Category.SELF_HARM),
]

# Everyday prompts, some with a listed word inside a longer harmless word or phrase.
ALLOWED = [
    "a bouquet of red roses on a wooden table, oil painting",
    "a white castle on a hill above the clouds at sunset",
    "a girl in a garden full of tulips, watercolour",
    "a fluffy cat sleeping on a windowsill in the rain",
    "a peaceful fantasy landscape with floating islands and waterfalls",
    "a shooting star over a quiet mountain lake",
    "two friends playing cards to kill time on a rainy afternoon",
    "young oregano and basil in clay pots",
    "a gorgeous gorecrow in Singapore at night",
    "pussy willow branches in a vase, spring",
    "a field of rape flowers under a blue sky",
    "a murder of crows at dusk over a cornfield",
    "Moby Dick breaching the waves, engraving style",
    "the Milky Way seen with the naked eye from the desert",
    "grilled chicken breast with herbs, food photography",
    "a corpse flower blooming in a greenhouse",
    "a knight in silver armour holding a sword, epic",
    "a samurai with a katana under cherry blossoms",
    "an old sailor in Essex harbour, portrait",
    "a robin redbreast on a snowy branch",
    "a cozy living room with a chimney breast and a fireplace",
    "a lighthouse in a storm, dramatic lighting",
    "a portrait of an old man, Rembrandt lighting, headshot",
    "unisex streetwear fashion photo",
    "a sextant and an old map on a desk",
    "a cup of coffee and a croissant, morning light",
    "cyberpunk city street with neon signs",
    "a dragon flying over a medieval village",
    "玫瑰花丛中的白色城堡，油画",
    "花园里的小女孩，水彩画",
    "一只在窗台上睡觉的猫",
    "夕阳下的海边灯塔",
    "繁忙的十字路口交通，城市夜景",
    "月色情侣在桥上散步",
    "暮色情怀，江南水乡",
    "粉色情书和玫瑰",
    "史诗性交响乐团的演出",
    "熙熙攘攘的人群交织在广场上",
    "一只大麻雀站在电线上",
    "法国梧桐林阴道，秋天",
    "投射精美的光影，教堂彩窗",
    "酒精液体在玻璃杯中",
    "理性感性交织的抽象画",
    "杀人鲸跃出海面",
    "断头路尽头的小木屋",
    "精灵射手拿着弓箭，森林",
    "河口交汇处的渔村，晨雾",
    "印度支那半岛的古老寺庙",
    "做爱心形状的饼干",
    "爱情色彩的油画",
    "个性爱好者的工作室",
    "艺术性感染力很强的海报",
    "一碗热腾腾的拉面",
    "竹林里的熊猫，水墨画",
]


def test_the_shipped_list_has_hundreds_of_words_in_every_category_and_both_languages():
    """Fails before: the default list had ten words and no categories."""
    words = list(SensitiveWord.objects.all())
    assert len(words) > 600
    for category in Category.values:
        if category == Category.OTHER:
            continue
        in_category = [w.word for w in words if w.category_id == category]
        assert any(w.isascii() for w in in_category) and any(not w.isascii() for w in in_category), category
    assert SensitiveCategory.objects.count() == len(Category.values)


@pytest.mark.parametrize(("prompt", "category"), REFUSED)
def test_explicit_and_violent_prompts_are_refused_with_their_category(prompt, category):
    """Fails before: all of these went through (the list knew ten words)."""
    with pytest.raises(moderation.PromptBlocked) as info:
        moderation.screen_prompt(prompt)
    assert info.value.category == category
    assert info.value.word not in str(info.value)


@pytest.mark.parametrize("prompt", ALLOWED)
def test_everyday_prompts_pass_the_shipped_list_unchanged(prompt):
    assert moderation.screen_prompt(prompt).text == prompt


def test_a_harmless_phrase_is_an_exception_only_where_it_stands():
    """Fails before: there were no exceptions, a Chinese word matched inside any phrase."""
    assert moderation.screen_prompt("路口交通").text == "路口交通"
    with pytest.raises(moderation.PromptBlocked):
        moderation.screen_prompt("路口交通，口交")


def test_a_category_switched_off_is_not_screened():
    """Fails before: there were no categories to switch."""
    SensitiveCategory.objects.filter(code=Category.SEXUAL).update(is_active=False)
    assert moderation.screen_prompt("a nude woman, sexy").text == "a nude woman, sexy"
    with pytest.raises(moderation.PromptBlocked):
        moderation.screen_prompt("a dismembered body")


def test_minors_are_blocked_even_when_staff_switch_the_category_off_or_to_mask():
    SensitiveCategory.objects.filter(code=Category.MINORS).update(is_active=False, mode="mask")
    SensitiveWord.objects.filter(word="lolicon").update(mode="mask")
    with pytest.raises(moderation.PromptBlocked) as info:
        moderation.screen_prompt("lolicon art")
    assert info.value.category == Category.MINORS


def test_a_category_in_mask_mode_masks_its_block_words():
    SensitiveCategory.objects.filter(code=Category.GAMBLING).update(mode="mask")
    assert moderation.screen_prompt("网络赌博 poster").text == "＊＊＊＊ poster"


def test_a_mask_word_of_the_shipped_list_is_masked():
    screened = moderation.screen_prompt("a sexy dancer, 性感")
    assert screened.text == "a ＊＊＊＊ dancer, ＊＊"
    assert set(screened.masked_words) == {"sexy", "性感"}


def test_the_form_names_the_category_in_chinese_and_english(alice_client, alice):
    """Fails before: the form quoted the matched word of the list."""
    english = _post_txt2img(alice_client, "a nude woman").content.decode()
    assert "This prompt was refused: it contains sexual content." in english
    alice_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    chinese = _post_txt2img(alice_client, "碎尸现场").content.decode()
    assert "提示词未通过审核：含有暴力血腥内容。" in chinese
    assert not Job.objects.exists()


def test_the_automaton_is_kept_while_the_list_is_unchanged():
    first = moderation.current_matcher()
    assert moderation.current_matcher() is first
    assert first.size > 600


def test_the_automaton_is_rebuilt_after_a_staff_change(staff_client):
    """Fails before: there was no automaton; this checks the cached one is not stale."""
    before = moderation.current_matcher()
    assert moderation.screen_prompt("a quokka").text == "a quokka"
    response = staff_client.post(
        reverse("admin:gallery_sensitiveword_add"),
        {"word": "quokka", "category": "other", "mode": "mask", "is_active": "on"},
    )
    assert response.status_code == 302
    assert moderation.current_matcher() is not before
    assert moderation.screen_prompt("a quokka").text == "a ＊＊＊＊＊＊"
    word = SensitiveWord.objects.get(word="quokka")
    staff_client.post(reverse("admin:gallery_sensitiveword_delete", args=[word.pk]), {"post": "yes"})
    assert moderation.screen_prompt("a quokka").text == "a quokka"


def test_a_category_switched_off_in_the_admin_is_audited_and_takes_effect(staff_client, staff):
    url = reverse("admin:gallery_sensitivecategory_change", args=[Category.GAMBLING])
    assert staff_client.post(url, {"is_active": "", "mode": ""}).status_code == 302
    assert moderation.screen_prompt("网络赌博").text == "网络赌博"
    entry = AuditEntry.objects.get(action="sensitive_category.changed")
    assert entry.actor == staff and entry.data == {"is_active": False, "mode": ""}


def test_the_admin_refuses_to_switch_off_the_minors_category(staff_client):
    url = reverse("admin:gallery_sensitivecategory_change", args=[Category.MINORS])
    response = staff_client.post(url, {"is_active": "", "mode": ""})
    assert response.status_code == 200
    assert "always screened and always blocked" in response.content.decode()
    assert SensitiveCategory.objects.get(code=Category.MINORS).is_active


# --- CSV import and export in the admin ---


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _export(staff_client) -> str:
    response = staff_client.get(reverse("admin:gallery_sensitiveword_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return response.content.decode("utf-8-sig")


def _import(staff_client, text: str, *, encoding: str = "utf-8", name: str = "words.csv"):
    upload = SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")
    return staff_client.post(reverse("admin:gallery_sensitiveword_import"), {"file": upload}, follow=True)


def test_the_list_exported_and_imported_again_changes_nothing(staff_client, staff):
    exported = _export(staff_client)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == SensitiveWord.objects.count()
    assert {"word": "口交", "category": "sexual", "mode": "block", "language": "zh", "is_active": "1"} in rows
    response = _import(staff_client, exported)
    assert f"Imported: 0 added, 0 updated, {len(rows)} unchanged." in [str(m) for m in response.context["messages"]]
    assert _export(staff_client) == exported
    entry = AuditEntry.objects.get(action="sensitive_words.imported")
    assert entry.actor == staff and entry.data["added"] == [] and entry.data["unchanged"] == len(rows)


def test_an_import_adds_and_updates_words_and_the_matcher_follows(staff_client):
    """Fails before: there was no import; staff typed words one by one."""
    text = "word,category,mode\n独角兽,other,block\nviolence,violence,block\n=cmd,other,mask\n"
    response = _import(staff_client, text, encoding="gb18030")
    assert "Imported: 2 added, 1 updated, 0 unchanged." in [str(m) for m in response.context["messages"]]
    assert SensitiveWord.objects.get(word="violence").mode == "block"
    with pytest.raises(moderation.PromptBlocked):
        moderation.screen_prompt("一只独角兽")
    exported = _export(staff_client)
    assert "'=cmd,other,mask" in exported  # a spreadsheet would run it as a formula
    assert "Imported: 0 added, 0 updated" in str(list(_import(staff_client, exported).context["messages"])[0])


def test_an_import_with_a_bad_line_changes_nothing_and_says_which(staff_client):
    before = _export(staff_client)
    text = "word,category,mode,is_active\n新词,other,block,1\n,other,block,\nfoo,politics,block,\nbar,other,shout,\n"
    response = _import(staff_client, text)
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Line 3: the word is empty." in page
    assert "Line 4: unknown category" in page and "Line 5: unknown mode" in page
    assert _export(staff_client) == before
    assert not AuditEntry.objects.filter(action="sensitive_words.imported").exists()


def test_an_import_needs_the_columns(staff_client):
    page = _import(staff_client, "term;kind\nfoo;bar\n").content.decode()
    assert "must name the columns word, category and mode" in page


def test_selected_words_export_as_csv(staff_client):
    words = SensitiveWord.objects.filter(word__in=["gore", "暴力"])
    url = reverse("admin:gallery_sensitiveword_changelist")
    data = {"action": "export_selected", "_selected_action": [str(w.pk) for w in words]}
    response = staff_client.post(url, data)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(row["word"] for row in rows) == ["gore", "暴力"]


def test_the_word_list_page_offers_import_and_export(staff_client):
    page = staff_client.get(reverse("admin:gallery_sensitiveword_changelist")).content.decode()
    assert reverse("admin:gallery_sensitiveword_import") in page
    assert reverse("admin:gallery_sensitiveword_export") in page
