"""The offline engine speaks the APISpace protocol: auth, validation, the immediate reply, the
callback body field by field, its delivery with retries, status, interrupt and health.

Work runs for real: the django-q2 task function renders, stores and POSTs the callback to a
threaded HTTP receiver on 127.0.0.1; source images come from another local HTTP server.
"""

from __future__ import annotations

import io
import json
import re
import socket
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from engine import protocol, work
from engine.models import EngineTask
from engine.render import superres
from gallery import callbacks as site_callbacks
from gallery import provider
from tests.engine_kit import (
    configure,
    image_server,
    key_tree,
    local_path,
    post,
    post_call,
    posted_bodies,
    receiver,
    run,
    seed_callback,
    source_body,
    txt2img_body,
)
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db

UID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(autouse=True)
def engine_settings(settings, tmp_path):
    configure(settings, tmp_path)
    return settings


def _submit(client, body, kind="txt2img") -> str:
    response = post(client, kind, body)
    assert response.status_code == 200, response.content
    return response.json()["uid"]


def _fetch_png(client, url: str) -> PILImage.Image:
    response = client.get(local_path(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return PILImage.open(io.BytesIO(b"".join(response.streaming_content)))


# --- authentication -----------------------------------------------------------------------------


def test_it_refuses_a_missing_token(client):
    response = client.post(reverse("engine:txt2img"), data=json.dumps(txt2img_body()), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert not EngineTask.objects.exists()


def test_it_refuses_a_wrong_token(client):
    response = post(client, "txt2img", txt2img_body(), token="not-the-token")
    assert response.status_code == 401
    assert "X-APISpace-Token" in response.json()["msg"]
    assert not EngineTask.objects.exists()


def test_status_and_interrupt_need_the_token_too(client):
    assert post_call(client, "engine:status", {"uid": "0" * 32}, token="nope").status_code == 401
    assert post_call(client, "engine:interrupt", {"uid": "0" * 32}, token="").status_code == 401


def test_it_only_takes_posts(client):
    assert client.get(reverse("engine:txt2img")).status_code == 405


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"w": 1024}, "w"),
        ({"h": 769}, "h"),
        ({"w": 32}, "w"),
        ({"w": "wide"}, "w"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"sampler": "euler_magic"}, "sampler"),
        ({"num_steps": 4}, "num_steps"),
        ({"num_steps": 101}, "num_steps"),
        ({"seed": -2}, "seed"),
        ({"seed": 2**32}, "seed"),
    ],
)
def test_it_rejects_bad_parameters_with_a_json_400(client, change, field):
    body = txt2img_body(**change)
    response = post(client, "txt2img", body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False
    assert answer["error"]["field"] == field
    assert answer["msg"].startswith(f"{field}: ")
    assert not EngineTask.objects.exists()


def test_it_rejects_a_missing_prompt(client):
    body = txt2img_body()
    del body["text"], body["params"]["text"]
    response = post(client, "txt2img", body)
    assert response.status_code == 400
    assert response.json()["error"] == {"field": "text", "message": "a prompt is required"}


def test_it_rejects_a_body_that_is_not_json(client):
    response = post(client, "txt2img", b"{not json")
    assert response.status_code == 400
    assert response.json()["msg"] == "body is not JSON"


def test_it_rejects_a_task_name_for_another_endpoint(client):
    body = txt2img_body()
    body["task"] = "img2img.sr"
    response = post(client, "txt2img", body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "task"


def test_it_rejects_an_unreachable_image_url(client):
    with image_server() as server:
        dead = server.url  # nothing listens here once the server is closed
    response = post(client, "img2img", source_body("img2img", url=f"{dead}/in.png"))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "url"
    assert "unreachable" in response.json()["error"]["message"]


def _refusal(url: str) -> str:
    with pytest.raises(protocol.PayloadInvalid) as caught:
        protocol.fetch_source(url)
    assert caught.value.field == "url"
    return caught.value.message


def test_the_source_download_reaches_loopback_only_on_an_allowed_port(engine_settings):
    """Fails before the change: the engine fetched any URL, every port of 127.0.0.1 included."""
    with image_server() as server:
        port = server.server.server_address[1]
        engine_settings.ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED = ["127.0.0.1:1"]
        message = _refusal(f"{server.url}/in.png")
        assert server.requests == []  # refused before connecting
        engine_settings.ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED = [f"127.0.0.1:{port}"]
        assert protocol.fetch_source(f"{server.url}/in.png")[1:] == (48, 40)
    assert message == "the image URL points to an address the engine may not fetch from"


def test_the_source_download_never_reaches_the_metadata_address(engine_settings):
    """Fails before the change: the engine connected to 169.254.169.254, where cloud machines
    keep their credentials; now it is refused even when listed."""
    engine_settings.ENGINE_FETCH_CONNECT_TIMEOUT = 0.5
    engine_settings.ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED = ["169.254.169.254", "127.0.0.1"]
    message = _refusal("http://169.254.169.254/latest/meta-data/")
    assert message == "the image URL points to an address the engine may not fetch from"


def test_a_closed_port_a_silent_one_and_no_such_host_give_the_same_answer(engine_settings):
    """Fails before the change: the error named the exception (ConnectionError, ReadTimeout), so
    a submitter could map which ports of our network were open."""
    engine_settings.ENGINE_FETCH_CONNECT_TIMEOUT = 0.5
    engine_settings.ENGINE_FETCH_READ_TIMEOUT = 0.5
    engine_settings.ENGINE_FETCH_DEADLINE = 3.0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with socket.socket() as silent:  # listens (the kernel completes connects) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()
        timed_out = _refusal(f"http://127.0.0.1:{silent.getsockname()[1]}/in.png")
        assert time.monotonic() - started < 3
    refused = _refusal(f"http://127.0.0.1:{closed}/in.png")
    unknown = _refusal("http://no-such-host.invalid/in.png")  # .invalid never resolves (RFC 6761)

    assert refused == timed_out == unknown
    assert "unreachable" in refused


def test_it_rejects_an_image_url_that_answers_404(client):
    with image_server() as server:
        response = post(client, "anime", source_body("anime", url=f"{server.url}/missing.png"))
    assert response.status_code == 400
    assert "HTTP 404" in response.json()["msg"]


def test_it_rejects_a_url_that_does_not_serve_an_image(client):
    with image_server() as server:
        response = post(client, "upscale", source_body("upscale", url=f"{server.url}/text.png"))
    assert response.status_code == 400
    assert "readable image" in response.json()["msg"]


def test_it_rejects_a_missing_image_url(client):
    body = source_body("anime", url="")
    response = post(client, "anime", body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "url"


def test_it_rejects_a_source_too_small_to_restyle(client):
    with image_server(png_bytes((12, 40))) as server:
        response = post(client, "anime", source_body("anime", url=f"{server.url}/in.png"))
    assert response.status_code == 400
    assert "at least 16x16" in response.json()["msg"]


def test_it_rejects_an_unknown_style(client):
    with image_server() as server:
        response = post(client, "anime", source_body("anime", url=f"{server.url}/in.png", style="cubism"))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "style"


def test_it_rejects_an_unknown_super_resolution_model(client):
    with image_server() as server:
        response = post(client, "upscale", source_body("upscale", url=f"{server.url}/in.png", sr_model="waifu2x"))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "sr_model"


def test_it_rejects_a_source_too_big_for_4x(client):
    with image_server(png_bytes((800, 64))) as server:
        response = post(client, "upscale", source_body("upscale", url=f"{server.url}/in.png"))
    assert response.status_code == 400
    assert "800x64" in response.json()["msg"]


# --- the immediate reply ------------------------------------------------------------------------


def test_it_replies_at_once_with_a_uid_and_queues_the_work(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, "txt2img", txt2img_body())
    assert response.status_code == 200
    answer = response.json()
    assert UID.match(answer["uid"])
    assert answer == {"uid": answer["uid"], "success": True, "msg": "queued"}
    assert len(queued) == 1  # enqueued after commit, not run inside the request
    task = EngineTask.objects.get(uid=answer["uid"])
    assert (task.status, task.task, task.kind) == ("pending", "txt2img.sd", "txt2img")


@pytest.mark.parametrize("kind", ["txt2img", "img2img", "anime", "upscale"])
def test_it_accepts_the_payload_the_site_builds(client, kind, settings):
    params = {
        "txt2img": {
            "text": "a castle",
            "negative_prompt": "",
            "w": 512,
            "h": 512,
            "num_steps": 20,
            "guidance_scale": 7.5,
            "sampler": "k_euler",
            "seed": 42,
            "version": "dreamlike_v1",
        },
        "img2img": {
            "text": "a castle",
            "negative_prompt": "",
            "strength": 0.6,
            "num_steps": 20,
            "guidance_scale": 7.5,
            "sampler": "k_euler",
            "seed": 42,
            "version": "dreamlike_v1",
            "source_size": [48, 40],
        },
        "anime": {"style": "classic", "source_size": [48, 40]},
        "upscale": {"sr_model": "x4plus-anime", "is_anime": True, "source_size": [48, 40]},
    }[kind]
    with image_server() as server:
        payload = provider.build_payload(
            kind=kind,
            params=params,
            notify_url="http://127.0.0.1:9/callbacks/x/y/",
            source_url=f"{server.url}/in.png" if kind != "txt2img" else "",
        )
        response = client.post(
            f"/engine{settings.APISPACE_PATHS[kind]}",
            data=json.dumps(payload),
            content_type="application/json",
            HTTP_X_APISPACE_TOKEN=settings.PROVIDER_TOKEN,
            HTTP_AUTHORIZATION_TYPE="apikey",
        )
    assert response.status_code == 200, response.content
    assert provider.extract_task_id(response.json()) == response.json()["uid"]
    assert EngineTask.objects.get(uid=response.json()["uid"]).task == settings.APISPACE_TASKS[kind]


def test_it_resolves_seed_minus_one_and_echoes_it(client):
    uid = _submit(client, txt2img_body(seed=-1))
    seed = EngineTask.objects.get(uid=uid).params["seed"]
    assert 0 <= seed < 2**32


def test_it_masks_configured_sensitive_words(client, engine_settings):
    engine_settings.ENGINE_SENSITIVE_WORDS = ["暴力", "violence"]
    uid = _submit(client, txt2img_body(text="Violence and 暴力 among roses", negative_prompt="no violence"))
    params = EngineTask.objects.get(uid=uid).params
    assert params["text"] == "******** and ** among roses"
    assert params["negative_prompt"] == "no ********"


# --- the callback body, field by field ----------------------------------------------------------


def _assert_like_seed(body: dict, seed_name: str, *, extra_model_keys: set[str]) -> None:
    seed = seed_callback(seed_name)
    assert set(body) == set(seed)
    assert set(body["data"]) == set(seed["data"])
    if "elapsed_times" in seed["data"]:
        assert key_tree(body["data"]["elapsed_times"]) == key_tree(seed["data"]["elapsed_times"])
    assert set(body["data"]["request"]) == set(seed["data"]["request"])
    model_keys, seed_model_keys = set(body["data"]["request"]["model"]), set(seed["data"]["request"]["model"])
    assert seed_model_keys <= model_keys
    assert model_keys - seed_model_keys <= extra_model_keys
    for key in body["data"]:
        assert type(body["data"][key]) is type(seed["data"][key]) or {
            type(body["data"][key]),
            type(seed["data"][key]),
        } <= {int, float}, key


def test_the_success_callback_matches_the_documented_body(client):
    with receiver() as cb:
        uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
        task = run(uid)
    [body] = posted_bodies(cb)
    _assert_like_seed(body, "success-documented", extra_model_keys={"engine_label", "procedural"})
    data = body["data"]
    assert body["uid"] == data["uid"] == uid
    assert (body["success"], data["safe"], data["reason"]) == (True, True, "")
    assert data["createtime"] <= data["starttime"] <= data["end_time"]
    assert data["duration"] == pytest.approx(data["end_time"] - data["createtime"])
    assert data["elapsed_times"]["algorithm_latencies"]["inference"] > 0
    model = data["request"]["model"]
    assert data["request"]["task"] == "txt2img.sd"
    assert (model["text"], model["w"], model["h"], model["seed"], model["callback_url"]) == (
        "玫瑰花 roses",
        128,
        96,
        1234,
        "",
    )
    assert (model["engine_label"], model["procedural"]) == ("Offline engine (procedural)", True)
    assert data["cos"] != data["cdn"] and data["cdn"].startswith(data["cos"])
    assert _fetch_png(client, data["cos"]).size == (128, 96)
    assert _fetch_png(client, data["cdn"]).size == (128, 96)
    assert task.status == "finished" and task.callbacks_delivered == 1 and task.callback_attempts == 1
    assert task.callback_body == body
    # What the site will make of it: its own strict parser accepts the body.
    parsed = site_callbacks.from_body(body)
    assert parsed.carries_image and parsed.create_time == data["createtime"]


def test_the_unsafe_callback_matches_the_documented_shape(client):
    with receiver() as cb:
        uid = _submit(client, txt2img_body(text="roses [[unsafe]]", notify_url=f"{cb.url}/cb"))
        run(uid)
    [body] = posted_bodies(cb)
    _assert_like_seed(body, "unsafe", extra_model_keys={"engine_label", "procedural"})
    data = body["data"]
    assert (body["success"], data["safe"], data["cdn"], data["cos"]) == (True, False, "", "")
    assert "unsafe" in data["reason"]
    assert data["request"]["model"]["text"] == "roses"
    parsed = site_callbacks.from_body(body)
    assert parsed.success and parsed.safe is False and not parsed.carries_image


def test_the_failure_callback_is_the_smaller_backend_body(client):
    with receiver() as cb:
        uid = _submit(client, txt2img_body(text="[[fail]] roses", notify_url=f"{cb.url}/cb"))
        task = run(uid)
    [body] = posted_bodies(cb)
    _assert_like_seed(body, "failure-while-running", extra_model_keys={"engine_label", "procedural"})
    data = body["data"]
    assert body["success"] is False
    assert not {"cdn", "cos", "safe"} & set(data)
    assert data["reason"].startswith("txt2img.sd -> start -> run_algorithm : RuntimeError")
    assert task.status == "exception" and task.reason == data["reason"]
    parsed = site_callbacks.from_body(body)
    assert not parsed.success and parsed.reason == data["reason"]


def test_super_resolution_reports_real_latencies_and_a_4x_picture(client):
    with image_server(png_bytes((40, 24))) as server, receiver() as cb:
        uid = _submit(client, source_body("upscale", url=f"{server.url}/in.png", notify_url=f"{cb.url}/cb"), "upscale")
        run(uid)
    [body] = posted_bodies(cb)
    _assert_like_seed(
        body, "success-super-resolution", extra_model_keys={"engine_label", "procedural", "sr_model", "source_size"}
    )
    data = body["data"]
    assert (data["safe"], data["elapsed_times"]["audit"]) == (True, 0.0)
    latencies = data["elapsed_times"]["algorithm_latencies"]
    assert latencies["inference"] > 0
    assert latencies["__total"] == pytest.approx(
        sum(latencies[k] for k in ("get_model", "inference", "cleanup")), abs=1e-3
    )
    model = data["request"]["model"]
    assert (model["engine_label"], model["sr_model"], model["source_size"]) == (
        "Real-ESRGAN animevideov3 x4",
        "animevideov3",
        [40, 24],
    )
    result = _fetch_png(client, data["cos"])
    assert (result.size, result.mode) == ((160, 96), "RGB")


def test_a_broken_super_resolution_install_fails_the_job_with_a_clear_reason(client, tmp_path, monkeypatch):
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv(superres.MODELS_DIR_ENV, str(empty))
    with image_server() as server, receiver() as cb:
        uid = _submit(client, source_body("upscale", url=f"{server.url}/in.png", notify_url=f"{cb.url}/cb"), "upscale")
        run(uid)
    [body] = posted_bodies(cb)
    assert body["success"] is False
    assert "ModelUnavailable" in body["data"]["reason"] and "files missing" in body["data"]["reason"]


@pytest.mark.parametrize(
    ("kind", "params", "label"),
    [
        ("img2img", {}, "Offline engine (image-to-image, palette transfer)"),
        ("anime", {"style": "classic"}, "Offline engine (anime stylisation: classic)"),
    ],
)
def test_source_kinds_render_at_the_source_size_and_are_labelled(client, kind, params, label):
    with image_server(png_bytes((56, 40))) as server, receiver() as cb:
        uid = _submit(client, source_body(kind, url=f"{server.url}/in.png", notify_url=f"{cb.url}/cb", **params), kind)
        run(uid)
    [body] = posted_bodies(cb)
    assert body["success"] is True, body["data"].get("reason")
    assert body["data"]["request"]["model"]["engine_label"] == label
    assert _fetch_png(client, body["data"]["cos"]).size == (56, 40)


def test_the_anime_styles_look_different(client):
    def stylised(style: str) -> bytes:
        with image_server(png_bytes((64, 48))) as server:
            uid = _submit(client, source_body("anime", url=f"{server.url}/in.png", style=style), "anime")
        task = run(uid)
        return _fetch_png(client, task.callback_body["data"]["cos"]).tobytes()

    results = {style: stylised(style) for style in ("classic", "watercolor", "manga")}
    assert len(set(results.values())) == 3


def test_the_same_seed_gives_identical_bytes(client):
    def result_bytes(seed: int) -> bytes:
        uid = _submit(client, txt2img_body(text="城堡 castle at sunset", seed=seed))
        task = run(uid)
        url = task.callback_body["data"]["cos"]
        return b"".join(client.get(local_path(url)).streaming_content)

    first, again, other = result_bytes(99), result_bytes(99), result_bytes(100)
    assert first == again
    assert first != other


# --- delivery -----------------------------------------------------------------------------------


def test_it_retries_while_the_answer_is_not_json(client, engine_settings):
    engine_settings.ENGINE_CALLBACK_ATTEMPTS = 4
    html = lambda handler, body: (200, {"Content-Type": "text/html"}, b"<html>thanks</html>")  # noqa: E731
    with receiver(html) as cb:
        uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
        task = run(uid)
    bodies = posted_bodies(cb)
    assert len(bodies) == 4 and all(body == bodies[0] for body in bodies)
    assert (task.callback_attempts, task.callbacks_delivered) == (4, 0)
    assert task.callback_error == "the answer is not JSON"


def test_it_retries_on_a_server_error_until_it_gives_up(client, engine_settings):
    engine_settings.ENGINE_CALLBACK_ATTEMPTS = 5
    failing = lambda handler, body: (500, {"Content-Type": "application/json"}, b'{"ok": false}')  # noqa: E731
    with receiver(failing) as cb:
        uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
        task = run(uid)
    assert len(posted_bodies(cb)) == 5
    assert (task.callback_attempts, task.callbacks_delivered, task.callback_error) == (5, 0, "HTTP 500")


def test_it_stops_at_the_first_json_answer(client):
    answers = iter([(503, {}, b""), (200, {"Content-Type": "text/plain"}, b"ok"), (200, {}, b'{"ok": true}')])
    with receiver(lambda handler, body: next(answers)) as cb:
        uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
        task = run(uid)
    assert len(posted_bodies(cb)) == 3
    assert (task.callback_attempts, task.callbacks_delivered) == (3, 1)


def test_a_second_run_does_nothing(client):
    with receiver() as cb:
        uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
        run(uid)
        from engine import tasks

        assert tasks.run_task(uid) == "not pending"
    assert len(posted_bodies(cb)) == 1


def test_a_run_abandoned_by_a_killed_worker_is_taken_up_again(client, settings):
    uid = _submit(client, txt2img_body())
    long_ago = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 1)
    EngineTask.objects.filter(uid=uid).update(status="working", started_at=long_ago)
    assert run(uid).status == "finished"
    recent = _submit(client, txt2img_body())
    EngineTask.objects.filter(uid=recent).update(status="working", started_at=timezone.now())
    assert run(recent).status == "working"  # still running elsewhere: left alone


def test_the_queued_task_runs_after_commit_through_django_q(client, django_capture_on_commit_callbacks):
    # Q_SYNC=1 in tests: async_task runs the task at once, as a worker would.
    with receiver() as cb:
        with django_capture_on_commit_callbacks(execute=True):
            uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
    [body] = posted_bodies(cb)
    assert body["uid"] == uid and body["success"] is True


# --- status and interrupt -----------------------------------------------------------------------


def test_status_reports_pending_with_its_position(client):
    first = _submit(client, txt2img_body())
    second = _submit(client, txt2img_body())
    answer = post_call(client, "engine:status", {"uid": second}).json()
    assert (answer["status"], answer["position"]) == ("pending", 1)
    assert post_call(client, "engine:status", {"uid": first}).json()["position"] == 0


def test_status_reports_finished_with_the_callback_data(client):
    uid = _submit(client, txt2img_body())
    task = run(uid)  # no notify_url: nothing to call back, the status call still knows
    answer = post_call(client, "engine:status", {"uid": uid}).json()
    assert answer["status"] == "finished"
    assert answer["data"] == task.callback_body["data"]


def test_status_reports_exception_and_not_found_and_takes_a_batch(client):
    failed = _submit(client, txt2img_body(text="[[fail]]"))
    run(failed)
    pending = _submit(client, txt2img_body())
    answer = post_call(client, "engine:status", {"uids": [failed, "f" * 32, pending]}).json()
    assert [item["status"] for item in answer["results"]] == ["exception", "not_found", "pending"]
    assert answer["results"][0]["data"]["reason"].endswith("[[fail]] fault marker)")


def test_interrupt_stops_a_pending_task(client):
    with receiver() as cb:
        uid = _submit(client, txt2img_body(notify_url=f"{cb.url}/cb"))
        answer = post_call(client, "engine:interrupt", {"uid": uid}).json()
        assert answer == {"success": True, "uid": uid, "status": "interrupted"}
        task = run(uid)
    assert task.status == "interrupted"
    assert posted_bodies(cb) == []
    assert post_call(client, "engine:status", {"uid": uid}).json()["status"] == "interrupted"


def test_interrupt_refuses_a_finished_or_unknown_task(client):
    uid = _submit(client, txt2img_body())
    run(uid)
    answer = post_call(client, "engine:interrupt", {"uid": uid}).json()
    assert (answer["success"], answer["status"]) == (False, "finished")
    assert post_call(client, "engine:interrupt", {"uid": "0" * 32}).json()["success"] is False


@pytest.mark.django_db(transaction=True)
def test_the_site_provider_client_reads_status_and_interrupt(live_server, settings):
    settings.APISPACE_BASE_URL = f"{live_server.url}/engine"
    settings.APISPACE_STATUS_PATH, settings.APISPACE_INTERRUPT_PATH = "/status", "/interrupt"
    task = EngineTask.objects.create(kind="txt2img", task="txt2img.sd", params={})
    assert provider.status(task_id=task.uid)["status"] == "pending"
    assert provider.interrupt(task_id=task.uid) is True
    assert provider.status(task_id=task.uid)["status"] == "interrupted"
    assert provider.interrupt(task_id=task.uid) is False


# --- health, index, files -----------------------------------------------------------------------


def test_health_reports_the_super_resolution_model(client):
    work.forget_health()
    response = client.get(reverse("engine:health"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True and answer["superres"]["ok"] is True
    assert "Real-ESRGAN animevideov3 x4" in answer["superres"]["detail"]


def test_health_says_why_the_model_cannot_run(client, tmp_path, monkeypatch):
    monkeypatch.setenv(superres.MODELS_DIR_ENV, str(tmp_path))
    work.forget_health()
    try:
        answer = client.get(reverse("engine:health")).json()
    finally:
        work.forget_health()
    assert answer["ok"] is False and answer["superres"]["ok"] is False
    assert "files missing" in answer["superres"]["detail"]


def test_the_index_describes_the_engine(client):
    response = client.get(reverse("engine:index"))
    assert response.status_code == 200
    assert response.json()["endpoints"]["upscale"]["task"] == "img2img.sr"


def test_an_unknown_result_file_is_a_404(client):
    assert client.get(f"/engine/files/{'a' * 32}.png").status_code == 404
    assert client.get("/engine/files/../../etc/passwd.png").status_code == 404
