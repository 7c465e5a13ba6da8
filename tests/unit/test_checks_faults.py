"""The FT judgements on recorded stories: no browser, no network (times are epoch ms)."""

from __future__ import annotations

import pytest

from realtime_verify.checks import faults as ft
from realtime_verify.errors import CheckFailure

CUT = 1_000_000.0


def back_after(client: str, ms: float, *, transport: str = "websocket", tries: int = 1) -> ft.Recovery:
    events = [{"t": CUT + 5, "what": "disconnect", "detail": "transport close"}]
    events += [{"t": CUT + 10 + i, "what": "ws-created", "detail": ""} for i in range(tries - 1)]
    events.append({"t": CUT + ms, "what": "connect", "detail": ""})
    return ft.Recovery(client, CUT, events, True, transport)


def never_back(client: str, *, noticed: bool = True, tries: int = 0) -> ft.Recovery:
    events = [{"t": CUT + 5, "what": "disconnect", "detail": "transport close"}] if noticed else []
    events += [{"t": CUT + 10 + i, "what": "connect-error", "detail": "refused"} for i in range(tries)]
    return ft.Recovery(client, CUT, events, False)


def test_recoveries_within_budget_on_websocket_pass_with_a_timeline_each() -> None:
    judgement = ft.judge_recoveries([back_after("page A", 800), back_after("watcher b", 400)], 10, how="edge drop")
    assert judgement.metrics["page A back after ms"] == 800
    assert [t["client"] for t in judgement.timelines] == ["page A", "watcher b"]
    assert judgement.timelines[0]["events"][0]["what"] == "cut"


@pytest.mark.parametrize(
    ("recovery", "words"),
    [
        (never_back("page A", noticed=False), "never noticed the cut"),
        (never_back("page A", tries=0), "never tried to reconnect"),
        (back_after("page A", 12_500, tries=4), "12.5 s after the cut, over budgets.reconnect_s = 10 s"),
        (back_after("page A", 900, transport="polling"), "reconnected on polling, not websocket"),
    ],
)
def test_each_way_of_not_coming_back_is_named(recovery: ft.Recovery, words: str) -> None:
    with pytest.raises(CheckFailure, match=words):
        ft.judge_recoveries([recovery], 10, how="edge drop")


def test_a_storm_reports_its_distribution_and_fails_on_the_late_ones() -> None:
    on_time = [back_after(f"watcher {i}", 500 + 40 * i) for i in range(30)]
    judgement = ft.judge_storm(on_time, 10, how="edge drop")
    assert judgement.metrics["back"] == 30
    assert judgement.metrics["p95 ms"] > judgement.metrics["p50 ms"]
    assert not judgement.findings  # spread by jitter: no lockstep warning
    with pytest.raises(CheckFailure, match=r"1 of 31 clients were not back within .*\(first: watcher x"):
        ft.judge_storm([*on_time, never_back("watcher x", tries=3)], 10, how="edge drop")


def test_a_storm_in_lockstep_is_a_warning() -> None:
    lockstep = [back_after(f"watcher {i}", 1000 + i) for i in range(25)]
    judgement = ft.judge_storm(lockstep, 10, how="edge drop")
    assert [f.severity for f in judgement.findings] == ["warning"]
    assert "lockstep" in judgement.findings[0].found


def test_a_locust_storm_is_judged_from_its_samples() -> None:
    samples = [300.0 + 50 * i for i in range(40)]
    judgement = ft.judge_locust_storm(samples, 40, 40, 10, how="client cut", rate=200)
    assert judgement.metrics["clients"] == 40
    assert judgement.metrics["max ms"] == 2250.0
    with pytest.raises(CheckFailure, match=r"3 of 40 clients were not back .*2 never came back.*slowest .* 11\.0 s"):
        ft.judge_locust_storm([*samples[:37], 11_000.0], 40, 40, 10, how="client cut")


def test_a_locust_storm_that_could_not_connect_or_stopped_says_so() -> None:
    with pytest.raises(CheckFailure, match=r"only 31 of 200 Locust users connected .* 169 connects .* 200 users/s"):
        ft.judge_locust_storm([], 200, 31, 10, how="edge drop", rate=200)
    with pytest.raises(CheckFailure, match="the Locust storm stopped early: HTTPError"):
        ft.judge_locust_storm([], 200, 200, 10, how="edge drop", error="HTTPError: 500 on /edge/drop")


def test_an_idle_connection_cut_names_the_timeouts_on_the_path() -> None:
    idle = ft.Recovery("watcher b", CUT, [{"t": CUT + 4500, "what": "disconnect", "detail": "transport error"}])
    with pytest.raises(CheckFailure, match=r"cut 4\.5 s into a 16\.4 s idle window \(transport error\).*nginx 10 s"):
        ft.judge_idle([idle], 16.4, "nginx 10 s")
    judgement = ft.judge_idle([ft.Recovery("watcher b", CUT, [])], 16.4, "nginx 10 s")
    assert judgement.metrics["idle window s"] == 16.4
