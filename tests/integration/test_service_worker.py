"""The sw-intercepts-socket fault in a real browser: the page's service worker answers socket requests."""

from __future__ import annotations

from tests.integration.conftest import OpenPage, socket_responses_after_reload

STACK_FAULTS = ("sw-intercepts-socket",)


async def test_the_service_worker_answers_the_pages_socket_requests(open_page: OpenPage) -> None:
    responses = await socket_responses_after_reload(await open_page())
    assert responses, "the page made no long-polling request through the socket path"
    answered = [r.url for r in responses if r.from_service_worker]
    assert answered == [r.url for r in responses], "every socket request is answered by the service worker"
