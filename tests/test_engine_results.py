"""The offline engine serves a result for ENGINE_RESULT_TTL seconds, then forgets it: its URL
answers 404 and the scheduled sweep deletes the file. Before this, results were served to
anyone holding the URL, forever, even after their owner deleted the picture on the site."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import storage, tasks
from engine.models import EngineTask
from tests.engine_kit import configure, local_path, post, run, txt2img_body

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def engine_settings(settings, tmp_path):
    configure(settings, tmp_path)
    settings.ENGINE_RESULT_TTL = 600
    return settings


def _finished(client) -> EngineTask:
    response = post(client, "txt2img", txt2img_body())
    assert response.status_code == 200, response.content
    task = run(response.json()["uid"])
    assert task.status == "finished" and task.result_name
    return task


def _age(task: EngineTask, seconds: float) -> None:
    """Make the result file look `seconds` old, as if it had been written then."""
    path = storage.root() / "results" / f"{task.result_name}.png"
    then = time.time() - seconds
    os.utime(path, (then, then))


def _urls(task: EngineTask) -> list[str]:
    data = task.callback_body["data"]
    return [local_path(data["cos"]), local_path(data["cdn"])]


def test_a_result_older_than_the_ttl_answers_404_and_the_sweep_deletes_it(client):
    """Fails before the change: the file stayed on disk and its URL answered 200 forever."""
    task = _finished(client)
    assert all(client.get(url).status_code == 200 for url in _urls(task))
    _age(task, 601)
    # Refused at once, whether or not the sweep has run yet.
    assert [client.get(url).status_code for url in _urls(task)] == [404, 404]
    assert tasks.sweep_results() == 1
    assert not (storage.root() / "results" / f"{task.result_name}.png").exists()
    assert [client.get(url).status_code for url in _urls(task)] == [404, 404]
    assert tasks.sweep_results() == 0  # twice: nothing more


def test_a_fresh_result_stays_and_is_served(client):
    old, fresh = _finished(client), _finished(client)
    _age(old, 601)
    _age(fresh, 590)
    assert tasks.sweep_results() == 1
    assert (storage.root() / "results" / f"{fresh.result_name}.png").is_file()
    response = client.get(_urls(fresh)[0])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_the_slow_image_fault_url_expires_too(client):
    task = _finished(client)
    _age(task, 601)
    assert client.get(f"/engine/faults/slowimg/{task.result_name}.png?seconds=0").status_code == 404


def test_the_sweep_is_scheduled():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="engine-sweep-results")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("engine.tasks.sweep_results", "I", 5)


def test_the_sweep_still_deletes_old_results_once_the_engine_is_switched_off(tmp_path):
    """The schedule row stays when `engine` leaves INSTALLED_APPS (APISPACE_TOKEN set): the task
    must then still run, on files alone, instead of failing on the engine's models."""
    results = tmp_path / "engine" / "results"
    results.mkdir(parents=True)
    left = results / f"{'b' * 32}.png"
    left.write_bytes(b"png")
    then = time.time() - 7200
    os.utime(left, (then, then))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APISPACE_", "ENGINE_"))}
    env.update(DJANGO_SETTINGS_MODULE="aigc_site.settings", DEBUG="1", VAR_DIR=str(tmp_path), APISPACE_TOKEN="t")
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "assert 'engine' not in settings.INSTALLED_APPS; "
        "from engine import tasks; print(tasks.sweep_results())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "1" and not left.exists()
