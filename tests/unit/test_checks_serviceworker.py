"""SW-001's judgement names what the registration was doing when a tab kept its old worker."""

from __future__ import annotations

import pytest

from realtime_verify.checks import serviceworker as sw
from realtime_verify.errors import CheckFailure


def tab(took_over_ms: float | None, workers: dict[str, str | None] | None = None) -> sw.TabUpdate:
    return sw.TabUpdate("tab 1", took_over_ms, None, True, True, workers)


def test_every_tab_taken_over_passes_with_its_time() -> None:
    judgement = sw.judge_sw_update([tab(420.0)], "rv-1", 10)
    assert judgement.metrics["tab 1 took over after ms"] == 420.0


@pytest.mark.parametrize(
    ("workers", "words"),
    [
        ({"installing": None, "waiting": "installed", "active": "activated"}, "the new one stayed waiting"),
        ({"installing": "installing", "waiting": None, "active": "activated"}, "still installing"),
        ({"installing": None, "waiting": None, "active": "activated"}, "found no new worker after two update checks"),
    ],
)
def test_a_tab_that_kept_its_old_worker_says_what_the_registration_was_doing(
    workers: dict[str, str | None], words: str
) -> None:
    with pytest.raises(CheckFailure, match=words) as raised:
        sw.judge_sw_update([tab(None, workers)], "rv-1", 10)
    assert raised.value.fix.startswith("post SKIP_WAITING")


def test_a_worker_still_waiting_after_the_old_one_was_stopped_was_never_asked_to_skip_waiting() -> None:
    waiting = {"installing": None, "waiting": "installed", "active": "activated"}
    stopped = sw.TabUpdate("tab 1", None, None, True, True, waiting, stopped_old=True)
    with pytest.raises(CheckFailure, match=r"although the old one was stopped .*nothing asked it to skip waiting"):
        sw.judge_sw_update([stopped], "rv-1", 10)


def test_a_take_over_the_suite_hurried_along_says_so() -> None:
    hurried = sw.TabUpdate("tab 1", 5200.0, None, True, True, stopped_old=True)
    assert sw.judge_sw_update([hurried], "rv-1", 10).metrics["old worker stopped by the suite"] is True
