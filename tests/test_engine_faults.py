"""Each fault marker of the offline engine (engine/faults.py), observed at the protocol level:
what is called back, how often, when, and what the result URLs serve. The site's handling of
each is tested end to end elsewhere."""

from __future__ import annotations

import io
import struct
import time

import pytest
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from engine import faults
from engine.models import EngineTask
from tests.engine_kit import (
    configure,
    image_server,
    key_tree,
    local_path,
    post,
    posted_bodies,
    receiver,
    run,
    seed_callback,
    source_body,
    txt2img_body,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def engine_settings(settings, tmp_path):
    configure(settings, tmp_path)
    return settings


def _run_with_receiver(client, body, kind="txt2img") -> tuple[EngineTask, list[dict], float]:
    """Submit, run the task for real, and return the row, the bodies received and the seconds taken."""
    with receiver() as cb:
        body["notify_url"] = f"{cb.url}/cb"
        response = post(client, kind, body)
        assert response.status_code == 200, response.content
        started = time.monotonic()
        task = run(response.json()["uid"])
        elapsed = time.monotonic() - started
    return task, posted_bodies(cb), elapsed


def _result_url(client, text: str) -> str:
    task, [body], _ = _run_with_receiver(client, txt2img_body(text=text))
    assert body["success"] is True and body["data"]["safe"] is True
    return body["data"]["cos"]


# --- parsing markers ----------------------------------------------------------------------------


def test_markers_are_read_and_stripped_from_the_prompt():
    text, found = faults.extract(text="a [[twice]] rose [[late:2]] garden [[not-a-fault]]")
    assert text == "a rose garden [[not-a-fault]]"
    assert (found.copies, found.late_seconds) == (2, 2)


def test_kinds_without_a_prompt_take_a_fault_parameter():
    assert faults.extract(fault_param="[[fail]]")[1].fail
    _, found = faults.extract(fault_param="dup:3, backend-spelling")
    assert (found.copies, found.backend_spelling) == (3, True)


def test_markers_are_plain_text_when_faults_are_disabled(client, engine_settings):
    engine_settings.ENGINE_FAULTS_ENABLED = False
    task, [body], _ = _run_with_receiver(client, txt2img_body(text="roses [[fail]]"))
    assert body["success"] is True
    assert body["data"]["request"]["model"]["text"] == "roses [[fail]]"
    assert client.get(local_path(body["data"]["cos"])).status_code == 200


# --- outcome faults -----------------------------------------------------------------------------


def test_fail_reports_success_false_with_a_reason(client):
    task, [body], _ = _run_with_receiver(client, txt2img_body(text="[[fail]] roses"))
    assert body["success"] is False
    assert (
        body["data"]["reason"]
        == "txt2img.sd -> start -> run_algorithm : RuntimeError: simulated failure (the [[fail]] fault marker)"
    )
    assert task.status == "exception"


def test_fail_works_through_the_fault_parameter_of_an_upscale(client):
    with image_server() as server:
        body = source_body("upscale", url=f"{server.url}/in.png", fault="fail")
        task, [callback], _ = _run_with_receiver(client, body, "upscale")
    assert callback["success"] is False
    assert callback["data"]["reason"].startswith("img2img.sr -> start -> run_algorithm : ")


def test_unsafe_reports_safe_false_with_empty_urls(client):
    task, [body], _ = _run_with_receiver(client, txt2img_body(text="[[unsafe]] roses"))
    assert (body["success"], body["data"]["safe"], body["data"]["cdn"], body["data"]["cos"]) == (True, False, "", "")
    assert body["data"]["reason"]
    assert task.result_name == ""  # nothing stored for an unsafe picture


def test_late_calls_back_after_the_delay(client):
    task, [body], elapsed = _run_with_receiver(client, txt2img_body(text="roses [[late:1]]"))
    assert elapsed >= 1.0
    assert body["success"] is True


def test_silent_never_calls_back_but_the_status_knows(client):
    task, bodies, _ = _run_with_receiver(client, txt2img_body(text="roses [[silent]]"))
    assert bodies == []
    assert task.status == "finished" and task.callback_attempts == 0
    assert task.callback_body["data"]["safe"] is True


def test_twice_calls_back_twice_with_the_same_body(client):
    task, bodies, _ = _run_with_receiver(client, txt2img_body(text="roses [[twice]]"))
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert task.callbacks_delivered == 2


def test_dup_calls_back_n_times(client):
    task, bodies, _ = _run_with_receiver(client, txt2img_body(text="roses [[dup:4]]"))
    assert len(bodies) == 4 and len({body["uid"] for body in bodies}) == 1


def test_backend_spelling_renames_the_time_fields(client):
    task, [body], _ = _run_with_receiver(client, txt2img_body(text="roses [[backend-spelling]]"))
    seed = seed_callback("success-backend-spelling")
    assert set(body["data"]) == set(seed["data"])
    assert key_tree(body["data"]["elapsed_times"]) == key_tree(seed["data"]["elapsed_times"])
    assert "createtime" not in body["data"] and body["data"]["create_time"] <= body["data"]["start_time"]


# --- URL faults ---------------------------------------------------------------------------------


def test_img404_gives_urls_that_404(client):
    url = _result_url(client, "roses [[img404]]")
    assert client.get(local_path(url)).status_code == 404


def test_notimage_serves_bytes_that_are_not_an_image(client):
    response = client.get(local_path(_result_url(client, "roses [[notimage]]")))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with pytest.raises(UnidentifiedImageError):
        PILImage.open(io.BytesIO(response.content))


def test_oversize_streams_more_than_the_site_accepts(client, engine_settings):
    engine_settings.INGEST_MAX_BYTES = 1024 * 1024
    response = client.get(local_path(_result_url(client, "roses [[oversize]]")))
    assert response.status_code == 200 and response.streaming
    assert not response.has_header("Content-Length")
    total = 0
    for index, chunk in enumerate(response.streaming_content):
        if index == 0:
            assert chunk.startswith(b"\x89PNG")
        total += len(chunk)
    assert total == engine_settings.INGEST_MAX_BYTES + 10 * 1024 * 1024


def test_slowimg_drips_the_real_picture(client, engine_settings):
    engine_settings.ENGINE_SLOWIMG_INTERVAL = 0.1
    url = _result_url(client, "roses [[slowimg:1]]")
    assert "seconds=1" in url
    started = time.monotonic()
    response = client.get(local_path(url))
    chunks = list(response.streaming_content)
    assert time.monotonic() - started >= 0.9
    assert len(chunks) >= 10
    assert PILImage.open(io.BytesIO(b"".join(chunks))).size == (128, 96)


def test_redirect_private_points_at_a_private_address(client):
    response = client.get(local_path(_result_url(client, "roses [[redirect-private]]")))
    assert response.status_code == 302
    assert response["Location"] == "http://10.255.255.1/x.png"


def test_bomb_is_a_small_png_declaring_huge_dimensions(client):
    response = client.get(local_path(_result_url(client, "roses [[bomb]]")))
    data = response.content
    assert len(data) < 2048 and data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert width * height >= 60000 * 60000
    with pytest.raises(PILImage.DecompressionBombError):
        PILImage.open(io.BytesIO(data))


def test_url_faults_are_404_when_faults_are_disabled(client, engine_settings):
    url = _result_url(client, "roses [[notimage]]")
    engine_settings.ENGINE_FAULTS_ENABLED = False
    assert client.get(local_path(url)).status_code == 404


def test_faults_combine(client):
    task, bodies, elapsed = _run_with_receiver(client, txt2img_body(text="[[late:1]] roses [[twice]] [[unsafe]]"))
    assert elapsed >= 1.0
    assert len(bodies) == 2 and all(body["data"]["safe"] is False for body in bodies)
    assert sorted(faults.Faults.from_json(task.faults).names) == ["dup:2", "late:1", "unsafe"]


def test_queued_keeps_a_task_pending_in_the_engines_queue_until_its_planned_run(
    client, django_capture_on_commit_callbacks
):
    """[[queued:N]]: the task is not run now but planned N s later (a busy service's queue), so
    the status call says pending and the interrupt call can still drop it."""
    from django_q.models import Schedule

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "txt2img", txt2img_body(text="a harbour [[queued:45]]"))
    uid = response.json()["uid"]
    task = EngineTask.objects.get(uid=uid)
    assert task.status == "pending" and faults.Faults.from_json(task.faults).names == ["queued:45"]
    planned = Schedule.objects.get(name=f"engine.tasks.run_task:{uid}")
    assert 40 <= (planned.next_run - task.created_at).total_seconds() <= 50
    assert task.params["text"] == "a harbour"
