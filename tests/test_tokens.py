import uuid

from gallery import tokens


def test_the_token_is_an_hmac_that_differs_per_job_and_secret(settings):
    a, b = uuid.uuid4(), uuid.uuid4()
    assert tokens.callback_token(a) != tokens.callback_token(b)
    assert len(tokens.callback_token(a)) == 64
    before = tokens.callback_token(a)
    settings.CALLBACK_SECRET = "another-secret"
    assert tokens.callback_token(a) != before


def test_it_verifies_only_the_right_token():
    job_id = uuid.uuid4()
    assert tokens.is_valid_callback_token(job_id, tokens.callback_token(job_id))
    assert not tokens.is_valid_callback_token(job_id, tokens.callback_token(uuid.uuid4()))
    assert not tokens.is_valid_callback_token(job_id, "")


def test_the_notify_url_points_at_the_site(settings):
    settings.SITE_URL = "https://aigc.example.com"
    job_id = uuid.uuid4()
    url = tokens.notify_url(job_id)
    assert url == f"https://aigc.example.com/callbacks/{job_id}/{tokens.callback_token(job_id)}/"
