"""Faceted search of the own gallery (gallery/search.py): words in Chinese and English, every
filter, the counts beside each choice, the URL that keeps them, bad values, the index each
database uses, the query count of a first page, and "originals only" with lineage badges.

The same tests run on SQLite (FTS5 trigram index) and PostgreSQL (pg_trgm GIN indexes)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery import albums, pagination, search, trash
from gallery.models import Image
from tests.factories import image_row, stored_image

pytestmark = pytest.mark.django_db


def ids_on(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'data-testid="image-card" data-image-id="([0-9a-f-]+)"', response.content.decode())


def found(client, **query) -> set[str]:
    return set(ids_on(client.get(reverse("gallery"), query)))


def select_html(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"', 1)[1].split("</select>", 1)[0]


def params(seed=1, version="dreamlike_v1", **more):
    return {"text": "x", "w": 512, "h": 512, "seed": seed, "version": version, **more}


# --- words ---


def test_a_chinese_word_inside_a_longer_prompt_matches_without_spaces(alice_client, alice, bob):
    """Fails before on SQLite for words the FTS index must find: there was no index at all."""
    castle = image_row(alice, prompt="一座白色城堡在云海之上，日落时分")
    cat = image_row(alice, prompt="一只橘猫睡在城市的屋顶上")
    image_row(bob, prompt="一座白色城堡在云海之上")  # someone else's: never found
    assert found(alice_client, q="白色城堡") == {str(castle.id)}  # four characters: the trigram index
    assert found(alice_client, q="城堡在云海") == {str(castle.id)}
    assert found(alice_client, q="猫") == {str(cat.id)}  # one character: the LIKE alone
    assert found(alice_client, q="城市") == {str(cat.id)}  # two characters
    assert found(alice_client, q="屋顶 橘猫") == {str(cat.id)}  # every word must match
    assert found(alice_client, q="城堡 猫") == set()
    assert found(alice_client, q="黑色城堡") == set()


def test_english_words_ignore_case_and_match_inside_words(alice_client, alice):
    fox = image_row(alice, prompt="Portrait of a FOX in a rose garden")
    image_row(alice, prompt="a lighthouse in a storm")
    assert found(alice_client, q="fox") == {str(fox.id)}
    assert found(alice_client, q="ROSE portrait") == {str(fox.id)}
    assert found(alice_client, q="gard") == {str(fox.id)}
    assert found(alice_client, q="ox") == {str(fox.id)}  # two letters: the LIKE alone


def test_the_negative_prompt_is_searched_too(alice_client, alice):
    image = image_row(alice, prompt="a castle", negative_prompt="模糊, low quality")
    assert found(alice_client, q="模糊") == {str(image.id)}
    assert found(alice_client, q="quality") == {str(image.id)}


@pytest.mark.parametrize("word", ['"', '"AND"', "50%", "a_b", "*", "NEAR(", "'; DROP", "OR", "-x", "^"])
def test_query_syntax_and_wildcards_are_plain_characters(alice_client, alice, word):
    """Quotes, FTS5 operators and LIKE wildcards are searched for as they are."""
    literal = image_row(alice, prompt=f"weird {word} prompt")
    image_row(alice, prompt="weird plain prompt 50 percent ab")
    assert found(alice_client, q=word) == {str(literal.id)}


def test_the_index_follows_changed_and_deleted_prompts(alice_client, alice):
    """On SQLite the trigram table is kept in step by triggers: a stale index would hide the
    picture under its new words or keep finding it under its old ones."""
    image = image_row(alice, prompt="青山绿水 mountains")
    Image.objects.filter(id=image.id).update(prompt="大漠孤烟 desert")
    assert found(alice_client, q="大漠孤烟") == {str(image.id)}
    assert found(alice_client, q="青山绿水") == set()
    again = image_row(alice, prompt="大漠孤烟 again")
    Image.objects.filter(id=image.id).delete()
    assert found(alice_client, q="大漠孤烟") == {str(again.id)}


def test_the_database_has_its_search_index():
    """PostgreSQL: pg_trgm GIN indexes on prompt and negative_prompt; SQLite: the
    FTS5 trigram table, its triggers, and an index that holds exactly the pictures there are."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'image_%%_trgm' ORDER BY indexname")
            definitions = [row[0] for row in cursor.fetchall()]
            assert len(definitions) == 2
            assert all("USING gin" in d and "gin_trgm_ops" in d and "upper(" not in d for d in definitions)
            assert search.ensure_sqlite_index(connection) is False
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'gallery_image_search%'"
            )
            assert len(cursor.fetchall()) == 3
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'gallery_image_search'")
            assert "trigram" in cursor.fetchone()[0]
            assert search.ensure_sqlite_index(connection) is False  # in step already


