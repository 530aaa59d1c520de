"""Settings read the environment: each switch is checked in a fresh interpreter, the way a
deployment would start the site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'db': str(s.DATABASES['default'].get('NAME')), "
    "'broker': 'redis' if 'redis' in s.Q_CLUSTER else 'orm', 'cache': s.CACHES['default']['BACKEND'], "
    "'timeout': s.Q_CLUSTER['timeout'], 'retry': s.Q_CLUSTER['retry'], 'base': s.APISPACE_BASE_URL, "
    "'engine_on': s.ENGINE_ENABLED, 'storage': s.STORAGES['default']['BACKEND'], "
    "'endpoint': s.STORAGES['default']['OPTIONS']['endpoint_url'], "
    "'bucket': s.STORAGES['default']['OPTIONS']['bucket_name'], "
    "'paths': s.APISPACE_PATHS, 'token': s.PROVIDER_TOKEN}))"
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "APISPACE_", "S3_", "ENGINE_"))
    }
    # DEBUG on unless a test says otherwise: the probes check one switch each, and with DEBUG
    # off the development S3 keys and engine token are refused (tested below).
    env.update({"DJANGO_SETTINGS_MODULE": "aigc_site.settings", "SECRET_KEY": "x" * 50, "DEBUG": "1"}, **extra)
    return env


def _probe(code: str, **extra: str):
    """Run `code` in a fresh interpreter with this environment; it prints JSON last."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_clean_env(**extra), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _setting(expression: str, **extra: str):
    """The value of `expression` (in terms of `s`, the settings) as configured by the environment."""
    return _probe(
        f"import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({expression}))",
        **extra,
    )


def _settings(**extra: str) -> dict:
    return _probe(PROBE, **extra)


def test_it_defaults_to_sqlite_under_var_and_the_orm_broker():
    conf = _settings(VAR_DIR="/tmp/aigc-var-probe")
    assert conf["engine"] == "django.db.backends.sqlite3"
    assert conf["db"] == "/tmp/aigc-var-probe/db.sqlite3"
    assert conf["broker"] == "orm"
    assert conf["cache"].endswith("LocMemCache")


def test_it_switches_to_postgresql_with_database_url():
    conf = _settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")
    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["db"] == "test"


def test_it_switches_to_the_redis_broker_and_cache_with_redis_url():
    conf = _settings(REDIS_URL="redis://127.0.0.1:6379/3")
    assert conf["broker"] == "redis"
    assert conf["cache"].endswith("RedisCache")


def test_queue_retry_exceeds_timeout():
    conf = _settings()
    assert conf["retry"] > conf["timeout"]


def test_it_refuses_a_retry_not_above_the_timeout():
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_clean_env(Q_TIMEOUT="100", Q_RETRY="100"),
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "Q_RETRY must exceed Q_TIMEOUT" in out.stderr


def test_media_go_to_s3_and_the_endpoint_is_configurable():
    conf = _settings(S3_ENDPOINT_URL="https://s3.example.com", S3_BUCKET="prod-media")
    assert conf["storage"] == "storages.backends.s3.S3Storage"
    assert conf["endpoint"] == "https://s3.example.com"
    assert conf["bucket"] == "prod-media"


def test_without_a_token_the_offline_engine_is_the_provider():
    conf = _settings(SITE_URL="http://127.0.0.1:8000")
    assert conf["engine_on"] is True
    assert conf["base"] == "http://127.0.0.1:8000/engine"


def test_a_real_token_switches_to_apispace_with_no_code_change():
    conf = _settings(APISPACE_TOKEN="tok", APISPACE_PATH_UPSCALE="/aigc/sr")
    assert conf["engine_on"] is False
    assert conf["base"] == "https://23329.o.apispace.com"
    assert conf["token"] == "tok"
    assert conf["paths"]["upscale"] == "/aigc/sr"
    assert conf["paths"]["txt2img"] == "/aigc/txt2img"


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = _clean_env()
    env.pop("SECRET_KEY")
    env.pop("DEBUG", None)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_it_rejects_a_malformed_boolean():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_clean_env(DEBUG="maybe"), capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "DEBUG must be a boolean" in out.stderr


