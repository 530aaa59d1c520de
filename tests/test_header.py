"""The site header: the phone menu is a real button, reachable by keyboard and announced."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_menu_toggle_is_a_button_that_controls_the_nav(language):
    """Fails before: the toggle was a hidden checkbox with an aria-hidden label, which Tab skipped
    and screen readers never announced."""
    html = Client(HTTP_ACCEPT_LANGUAGE=language).get("/").content.decode()
    button = re.search(r"<button[^>]*data-nav-toggle[^>]*>(.*?)</button>", html, re.S)
    assert button is not None
    assert 'aria-expanded="false"' in button.group(0) and 'aria-controls="site-nav"' in button.group(0)
    assert ("Menu" if language == "en" else "菜单") in button.group(1)  # its name is read out
    assert 'id="site-nav"' in html
    assert 'type="checkbox" id="nav-toggle"' not in html
    # Without JavaScript nothing folds the menu: the nav is not hidden in the markup.
    nav = re.search(r'<nav id="site-nav"[^>]*>', html).group(0)
    assert "hidden" not in nav