@pytest.mark.parametrize("most", [0, 2_000])
def test_a_word_is_found_the_same_with_or_without_the_word_index(alice_client, alice, bob, monkeypatch, most):
    """SQLite uses the global trigram index only for words with few candidates (a common word's
    candidates from every gallery cost more than the LIKE over the owner's index); both ways give
    the same pictures. On PostgreSQL the setting does nothing."""
    monkeypatch.setattr(search, "FTS_MAX_CANDIDATES", most)
    search._few_candidates.cache_clear()
    castles = {str(image_row(alice, prompt=f"白色城堡 number {n}").id) for n in range(3)}
    image_row(alice, prompt="黑色城堡")
    image_row(bob, prompt="白色城堡")
    assert found(alice_client, q="白色城堡") == castles
    assert found(alice_client, q="白色城堡 number") == castles
    search._few_candidates.cache_clear()


def test_a_search_index_that_lost_its_triggers_is_rebuilt(alice, alice_client):
    """Django rebuilds a SQLite table to alter it, which drops its triggers; the post-migrate
    step puts them back and reindexes what was missed. (On PostgreSQL there is nothing to lose.)"""
    before = image_row(alice, prompt="春眠不觉晓")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER gallery_image_search_insert")
    missed = image_row(alice, prompt="春眠不觉晓 处处闻啼鸟")
    search.ensure_sqlite_index(connection)
    assert found(alice_client, q="春眠不觉晓") == {str(before.id), str(missed.id)}
    assert found(alice_client, q="处处闻啼鸟") == {str(missed.id)}


# --- filters ---


def test_each_filter_narrows_the_gallery(alice_client, alice):
    now = timezone.now()
    a = image_row(alice, prompt="a", kind="txt2img", rating=4, params=params(seed=42, version="anime"))
    b = image_row(alice, prompt="b", kind="upscale", params={"sr_model": "x4plus", "seed": 7})
    c = image_row(
        alice,
        prompt="c",
        kind="txt2img",
        is_favourite=True,
        params=params(seed=42),
        created_at=now - timedelta(days=40),
    )
    Image.objects.filter(id=b.id).update(width=2048, height=2048)
    album = albums.create_album(owner=alice, name="Best", images=[c])
    assert found(alice_client, kind="upscale") == {str(b.id)}
    assert found(alice_client, rating="4") == {str(a.id)}
    assert found(alice_client, album=album.id) == {str(c.id)}
    assert found(alice_client, favourites="1") == {str(c.id)}
    assert found(alice_client, size="2048x2048") == {str(b.id)}
    assert found(alice_client, size="512×512") == {str(a.id), str(c.id)}
    assert found(alice_client, seed="42") == {str(a.id), str(c.id)}
    assert found(alice_client, model="anime") == {str(a.id)}
    assert found(alice_client, model="x4plus") == {str(b.id)}
    old_day = (timezone.localtime(now) - timedelta(days=40)).date()
    assert found(alice_client, date_to=str(old_day)) == {str(c.id)}
    assert found(alice_client, date_from=str(old_day + timedelta(days=1))) == {str(a.id), str(b.id)}
    assert found(alice_client, date_from=str(old_day), date_to=str(old_day)) == {str(c.id)}
    assert found(alice_client, seed="42", favourites="1", kind="txt2img", q="c") == {str(c.id)}
    assert found(alice_client, seed="42", model="anime", favourites="1") == set()