def test_check_deploy_passes_with_production_like_environment():
    env = _clean_env(
        SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
        DEBUG="0",
        SITE_URL="https://aigc.example.com",
        ALLOWED_HOSTS="aigc.example.com",
        APISPACE_TOKEN="real-token",
        S3_ACCESS_KEY="AKIAPRODUCTIONKEY",
        S3_SECRET_KEY="production-secret-" + "s" * 30,
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _refusal(**extra: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_clean_env(**extra), capture_output=True, text=True
    )
    assert out.returncode != 0, "the site started"
    return out.stderr


PRODUCTION = {"DEBUG": "0", "S3_ACCESS_KEY": "AKIAPRODUCTIONKEY", "S3_SECRET_KEY": "production-secret-" + "s" * 30}


def test_with_debug_off_the_engine_with_its_development_token_is_refused():
    """Fails before the fix: with no APISPACE_TOKEN the engine was on with a publicly known
    token, and `check --deploy` passed."""
    assert "set ENGINE_TOKEN" in _refusal(**PRODUCTION)
    assert _settings(**PRODUCTION, ENGINE_TOKEN="a-long-random-engine-secret")["engine_on"] is True


def test_with_debug_off_the_embedded_s3_keys_are_refused():
    """Fails before the fix: the development keys were accepted silently with DEBUG off."""
    stderr = _refusal(DEBUG="0", APISPACE_TOKEN="real-token")
    assert "S3_ACCESS_KEY and S3_SECRET_KEY must be set" in stderr
    assert "S3_ACCESS_KEY and S3_SECRET_KEY" in _refusal(
        DEBUG="0", APISPACE_TOKEN="real-token", S3_ACCESS_KEY="AKIAPRODUCTIONKEY"
    )


def test_the_engine_allowance_for_ingest_names_its_port_only():
    """Fails before the fix: the engine's host was allowed on every port of 127.0.0.1."""
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.INGEST_ALLOWED_HOSTS, s.INGEST_PRIVATE_HOSTS_ALLOWED]))"
    )
    env = _clean_env(SITE_URL="http://127.0.0.1:8000")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    allowed, private = json.loads(out.stdout.strip().splitlines()[-1])
    assert private == ["127.0.0.1:8000"]
    assert "127.0.0.1:8000" in allowed and "127.0.0.1" not in allowed


def test_gunicorn_takes_its_address_processes_threads_and_timeout_from_the_settings():
    """Fails before the fix: there was no WSGI server and no WEB_* setting."""
    env = _clean_env(WEB_BIND="127.0.0.1:9911", WEB_WORKERS="3", WEB_THREADS="5", WEB_TIMEOUT="45")
    out = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "aigc_site/gunicorn_conf.py", "--print-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = (line.partition(" = ") for line in out.stdout.splitlines())
    config = {key.strip(): value.strip() for key, _, value in lines}
    assert {name: config[name] for name in ("bind", "workers", "threads", "timeout", "worker_class")} == {
        "bind": "['127.0.0.1:9911']",
        "workers": "3",
        "threads": "5",
        "timeout": "45",
        "worker_class": "gthread",
    }
    assert "WEB_WORKERS, WEB_THREADS and WEB_TIMEOUT must be at least 1" in _refusal(WEB_WORKERS="0")


def test_an_operator_may_accept_named_deploy_warnings_and_only_those():
    """Fails before the fix: SILENCED_SYSTEM_CHECKS was not read from the environment, so a
    deployment on plain HTTP could not pass `make serve`'s `check --deploy --fail-level WARNING`."""
    plain_http = {
        "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
        "SITE_URL": "http://10.0.0.5:8000",
        "APISPACE_TOKEN": "real-token",
        **PRODUCTION,
    }

    def check(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=_clean_env(**plain_http, **extra),
            capture_output=True,
            text=True,
        )

    refused = check()
    assert refused.returncode != 0 and "security.W008" in refused.stderr
    assert check(SILENCED_SYSTEM_CHECKS="security.W004,security.W008,security.W012,security.W016").returncode == 0
    partly = check(SILENCED_SYSTEM_CHECKS="security.W008")
    assert partly.returncode != 0 and "security.W012" in partly.stderr


