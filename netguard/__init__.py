"""Downloading from addresses someone else gave us without becoming their proxy (SSRF).

Shared by the site's ingest (`gallery/fetch.py`), its webhooks (`gallery/webhooks.py`, by POST)
and the offline engine's source download (`engine/protocol.py`), which must not import each
other; so this package imports neither of them, nor Django. It raises errors with a stable
`code` and `params` and no sentence for a person: each caller words them in its own way (the
site translated, the engine in the API's English).
"""

from .download import CODES, Fetched, GuardError, Refused, Unavailable, fetch
from .send import Sent, check_destination, post

__all__ = ["CODES", "Fetched", "GuardError", "Refused", "Sent", "Unavailable", "check_destination", "fetch", "post"]
