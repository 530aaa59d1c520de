"""django-q2 tasks of the offline engine: thin ways in that load by uid and call engine.work."""

from __future__ import annotations

from . import work


def run_task(uid: str) -> str:
    """Render one pending task and deliver its callback. Safe to run twice: the second run
    finds the task no longer pending and does nothing (see work.run)."""
    return work.run(uid=uid)
