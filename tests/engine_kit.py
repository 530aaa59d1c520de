"""What the offline engine's tests share: submitting over the test client, running the task
for real with its callback going to a local receiver, and reading the engine's URLs back."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from engine import tasks
from engine.models import EngineTask
from tests.helpers import DATA, Recorder, json_reply, png_bytes

PATHS = {"txt2img": "engine:txt2img", "img2img": "engine:img2img", "anime": "engine:anime", "upscale": "engine:upscale"}


def configure(settings_fixture, tmp_path: Path) -> None:
    """Fast callbacks, files in a temporary folder, faults on, sources from local servers."""
    settings_fixture.VAR_DIR = tmp_path
    # Source pictures come from image_server() on 127.0.0.1 and a port picked at random.
    settings_fixture.ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED = ["127.0.0.1"]
    settings_fixture.ENGINE_FAULTS_ENABLED = True
    settings_fixture.ENGINE_CALLBACK_ATTEMPTS = 3
    settings_fixture.ENGINE_CALLBACK_INTERVAL = 0.05
    settings_fixture.ENGINE_CALLBACK_TIMEOUT = 3.0


def token_headers(token: str | None = None) -> dict[str, str]:
    return {"HTTP_X_APISPACE_TOKEN": settings.ENGINE_TOKEN if token is None else token}


def post(client, kind: str, body, *, token: str | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(reverse(PATHS[kind]), data=data, content_type="application/json", **token_headers(token))


def post_call(client, name: str, body, *, token: str | None = None):
    return client.post(reverse(name), data=json.dumps(body), content_type="application/json", **token_headers(token))


def txt2img_body(*, text: str = "玫瑰花 roses", notify_url: str = "", **params) -> dict:
    """The documented text-to-image body: params nested, repeated flat, notify_url."""
    inner = {
        "text": text,
        "negative_prompt": "",
        "w": 128,
        "h": 96,
        "num_steps": 20,
        "guidance_scale": 7.5,
        "sampler": "k_euler",
        "seed": 1234,
        "version": "dreamlike_v1",
        **params,
    }
    return {"task": "txt2img.sd", "params": inner, **inner, "notify_url": notify_url}


def source_body(kind: str, *, url: str, notify_url: str = "", **params) -> dict:
    defaults = {
        "img2img": {
            "text": "sunset over the sea",
            "negative_prompt": "",
            "strength": 0.6,
            "num_steps": 20,
            "guidance_scale": 7.5,
            "sampler": "k_euler",
            "seed": 7,
            "version": "dreamlike_v1",
        },
        "anime": {"style": "classic"},
        "upscale": {"sr_model": "animevideov3", "is_anime": False},
    }[kind]
    tasks_by_kind = {"img2img": "img2img.sd", "anime": "img2img.anime", "upscale": "img2img.sr"}
    inner = {**defaults, **params, "url": url}
    return {"task": tasks_by_kind[kind], "params": inner, **inner, "notify_url": notify_url}


def local_path(url: str) -> str:
    """An engine URL from a callback (http://testserver/engine/...) as a test-client path."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def run(uid: str) -> EngineTask:
    """Run the django-q2 task function for real, then reload the row."""
    tasks.run_task(uid)
    return EngineTask.objects.get(uid=uid)


def posted_bodies(receiver: Recorder) -> list[dict]:
    return [json.loads(request["body"]) for request in receiver.requests if request["method"] == "POST"]


def _quick(recorder: Recorder) -> Recorder:
    # serve_forever polls for shutdown every 0.5 s by default; every test would wait for it.
    recorder.thread = threading.Thread(
        target=recorder.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    return recorder


def receiver(answer=None) -> Recorder:
    """A local callback receiver answering `answer` (default: 200 {"ok": true}) at /cb."""
    recorder = Recorder()
    recorder.routes["/cb"] = answer or json_reply({"ok": True})
    return _quick(recorder)


def image_server(data: bytes | None = None) -> Recorder:
    """A local server with a PNG at /in.png and some text at /text.png."""
    recorder = Recorder()
    payload = data if data is not None else png_bytes((48, 40))
    recorder.routes["/in.png"] = lambda handler, body: (200, {"Content-Type": "image/png"}, payload)
    recorder.routes["/text.png"] = lambda handler, body: (200, {"Content-Type": "image/png"}, b"not a picture at all")
    return _quick(recorder)


def seed_callback(name: str) -> dict:
    return json.loads((DATA / "callbacks" / f"{name}.json").read_text())


def key_tree(value):
    """The nested key structure of a JSON value (dicts -> {key: subtree}, others -> None)."""
    if isinstance(value, dict):
        return {key: key_tree(item) for key, item in value.items()}
    return None
