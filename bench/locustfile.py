"""The people of bench/load.py, for Locust: each logs in through the login form with an account
of its own, then browses like a person — the gallery (and the thumbnails on it its browser has
not cached yet, from the presigned S3 URLs), a picture's page, the public explore page — and
now and then opens the text-to-image form and submits it, at most once per LOAD_SUBMIT_EVERY
seconds, within the site's per-user limits (a refusal by the limits is counted apart).

Read from the environment (bench/load.py sets them): LOAD_USERS (comma-separated user names),
LOAD_PASSWORD, LOAD_FORM (the form's default fields as JSON), LOAD_SUBMIT_EVERY, and
LOAD_STEADY_OUT: where the response times of the requests sent once every person has arrived
(the steady load, without the log-ins and their password hashing) are written as JSON.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import time

from locust import HttpUser, between, events, task

THUMB = re.compile(r'class="thumb-link"><img src="([^"]+)"')
IMAGE_LINK = re.compile(r'href="/images/([0-9a-f-]{36})/"')
LIMITED = ("jobs running", "jobs a minute")
USERS = os.environ.get("LOAD_USERS", "").split(",")
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
FORM = json.loads(os.environ.get("LOAD_FORM", "{}"))
SUBMIT_EVERY = float(os.environ.get("LOAD_SUBMIT_EVERY", "90"))
_next_user = itertools.count()
_steady: dict[str, list[float]] = {}  # request name -> response times (ms) once all have arrived
_steady_failures: dict[str, int] = {}
_window: dict[str, float] = {}  # "start": the last person arrived, "end": the run stopped (monotonic)


@events.spawning_complete.add_listener
def _all_arrived(user_count: int, **kwargs) -> None:
    _window["start"] = time.monotonic()


@events.test_stop.add_listener
def _stopped(**kwargs) -> None:
    _window["end"] = time.monotonic()


@events.request.add_listener
def _record(name: str, response_time: float, exception: BaseException | None, **kwargs) -> None:
    # Counted if sent (the event comes when it has finished) after the last arrival and before
    # the stop; log-ins belong to the arrivals, not to the steady load.
    start = _window.get("start")
    if start is None or "end" in _window or name.startswith("login"):
        return
    if time.monotonic() - response_time / 1000 >= start:
        _steady.setdefault(name, []).append(response_time)
        if exception is not None:
            _steady_failures[name] = _steady_failures.get(name, 0) + 1


@events.quitting.add_listener
def _write_steady(**kwargs) -> None:
    path = os.environ.get("LOAD_STEADY_OUT")
    if path and "start" in _window:
        seconds = _window.get("end", time.monotonic()) - _window["start"]
        with open(path, "w") as out:
            json.dump({"seconds": seconds, "times_ms": _steady, "failures": _steady_failures}, out)


class Person(HttpUser):
    wait_time = between(2, 8)  # reading a page, looking at pictures

    def on_start(self) -> None:
        self.username = USERS[next(_next_user) % len(USERS)]
        self.client.headers["Accept-Language"] = "en"  # the limits' refusal is recognised by its English text
        self.cached: set[str] = set()  # the browser cache: thumbnail URLs fetched already
        self.images: list[str] = []
        # the first submission comes at a random moment of the first interval, not all at once
        self.next_submit = time.monotonic() + random.uniform(0, SUBMIT_EVERY)
        self.client.get("/accounts/login/", name="login form")
        with self.client.post(
            "/accounts/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": self._csrf()},
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
            catch_response=True,
        ) as response:
            if "sessionid" not in self.client.cookies:
                response.failure(f"not logged in ({response.status_code})")
        self.gallery()

    def _csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    @task(6)
    def gallery(self) -> None:
        response = self.client.get("/gallery/", name="gallery")
        if response.status_code != 200:
            return
        page = response.text
        self.images = IMAGE_LINK.findall(page) or self.images
        for url in (html.unescape(src) for src in THUMB.findall(page)):
            if url not in self.cached:
                self.cached.add(url)
                self.client.get(url, name="thumbnail (S3, presigned)")

    @task(3)
    def image_page(self) -> None:
        if self.images:
            self.client.get(f"/images/{random.choice(self.images)}/", name="image page")

    @task(1)
    def explore(self) -> None:
        self.client.get("/explore/", name="explore")

    @task(2)
    def submit(self) -> None:
        if time.monotonic() < self.next_submit:
            return
        self.next_submit = time.monotonic() + SUBMIT_EVERY
        form = "/jobs/new/txt2img/"
        self.client.get(form, name="job form")
        data = {
            **FORM,
            "prompt": f"玫瑰花 in a garden, lantern {random.randrange(10**6)}",
            "seed": random.randrange(10**6),
        }
        with self.client.post(
            form,
            data={**data, "csrfmiddlewaretoken": self._csrf()},
            headers={"Referer": f"{self.host}{form}"},
            allow_redirects=False,
            name="submit job",
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 302 and "/jobs/" in location:
                response.success()
            elif any(text in response.text for text in LIMITED):
                response.success()  # the site's limits said no, as they should: counted apart
                self.environment.events.request.fire(
                    request_type="POST",
                    name="submit job (refused by the limits)",
                    response_time=0,
                    response_length=0,
                    exception=None,
                    context={},
                )
                return
            else:
                response.failure(f"no job created ({response.status_code})")
                return
        self.client.get(location, name="job page")
