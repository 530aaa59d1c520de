"""The API against the live site (tests/stack.py: web server, worker cluster, offline engine,
S3, and PostgreSQL + Redis in CI's second run): Schemathesis fuzzes every operation of the
OpenAPI document with a token and finds no 5xx and no answer that breaks the schema; ten
parallel retries of one create with one Idempotency-Key make one job and one debit; a job made
through the API ends with a picture and a signed webhook that arrives again after a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.helpers import Recorder

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="module")
def fuzz_token(stack):
    stack.create_user("fuzzer", PASSWORD, credits_amount=30)
    return stack.api_token("fuzzer")["token"]


def test_schemathesis_finds_nothing_wrong_with_any_operation(stack, fuzz_token, tmp_path):
    """Every check Schemathesis has, over every operation, in every phase (examples, coverage,
    fuzzing, stateful): no 5xx, only documented status codes and content types, answers valid
    against their schemas, invalid input refused, the token required. One check is left out,
    `positive_data_acceptance` ("schema-valid input is accepted"): the form rules that JSON Schema
    cannot say (one source picture, an id that must be one of *your* pictures, a prompt that is
    more than spaces) rightly refuse some schema-valid bodies with 422.

    Run as its command line (its pytest plugin does not load under pytest 9), against the live
    server like a client, with a fixed seed so a failure can be replayed."""
    report = ARTIFACTS / "schemathesis-junit.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{stack.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {fuzz_token}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "20",
            "--seed",
            "2026",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,  # its example cache stays out of the checkout
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    operations = sum(
        len(methods)
        for methods in requests.get(f"{stack.url}/api/v1/openapi.json", timeout=30).json()["paths"].values()
    )
    assert re.search(r"Tested: (\d+)", result.stdout).group(1) == str(operations), result.stdout[-3000:]


def test_ten_parallel_retries_with_one_key_make_one_job_and_one_debit(stack):
    stack.create_user("retrier", PASSWORD, credits_amount=50)
    token = stack.api_token("retrier")["token"]
    barrier = threading.Barrier(10)
    answers: list[requests.Response | Exception] = [None] * 10  # type: ignore[list-item]

    def send(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            answers[index] = requests.post(
                f"{stack.url}/api/v1/jobs/txt2img",
                json={"prompt": "一只猫 retried", "seed": 5},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-storm-1"},
                timeout=60,
            )
        except Exception as exc:  # noqa: BLE001 - inspected below
            answers[index] = exc

    threads = [threading.Thread(target=send, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert all(isinstance(answer, requests.Response) for answer in answers), answers
    assert {answer.status_code for answer in answers} == {201}, [answer.text[:200] for answer in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert stack.debits_of("retrier") == 1
    listed = requests.get(f"{stack.url}/api/v1/jobs", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert len(listed.json()["items"]) == 1


def test_a_job_made_through_the_api_ends_with_a_picture_and_a_signed_webhook(stack):
    stack.create_user("hooked", PASSWORD, credits_amount=50)
    issued = stack.api_token("hooked")
    auth = {"Authorization": f"Bearer {issued['token']}"}
    answers = [500]

    def route(handler, body):
        return (answers.pop(0) if answers else 200), {}, b""

    with Recorder(port=stack.webhook_port) as receiver:
        receiver.routes["/hook"] = route
        created = requests.post(
            f"{stack.url}/api/v1/jobs/txt2img",
            json={"prompt": "白色城堡 in the clouds", "webhook_url": f"{receiver.url}/hook"},
            headers=auth,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(receiver.requests) < 2:
            time.sleep(0.3)
        posts = [request for request in receiver.requests if request["method"] == "POST"]
    assert len(posts) == 2, stack.log("worker")[-3000:]
    for post in posts:
        fields = dict(part.split("=", 1) for part in post["headers"]["Aigc-Signature"].split(","))
        signed = f"{fields['t']}.".encode() + post["body"]
        expected = hmac.new(issued["secret"].encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, fields["v1"])
    event = json.loads(posts[0]["body"])
    assert event["type"] == "job.succeeded" and event["data"]["id"] == job_id
    picture = event["data"]["image"]
    assert picture["label"]["Label"] == "1"
    assert requests.get(picture["urls"]["original"], timeout=30).content[:8] == b"\x89PNG\r\n\x1a\n"
    deliveries = requests.get(f"{stack.url}/api/v1/jobs/{job_id}/webhooks", headers=auth, timeout=30).json()
    assert [attempt["status_code"] for attempt in deliveries[0]["attempts"]] == [500, 200]
    invariants = stack.invariants()
    assert invariants["ok"], invariants