def _engine_private_allowance(**extra: str) -> list[str]:
    return _setting("s.ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED", **extra)


def test_the_engine_may_fetch_sources_from_the_object_store_in_development_only():
    """Fails before the change: there was no such setting, and the engine fetched from every
    private address (any port of 127.0.0.1, the internal network) in every environment."""
    assert _engine_private_allowance(S3_ENDPOINT_URL="http://127.0.0.1:9333") == ["127.0.0.1:9333"]
    assert _engine_private_allowance(**PRODUCTION, ENGINE_TOKEN="a-long-random-engine-secret") == []
    configured = _engine_private_allowance(
        **PRODUCTION, ENGINE_TOKEN="a-long-random-engine-secret", ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED="10.0.0.5:9000"
    )
    assert configured == ["10.0.0.5:9000"]


def test_with_debug_off_an_engine_allowance_without_a_port_is_refused():
    """Fails before the change: there was no such setting. A bare host would open every port of it."""
    stderr = _refusal(
        **PRODUCTION, ENGINE_TOKEN="a-long-random-engine-secret", ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED="10.0.0.5"
    )
    assert "ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED entries must be host:port" in stderr


@pytest.mark.parametrize("name", ["WEBHOOK_PRIVATE_HOSTS_ALLOWED", "INGEST_PRIVATE_HOSTS_ALLOWED"])
def test_with_debug_off_webhook_and_ingest_allowances_must_name_their_port(name):
    """Fails before the change: a bare host was taken, opening every port of it to whoever chose
    the address (a webhook URL is the API user's choice)."""
    stderr = _refusal(**PRODUCTION, ENGINE_TOKEN="a-long-random-engine-secret", **{name: "10.0.0.5"})
    assert f"{name} entries must be host:port" in stderr


ABUSE_PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'rate': s.SIGNUP_RATE_PER_IP, 'limit': s.AXES_FAILURE_LIMIT, "
    "'cooloff': s.AXES_COOLOFF_TIME.total_seconds(), 'proxies': s.TRUSTED_PROXY_COUNT, "
    "'verification': s.SIGNUP_EMAIL_VERIFICATION, 'backends': s.AUTHENTICATION_BACKENDS, "
    "'last_middleware': s.MIDDLEWARE[-1], 'email': [s.EMAIL_HOST, s.EMAIL_PORT]}))"
)


def _abuse_settings(**extra: str) -> dict:
    return _probe(ABUSE_PROBE, **extra)


def test_abuse_protection_reads_the_environment_with_safe_defaults():
    """Fails before the change: there was no lockout, no sign-up rate and no e-mail settings."""
    defaults = _abuse_settings()
    assert defaults["rate"] == [5, 3600]
    assert (defaults["limit"], defaults["cooloff"], defaults["proxies"]) == (5, 900, 0)
    assert defaults["verification"] == "none"
    assert defaults["backends"][0] == "axes.backends.AxesStandaloneBackend"
    assert defaults["last_middleware"] == "axes.middleware.AxesMiddleware"
    configured = _abuse_settings(
        SIGNUP_RATE_PER_IP="20/6h",
        AXES_FAILURE_LIMIT="3",
        AXES_COOLOFF_MINUTES="30",
        TRUSTED_PROXY_COUNT="1",
        SIGNUP_EMAIL_VERIFICATION="required",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
    )
    assert configured["rate"] == [20, 6 * 3600]
    assert (configured["limit"], configured["cooloff"], configured["proxies"]) == (3, 1800, 1)
    assert configured["verification"] == "required"
    assert configured["email"] == ["smtp.example.com", 587]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SIGNUP_RATE_PER_IP": "5 a week"}, "SIGNUP_RATE_PER_IP must be a rate"),
        ({"SIGNUP_RATE_PER_IP": "0/hour"}, "SIGNUP_RATE_PER_IP must be a rate"),
        ({"SIGNUP_EMAIL_VERIFICATION": "maybe"}, "SIGNUP_EMAIL_VERIFICATION must be none or required"),
        ({"AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT must be at least 1"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT must be 0 or more"),
    ],
)
def test_malformed_abuse_settings_are_refused(variables, message):
    """Fails before the change: the settings did not exist."""
    assert message in _refusal(**variables)


