"""django-q2 tasks of the offline engine: thin ways in that load by uid and call engine.work."""

from __future__ import annotations

from . import storage


def run_task(uid: str) -> str:
    """Render one pending task and deliver its callback. Safe to run twice: the second run
    finds the task no longer pending and does nothing (see work.run)."""
    from . import work  # here, not at the top: see sweep_results

    return work.run(uid=uid)


def sweep_results() -> int:
    """Every five minutes: delete result files older than ENGINE_RESULT_TTL (engine/storage.py).

    Touches files only, no model: the schedule (migration 0002) outlives the engine being
    switched off (`engine` leaves INSTALLED_APPS, the schedule row stays), and then it still
    deletes the results the engine left behind instead of failing on an import."""
    return len(storage.delete_expired_results())
