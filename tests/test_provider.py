"""The provider client against a real local HTTP server: payloads and failure classes."""

from __future__ import annotations

import json
import socket
import time

import pytest

from gallery import provider
from tests.helpers import Recorder, json_reply

DOCUMENTED_EXAMPLE = {
    "task": "txt2img.sd",
    "params": {
        "model": "art",
        "text": "玫瑰花",
        "w": 512,
        "h": 512,
        "guidance_scale": 7.5,
        "negative_prompt": "cropped",
        "sampler": "k_euler",
        "seed": -1,
        "num_steps": 20,
    },
    "model": "art",
    "text": "玫瑰花",
    "w": 512,
    "h": 512,
    "guidance_scale": 7.5,
    "negative_prompt": "cropped",
    "sampler": "k_euler",
    "seed": -1,
    "num_steps": 20,
    "notify_url": "",
}


def test_the_payload_matches_the_documented_example():
    params = {k: v for k, v in DOCUMENTED_EXAMPLE["params"].items()}
    assert provider.build_payload(kind="txt2img", params=params, notify_url="") == DOCUMENTED_EXAMPLE


def test_image_kinds_carry_the_source_url_in_params_and_flat(settings):
    payload = provider.build_payload(
        kind="upscale",
        params={"sr_model": "x4plus", "is_anime": False},
        notify_url="https://site/cb",
        source_url="https://s3/x.png?sig=1",
    )
    assert payload["task"] == settings.APISPACE_TASKS["upscale"]
    assert payload["params"]["url"] == payload["url"] == "https://s3/x.png?sig=1"
    assert payload["notify_url"] == "https://site/cb"


@pytest.fixture
def server(settings):
    with Recorder() as recorder:
        settings.APISPACE_BASE_URL = recorder.url
        settings.PROVIDER_TOKEN = "tok-123"
        settings.PROVIDER_READ_TIMEOUT = 0.5
        yield recorder


def _submit():
    return provider.submit(
        kind="txt2img", payload=provider.build_payload(kind="txt2img", params={"text": "x"}, notify_url="n")
    )


def test_it_sends_the_token_headers_and_json(server, settings):
    server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"uid": "abc123", "success": True, "msg": "queued"})
    submission = _submit()
    sent = server.requests[0]
    assert sent["headers"]["X-APISpace-Token"] == "tok-123"
    assert sent["headers"]["Authorization-Type"] == "apikey"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert json.loads(sent["body"])["text"] == "x"
    assert submission.task_id == "abc123"
    assert submission.raw == {"uid": "abc123", "success": True, "msg": "queued"}


@pytest.mark.parametrize(
    "reply,expected",
    [
        ({"uid": "u1"}, "u1"),
        ({"data": {"uid": "u2"}}, "u2"),
        ({"task_id": 7}, "7"),
        ({"data": "u3"}, "u3"),
        ({"success": True}, None),
        ({"uid": ""}, None),
    ],
)
def test_it_extracts_the_task_id_defensively(reply, expected):
    assert provider.extract_task_id(reply) == expected


def test_a_rate_limit_answer_was_not_taken_and_is_sent_again_later(server, settings):
    server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"msg": "slow down"}, status=429)
    with pytest.raises(provider.NotSent):
        _submit()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_after_sending_is_an_unknown_outcome(server, settings, status):
    """Fails before the fix: 5xx was classed "not sent" and the job was POSTed again, though
    the backend (behind a gateway's 502/504) may have queued it: paid twice."""
    server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"msg": "busy"}, status=status)
    with pytest.raises(provider.UnknownOutcome):
        _submit()


def test_a_connection_dropped_after_sending_is_an_unknown_outcome(server, settings):
    """Fails before the fix: a connection closed after the body was read counted as not sent."""

    def hang_up(handler, body):  # the body was read; the server closes without answering
        handler.connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("hung up on purpose")

    server.routes[settings.APISPACE_PATHS["txt2img"]] = hang_up
    with pytest.raises(provider.UnknownOutcome):
        _submit()


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_client_errors_are_permanent(server, settings, status):
    server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"msg": "bad w"}, status=status)
    with pytest.raises(provider.PermanentError) as caught:
        _submit()
    assert "bad w" in str(caught.value)


def test_a_malformed_reply_is_permanent(server, settings):
    server.routes[settings.APISPACE_PATHS["txt2img"]] = lambda h, b: (200, {"Content-Type": "text/html"}, b"<html>oops")
    with pytest.raises(provider.PermanentError):
        _submit()


def test_a_refused_success_flag_is_permanent(server, settings):
    server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"success": False, "msg": "quota exhausted"})
    with pytest.raises(provider.PermanentError, match="quota exhausted"):
        _submit()


def test_connection_refused_is_retryable_and_not_sent(settings):
    with Recorder() as recorder:
        url = recorder.url
    settings.APISPACE_BASE_URL = url  # the server is gone: nothing listens there now
    with pytest.raises(provider.NotSent):
        _submit()


def test_a_read_timeout_is_an_unknown_outcome(server, settings):
    def slow(handler, body):
        time.sleep(1.5)
        return 200, {"Content-Type": "application/json"}, b"{}"

    server.routes[settings.APISPACE_PATHS["txt2img"]] = slow
    with pytest.raises(provider.UnknownOutcome):
        _submit()