def test_with_debug_off_verification_needs_a_real_sender():
    """Fails before the change: there was no verification mail. Django's placeholder sender
    (webmaster@localhost) is binned by most mail servers, so a production site refuses it."""
    production = {**PRODUCTION, "ENGINE_TOKEN": "a-long-random-engine-secret", "SIGNUP_EMAIL_VERIFICATION": "required"}
    assert "DEFAULT_FROM_EMAIL must be set" in _refusal(**production)
    assert _abuse_settings(**production, DEFAULT_FROM_EMAIL="noreply@aigc.example.com")["verification"] == "required"


def _result_ttl(**extra: str) -> int:
    return _setting("s.ENGINE_RESULT_TTL", **extra)


def test_engine_results_outlive_the_wait_before_the_status_call():
    assert _result_ttl() == 3600
    assert _result_ttl(ENGINE_RESULT_TTL="1800") == 1800
    assert _result_ttl(JOB_TIMEOUT_MINUTES="45") == 5400  # the default follows a longer wait


def test_it_refuses_an_engine_result_ttl_shorter_than_twice_the_job_timeout():
    assert "ENGINE_RESULT_TTL must be at least twice JOB_TIMEOUT_MINUTES" in _refusal(ENGINE_RESULT_TTL="900")
    assert _settings(ENGINE_RESULT_TTL="900", APISPACE_TOKEN="real-token")["engine_on"] is False


def _img_src(**extra: str) -> list[str]:
    return _setting("s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']", **extra)


def test_the_policy_lets_pages_load_pictures_from_the_object_store():
    """Fails before the fix: there was no policy, so nothing said where pictures come from."""
    assert _img_src(S3_ENDPOINT_URL="https://minio.example.com:9000/") == ["'self'", "https://minio.example.com:9000"]
    assert _img_src(S3_ENDPOINT_URL="", S3_REGION="eu-west-1") == ["'self'", "https://s3.eu-west-1.amazonaws.com"]
    assert _img_src(S3_ENDPOINT_URL="", S3_REGION="us-east-1") == ["'self'", "https://s3.amazonaws.com"]


def test_an_operator_adds_image_origins_and_a_report_url():
    assert _img_src(
        S3_ENDPOINT_URL="https://s3.example.com", CSP_EXTRA_IMG_SRC="https://cdn.example.com,https://*.img.example.com"
    ) == [
        "'self'",
        "https://s3.example.com",
        "https://cdn.example.com",
        "https://*.img.example.com",
    ]
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['report-uri'])"
    )
    env = _clean_env(CSP_REPORT_URL="https://reports.example.com/csp")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "['https://reports.example.com/csp']"


def test_a_value_that_would_widen_the_policy_is_refused():
    """An extra origin is an origin only: a semicolon, a keyword or a bare * would add directives or allow anything."""
    for value in ["https://cdn.example.com; script-src *", "*", "'unsafe-inline'", "data:", "cdn.example.com"]:
        assert "CSP_EXTRA_IMG_SRC entries must be origins" in _refusal(CSP_EXTRA_IMG_SRC=value), value
    assert "CSP_REPORT_URL must be" in _refusal(CSP_REPORT_URL="https://r.example.com/; script-src *")


RETRY_PROBE = "import django; django.setup(); from django.conf import settings as s; print(s.INGEST_MAX_RETRY_SECONDS)"


def test_the_cap_on_the_wait_between_ingest_retries_is_a_setting():
    """Fails before the change: it was a constant in gallery/ingest.py (300 s), so the fault
    matrix could not shorten an object-store outage."""

    def cap(**extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", RETRY_PROBE], cwd=ROOT, env=_clean_env(**extra), capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    assert cap() == "300.0"
    assert cap(INGEST_MAX_RETRY_SECONDS="2") == "2.0"
    assert "INGEST_MAX_RETRY_SECONDS must be more than 0" in _refusal(INGEST_MAX_RETRY_SECONDS="0")
