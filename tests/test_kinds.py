"""The kind registry (gallery/kinds.py): each kind is declared once and the site reads it,
so a kind added there gets its settings, its form page, its tips and its home card."""

from __future__ import annotations

import dataclasses

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from gallery import kinds
from gallery.models import Image, Job, JobKind

pytestmark = pytest.mark.django_db

SKETCH = kinds.Kind(
    name="sketch",
    label="Line sketch",
    summary="A prompt drawn as a single line.",
    form="gallery.forms.Txt2ImgForm",
    takes_prompt=True,
    max_source_side=None,
    path_setting="APISPACE_PATH_SKETCH",
    default_path="/aigc/sketch",
    task_setting="APISPACE_TASK_SKETCH",
    default_task="txt2img.sketch",
    cost_setting="CREDIT_COST_SKETCH",
    default_cost=3,
    tips=("Draw it with one unbroken line.",),
)


@pytest.fixture
def with_sketch(monkeypatch, settings):
    """A fifth kind, added the way the README says: one entry in the registry (the settings
    were read at start-up, so its three values are put in by hand here)."""
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, SKETCH))
    settings.APISPACE_PATHS = {**settings.APISPACE_PATHS, "sketch": SKETCH.default_path}
    settings.APISPACE_TASKS = {**settings.APISPACE_TASKS, "sketch": SKETCH.default_task}
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "sketch": SKETCH.default_cost}
    return SKETCH


def test_the_settings_have_every_kind_with_its_declared_default():
    for kind in kinds.KINDS:
        assert settings.APISPACE_PATHS[kind.name] == kind.default_path
        assert settings.APISPACE_TASKS[kind.name] == kind.default_task
        assert settings.CREDIT_COSTS[kind.name] == kind.default_cost == kind.cost


def test_the_model_choices_are_the_registry():
    names = [kind.name for kind in kinds.KINDS]
    assert JobKind.values == names
    assert [value for value, _label in Job._meta.get_field("kind").choices] == names
    assert [value for value, _label in Image._meta.get_field("kind").choices] == names


def test_every_kind_names_a_form_that_speaks_the_provider_vocabulary():
    for kind in kinds.KINDS:
        form_class = kind.form_class
        assert callable(getattr(form_class, "to_params", None)), kind
        assert ("prompt" in form_class.base_fields) == kind.takes_prompt, kind
        assert ("source_upload" in form_class.base_fields) == kind.takes_source, kind
        for _param, field in kind.reuse_fields:
            assert field in form_class.base_fields, (kind, field)


def test_an_unknown_kind_is_404(alice_client):
    assert alice_client.get("/jobs/new/sketch/").status_code == 404


def test_a_new_kind_gets_its_own_form_page_and_tips(alice_client, with_sketch):
    """Fails before the registry: the page was a 404 (forms.JOB_FORMS did not know the kind),
    and with the kind added to JOB_FORMS and the model choices, jobs/new.html's `{% else %}`
    showed the 4x super-resolution tips for it."""
    response = alice_client.get(reverse("new_job", args=["sketch"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Line sketch</h1>" in page
    assert "Draw it with one unbroken line." in page
    assert "Each side is multiplied by 4" not in page
    assert "Costs 3 credits" in page
    assert f'href="{reverse("new_job", args=["sketch"])}"' in page  # its tab


def test_a_new_kind_gets_its_card_on_the_home_page(client, with_sketch):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Line sketch" in page and "A prompt drawn as a single line." in page
    for kind in kinds.KINDS:
        assert f'href="{reverse("studio_kind", args=[kind.name])}"' in page


def test_a_kind_without_tips_shows_no_tips_box(alice_client, monkeypatch, with_sketch):
    bare = dataclasses.replace(SKETCH, tips=())
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS[:-1], bare))
    page = alice_client.get(reverse("new_job", args=["sketch"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="card tips"' not in page
    assert "Each side is multiplied by 4" not in page


def test_a_new_kind_needs_no_migration(with_sketch):
    """The model fields take their choices from a callable, so a migration records a reference
    to the registry rather than a copy of its list; and the models match the migrations."""
    for model in (Job, Image):
        assert model._meta.get_field("kind").deconstruct()[3]["choices"] is kinds.choices
    assert "sketch" in dict(Job._meta.get_field("kind").choices)
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_engine_serves_every_kind_at_its_default_path_and_task(client):
    """The engine's own table (engine/kinds.py) and the site's registry meet only over HTTP:
    each kind of the site is one row of the engine at the site's default path."""
    from engine import kinds as engine_kinds

    assert list(engine_kinds.KINDS) == [kind.name for kind in kinds.KINDS]
    endpoints = client.get(reverse("engine:index")).json()["endpoints"]
    for kind in kinds.KINDS:
        row = engine_kinds.KINDS[kind.name]
        assert (f"/{row.path}", row.task) == (kind.default_path, kind.default_task)
        assert endpoints[kind.name] == {"path": row.path, "task": row.task}
        assert reverse(f"engine:{kind.name}") == f"/engine{kind.default_path}"