def test_each_facet_counts_what_its_choices_would_show_with_the_other_filters(alice_client, alice, bob):
    """Fails before: only the kind filter had counts."""
    for kind, rating, favourite, version in (
        ("txt2img", 5, True, "anime"),
        ("txt2img", 3, False, "anime"),
        ("txt2img", 0, True, "v1.5"),
        ("img2img", 4, True, "anime"),
    ):
        image_row(
            alice, prompt="猫 cat", kind=kind, rating=rating, is_favourite=favourite, params=params(version=version)
        )
    image_row(alice, prompt="dog", kind="txt2img", rating=5, is_favourite=True, params=params(version="anime"))
    image_row(bob, prompt="猫 cat", kind="txt2img", rating=5, is_favourite=True, params=params(version="anime"))
    html = alice_client.get(reverse("gallery"), {"q": "猫", "favourites": "1", "model": "anime"}).content.decode()
    kinds = select_html(html, "filter-kind")
    assert "Text to image (1)</option>" in kinds and "Image to image (1)</option>" in kinds
    models = select_html(html, "filter-model")
    assert "Anime (2)</option>" in models and "Stable Diffusion 1.5 (general) (1)</option>" in models
    ratings = select_html(html, "filter-rating")
    assert "4 stars or more (2)</option>" in ratings and "5 stars or more (1)</option>" in ratings
    assert "Favourites (2)" in html  # the favourite count ignores the favourite filter itself
    assert 'data-testid="result-count" aria-live="polite">2 pictures' in html
    sizes = select_html(html, "filter-size")
    assert "512×512 (2)</option>" in sizes


def test_album_counts_follow_the_other_filters(alice_client, alice):
    cats = [image_row(alice, prompt="cat", kind="txt2img"), image_row(alice, prompt="cat", kind="upscale")]
    album = albums.create_album(owner=alice, name="Cats", images=[*cats, image_row(alice, prompt="dog")])
    html = alice_client.get(reverse("gallery"), {"q": "cat", "kind": "upscale"}).content.decode()
    assert f'<option value="{album.id}">Cats (1)</option>' in select_html(html, "filter-album")


@pytest.mark.parametrize("query", [{}, {"q": "cat"}, {"kind": "txt2img", "rating": "2"}])
def test_album_counts_leave_out_trashed_pictures_with_filters_and_without(alice_client, alice, query):
    """The albums' counts are one of two statements, by whether anything filters the pictures
    (search._albums_with_counts): both count the album's pictures that the gallery would show."""
    shown = [image_row(alice, prompt="cat", rating=3), image_row(alice, prompt="a cat on a roof", rating=2)]
    gone = image_row(alice, prompt="cat", rating=5)
    other = image_row(alice, prompt="dog", kind="upscale")
    album = albums.create_album(owner=alice, name="Mixed", images=[*shown, gone, other])
    trash.trash_images(owner=alice, images=[gone])
    html = alice_client.get(reverse("gallery"), query).content.decode()
    expected = 3 if not query else 2
    assert f'<option value="{album.id}">Mixed ({expected})</option>' in select_html(html, "filter-album")


