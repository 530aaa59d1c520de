"""The personal gallery in a real browser, visited twice: thumbnail bytes downloaded, thumbnails
served from the browser's cache, and the time until the last thumbnail has been painted.

The whole site runs as in the end-to-end tests (web server, worker cluster, SeaweedFS); a user
with 48 real WebP thumbnails logs in through the form in Debian's chromium (Playwright), opens
/gallery/, then opens it again within the URL reuse time (MEDIA_URL_REUSE_SECONDS). Chromium's
DevTools protocol says for every response whether it came from the network or a cache and how
many bytes it took. Target: the second visit downloads 0 thumbnail bytes.
"""

from __future__ import annotations

import shutil

from common import arguments, discard_stack, finish, log, make_stack, object_store, setup_django_in_process
from gallery_page import real_thumbnails

PASSWORD = "bench-password-2026"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALL_PAINTED = "[...document.querySelectorAll('a.thumb-link img')].every(i => i.complete && i.naturalWidth > 0)"


def visit(page, cdp, s3_endpoint: str) -> dict:
    """Open the gallery once and return what its thumbnails cost."""
    responses: dict[str, dict] = {}

    def on_response(event: dict) -> None:
        if event["response"]["url"].startswith(s3_endpoint):
            entry = responses.setdefault(event["requestId"], {"bytes": 0, "cached": False})
            entry["cached"] = entry["cached"] or bool(event["response"].get("fromDiskCache"))

    def on_cached(event: dict) -> None:  # the memory cache: announced before the response
        responses.setdefault(event["requestId"], {"bytes": 0, "cached": False})["cached"] = True

    def on_finished(event: dict) -> None:
        if event["requestId"] in responses:
            responses[event["requestId"]]["bytes"] = event["encodedDataLength"]

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.requestServedFromCache", on_cached)
    cdp.on("Network.loadingFinished", on_finished)
    page.goto("/gallery/")
    page.wait_for_function(ALL_PAINTED, timeout=60_000)
    painted_ms = page.evaluate("performance.now()")
    page.wait_for_timeout(500)  # the last loadingFinished events
    for name, handler in (
        ("Network.responseReceived", on_response),
        ("Network.requestServedFromCache", on_cached),
        ("Network.loadingFinished", on_finished),
    ):
        cdp.remove_listener(name, handler)
    thumbnails = page.locator("a.thumb-link img").count()
    seen = [r for r in responses.values() if "cached" in r]
    network = [r for r in seen if not r["cached"]]
    return {
        "thumbnails": thumbnails,
        "from_cache": len(seen) - len(network),
        "downloaded": len(network),
        "thumbnail_bytes": sum(r["bytes"] for r in network),
        "last_thumbnail_painted_ms": round(painted_ms, 1),
    }


def run() -> dict:
    from playwright.sync_api import sync_playwright

    with object_store() as s3:
        stack = make_stack(s3)
        try:
            stack.start()
            stack.create_user("browser-bench", PASSWORD, credits_amount=0)
            setup_django_in_process(stack)
            from django.contrib.auth import get_user_model

            from gallery.models import Image

            owner = get_user_model().objects.get(username="browser-bench")
            log("browser: storing 48 real thumbnails")
            for number, key in enumerate(real_thumbnails(owner.pk)):
                Image.objects.create(
                    owner=owner,
                    kind="txt2img",
                    prompt=f"benchmark picture {number}",
                    params={"text": "benchmark", "w": 512, "h": 512},
                    width=512,
                    height=512,
                    original_key=key,
                    thumb_key=key,
                    preview_key=key,
                )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
                )
                # Tall enough that every (lazily loaded) thumbnail is in view at once.
                context = browser.new_context(base_url=stack.url, viewport={"width": 1366, "height": 6000})
                page = context.new_page()
                page.goto("/accounts/login/")
                page.fill("input[name=username]", "browser-bench")
                page.fill("input[name=password]", PASSWORD)
                page.click("[data-testid=login-form] button[type=submit]")
                page.wait_for_url("**/")
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                log("browser: first visit")
                first = visit(page, cdp, s3["endpoint"])
                log("browser: second visit")
                second = visit(page, cdp, s3["endpoint"])
                browser.close()
        finally:
            discard_stack(stack)
    return {"first_visit": first, "second_visit": second, "target_second_visit_bytes": 0}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    finish({"benchmark": "browser_gallery", **run()}, args.out)


if __name__ == "__main__":
    main()