def test_pictures_with_long_prompts_are_found_and_counted_like_any_other(alice_client, alice):
    """PostgreSQL's search index holds the pictures whose prompts have at most 600 characters
    together (an index entry may not exceed 2,704 bytes); the longer ones are counted from the
    table in the same query. Fails without that second part: the long ones vanish from the counts.
    A prompt at the limit, in 4-byte characters, with a long model name, still fits the index."""
    at_limit = "🏰" * 299 + "城堡" + "🌙" * 299  # 600 characters, 2,398 bytes
    assert len(at_limit) == search.SHORT_PROMPT_CHARACTERS
    fits = image_row(alice, prompt=at_limit, kind="txt2img", params=params(version="v" * 200))
    long_ones = [
        image_row(
            alice, prompt="城堡" * 500, negative_prompt="雾" * 1000, kind="txt2img", params=params(version="anime")
        ),
        image_row(alice, prompt="城堡" + "云" * 599, kind="upscale", params={"sr_model": "x4plus"}),
    ]
    short = image_row(alice, prompt="白色城堡", kind="txt2img", params=params(version="anime"))
    image_row(alice, prompt="山" * 700, kind="txt2img")  # long, not a match
    albums.create_album(owner=alice, name="Both", images=[long_ones[0], short])
    assert found(alice_client, q="城堡") == {str(i.id) for i in (fits, short, *long_ones)}
    html = alice_client.get(reverse("gallery"), {"q": "城堡", "model": "anime"}).content.decode()
    assert 'data-testid="result-count" aria-live="polite">2 pictures' in html
    assert "Text to image (2)</option>" in select_html(html, "filter-kind")
    assert "4x super-resolution (0)</option>" in select_html(html, "filter-kind")
    assert "Anime (2)</option>" in select_html(html, "filter-model")
    assert "Both (2)</option>" in select_html(html, "filter-album")
    kinds = select_html(alice_client.get(reverse("gallery"), {"q": "城堡"}).content.decode(), "filter-kind")
    assert "Text to image (3)</option>" in kinds and "4x super-resolution (1)</option>" in kinds


def test_the_model_is_kept_by_the_database_from_the_parameters(alice):
    """Image.model_name is a generated column: the generator's version, or the upscaler's model."""
    made = image_row(alice, params=params(version="anime"))
    upscaled = image_row(alice, kind="upscale", params={"sr_model": "x4plus"})
    plain = image_row(alice, kind="anime", params={"style": "manga"})
    names = dict(Image.objects.filter(owner=alice).values_list("id", "model_name"))
    assert (names[made.id], names[upscaled.id], names[plain.id]) == ("anime", "x4plus", "")
    Image.objects.filter(id=made.id).update(params=params(version="v1.5"))
    assert Image.objects.get(id=made.id).model_name == "v1.5"


def test_the_owners_counts_are_read_from_the_search_index():
    """The facet counts' index: on PostgreSQL a covering partial index with the prompts beside the
    facets and a partial index of the long prompts; on SQLite one index with every column."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'image_owner_%%'")
            definitions = dict(cursor.fetchall())
            assert (
                "INCLUDE (id, created_at, source_image_id, prompt, negative_prompt)"
                in definitions["image_owner_facets"]
            )
            assert "<= 600" in definitions["image_owner_facets"]
            assert (
                "> 600" in definitions["image_owner_long_prompts"] or "NOT" in definitions["image_owner_long_prompts"]
            )
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'image_owner_facets'")
            assert "model_name" in cursor.fetchone()[0]


def test_filters_combine_and_stay_in_the_url(alice_client, alice, monkeypatch):
    monkeypatch.setattr(pagination, "PAGE_SIZE", 1)
    day = timezone.localdate()
    for _ in range(3):
        image_row(alice, prompt="白色城堡 castle", rating=5, is_favourite=True, params=params(seed=9))
    query = {
        "q": "城堡",
        "kind": "txt2img",
        "rating": "5",
        "favourites": "1",
        "size": "512x512",
        "seed": "9",
        "date_from": str(day - timedelta(days=1)),
        "date_to": str(day),
        "model": "dreamlike_v1",
        "originals": "1",
        "sort": "oldest",
    }
    html = alice_client.get(reverse("gallery"), query).content.decode()
    link = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    kept = parse_qs(urlsplit(link).query)
    assert {key: value[0] for key, value in kept.items() if key != "after"} == query
    # The form shows what is applied.
    assert 'value="城堡"' in html and 'value="9"' in html and f'value="{day}"' in html
    assert '<option value="512x512" selected>' in html and '<option value="dreamlike_v1" selected>' in html
    assert (
        'name="originals" value="1" checked' in html
        and '<details class="more-filters" data-testid="more-filters" open>' in html
    )


BAD_VALUES = {
    "rating": "9",
    "seed": "abc",
    "size": "huge",
    "date_from": "2026-13-45",
    "model": "gpt-image",
    "kind": "video",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [*BAD_VALUES.items(), ("seed", "-5"), ("seed", "9" * 40), ("date_to", "0001-01-01"), ("album", "x")],
)
def test_a_bad_value_is_named_and_left_out_never_a_500(alice_client, alice, field, value):
    image = image_row(alice, prompt="a cat")
    response = alice_client.get(reverse("gallery"), {field: value, "q": "cat"})
    assert response.status_code == 200
    assert ids_on(response) == [str(image.id)]  # the other filters still apply, the bad one does not
    errors = response.content.decode().split('data-testid="search-errors"', 1)[1].split("</div>", 1)[0]
    assert "These filters were left out:" in errors and "<li>" in errors


def test_the_errors_read_in_chinese(alice, alice_client):
    image_row(alice)
    query = {**BAD_VALUES, "date_from": "2026-05-02", "date_to": "2026-05-01"}
    html = alice_client.get(reverse("gallery"), query, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    errors = html.split('data-testid="search-errors"', 1)[1].split("</div>", 1)[0]
    assert "以下筛选条件未生效" in errors
    assert "结束日期早于开始日期" in errors  # dates the wrong way round
    assert "尺寸" in errors and "宽×高" in errors
    assert "种子" in errors and "整数" in errors  # Django's own messages, translated
    assert "更多筛选" in html and "仅原图" in html
    english = alice_client.get(reverse("gallery"), query).content.decode()
    assert "The end date is before the start date." in english and "Write a size as width×height" in english


def test_a_nul_and_control_characters_in_the_words_are_harmless(alice_client, alice):
    image = image_row(alice, prompt="a cat")
    response = alice_client.get(reverse("gallery"), {"q": "dog\x00", "kind": "txt2img"})
    assert ids_on(response) == [str(image.id)] and "Null characters are not allowed." in response.content.decode()
    assert found(alice_client, q="cat\x07") == {str(image.id)}  # a control character is a space


def test_another_users_album_is_a_404(alice_client, bob):
    theirs = albums.create_album(owner=bob, name="Bob's")
    assert alice_client.get(reverse("gallery"), {"album": theirs.id}).status_code == 404


def test_a_first_page_with_facet_counts_takes_at_most_eight_queries(alice_client, alice, django_assert_max_num_queries):
    """Session, user, balance, the inbox's unread count, facet groups, albums and their counts, the page,
    descendants."""
    source = image_row(alice, prompt="白色城堡 original", rating=5)
    for n in range(60):
        image_row(alice, prompt=f"白色城堡 {n}", rating=n % 6, is_favourite=n % 2 == 0, source_image=source)
    albums.create_album(owner=alice, name="One", images=[source])
    albums.create_album(owner=alice, name="Two")
    query = {"q": "城堡", "rating": "3", "favourites": "1", "originals": "1", "album": ""}
    with django_assert_max_num_queries(8):
        response = alice_client.get(reverse("gallery"), query)
    assert response.status_code == 200
    with django_assert_max_num_queries(8):
        assert (
            alice_client.get(reverse("gallery"), {"q": "白色城堡", "kind": "txt2img", "model": "anime"}).status_code
            == 200
        )


# --- lineage: originals only ---


def test_originals_only_collapses_derived_pictures_under_their_source(alice_client, alice, bob):
    """Fails before: the gallery could not hide derived pictures."""
    original = image_row(alice, prompt="fox")
    upscale = image_row(alice, prompt="fox", kind="upscale", source_image=original)
    restyle = image_row(alice, prompt="fox", kind="img2img", source_image=original)
    image_row(alice, prompt="fox", kind="upscale", source_image=restyle)  # a grandchild
    alone = image_row(alice, prompt="owl")
    orphan = image_row(alice, prompt="fox", kind="upscale", source_image=image_row(alice, prompt="gone"))
    Image.objects.filter(prompt="gone").delete()  # its source went away: it counts as an original
    assert set(ids_on(alice_client.get(reverse("gallery")))) >= {str(upscale.id), str(restyle.id)}
    response = alice_client.get(reverse("gallery"), {"originals": "1"})
    assert set(ids_on(response)) == {str(original.id), str(alone.id), str(orphan.id)}
    html = response.content.decode()
    card = html.split(f'data-image-id="{original.id}"', 1)[1].split("</figure>", 1)[0]
    badge = re.search(r'<a class="badge small derived" href="([^"]+)" data-testid="derived-badge">([^<]+)</a>', card)
    assert badge.group(1) == reverse("image_detail", args=[original.id]) + "#derived"
    assert badge.group(2).strip() == "+3 derived"
    assert 'data-testid="derived-badge"' not in html.split(f'data-image-id="{alone.id}"', 1)[1].split("</figure>")[0]
    zh = alice_client.get(reverse("gallery"), {"originals": "1"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "+3 张衍生图" in zh
    page = alice_client.get(reverse("image_detail", args=[original.id])).content.decode()
    assert 'id="derived"' in page


def test_deleting_a_parent_never_deletes_its_children(alice, bucket_keys, django_capture_on_commit_callbacks):
    parent = stored_image(alice)
    child = stored_image(alice, kind="upscale", source_image=parent)
    grandchild = stored_image(alice, kind="upscale", source_image=child)
    with django_capture_on_commit_callbacks(execute=True):
        trash.trash_images(owner=alice, images=[parent])
        result = trash.empty_trash(owner=alice)
    assert result.deleted == 1
    child.refresh_from_db()
    grandchild.refresh_from_db()
    assert child.source_image_id is None and grandchild.source_image_id == child.id
    keys = set(bucket_keys(f"images/{alice.pk}/"))
    assert set(child.stored_keys()) <= keys and set(grandchild.stored_keys()) <= keys
    assert not set(parent.stored_keys()) & keys
    other = Client()
    other.force_login(alice)
    assert other.get(reverse("image_detail", args=[child.id])).status_code == 200


def test_a_picture_whose_source_is_in_the_trash_shows_as_an_original(alice_client, alice):
    parent = image_row(alice, prompt="fox")
    child = image_row(alice, prompt="fox", kind="upscale", source_image=parent)
    trash.trash_images(owner=alice, images=[parent])
    assert set(ids_on(alice_client.get(reverse("gallery"), {"originals": "1"}))) == {str(child.id)}
    assert found(alice_client, q="fox") == {str(child.id)}  # the trashed one is not searched


def test_a_long_word_can_be_found_through_the_index(alice):
    """The index matches what the search writes: on PostgreSQL the planner can answer the LIKE
    of a Chinese word and the ILIKE of an English one with the trigram index (forced here: with a
    handful of rows it would rightly read the table); on SQLite the query goes through FTS5."""
    image_row(alice, prompt="一座白色城堡在云海之上")
    search._few_candidates.cache_clear()  # a word with one candidate goes through the index
    words = search.Criteria(words=("白色城堡",))
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            chinese = Image.objects.filter(search.word_filter("白色城堡")).explain()
            english = Image.objects.filter(search.word_filter("Castle")).explain()
        assert "image_prompt_trgm" in chinese and "~~ '%白色城堡%'" in chinese  # LIKE
        assert "image_prompt_trgm" in english and "~~* '%Castle%'" in english  # ILIKE
    else:
        plan = search.images(alice, words).explain()
        assert "VIRTUAL TABLE" in plan
    assert search.images(alice, words).count() == 1
