"""Signed webhooks against a real HTTP receiver on 127.0.0.1, delivered by the activity and AlertDeliveryWorkflow."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.alerts import AlertActivities, WebhookDelivery, breaker_service
from core.settings import Settings
from providers.circuit_breaker import BreakerBoard, CircuitOpenError
from providers.errors import retry_after_seconds
from providers.redaction import redact_url
from providers.webhooks import (
    DESTINATION_HEADER,
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    MAX_RETRY_AFTER_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    deliver,
    destination_of,
    sign,
    verify,
)
from workflows.alert_delivery import AlertDeliveryWorkflow

SECRET = "whsec-9f8e7d6c5b4a-never-print-me"
URL_PASSWORD = "url-password-42"
URL_TOKEN = "query-token-77"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    query: str


@dataclass
class Receiver:
    """A webhook receiver that checks signatures, records every request and answers from a script."""

    port: int = 0
    deliveries: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # answers to give first, then 200
    delay_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def url_with_credentials(self) -> str:
        return f"http://alerts:{URL_PASSWORD}@127.0.0.1:{self.port}/hook?token={URL_TOKEN}"

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.script.extend([(status, headers or {})] * times)

    def reset(self) -> None:
        self.deliveries.clear()
        self.script.clear()
        self.delay_seconds = 0.0

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        headers = request.headers
        # The URL this receiver was reached at, as a receiver that knows its own address checks it.
        here = str(request.url)
        verified = verify(body, SECRET, headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, ""), here)
        self.deliveries.append(Received(dict(headers), body, verified, request.url.query))
        status, extra = self.script.pop(0) if self.script else (200, {})  # on arrival: a slow request
        if self.delay_seconds:  # left over from an earlier test must not take a later test's answer
            await asyncio.sleep(self.delay_seconds)
        return Response(status_code=status, headers=extra)


@pytest.fixture(scope="module")
async def _receiver_server() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    sock.listen()  # connections queue in the backlog until uvicorn accepts them: no need to wait for start-up
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield receiver
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:
    _receiver_server.reset()
    return _receiver_server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def delivery(url: str, task_queue: str = "") -> WebhookDelivery:
    return WebhookDelivery(
        event_id=str(uuid.uuid4()),
        kind="cost_critical",
        url=url,
        payload={"video_id": str(uuid.uuid4()), "cost_usd": 2.81, "threshold_usd": 2.8},
        task_queue=task_queue,
    )


def assert_no_secrets(text: str) -> None:
    for secret in (SECRET, URL_PASSWORD, URL_TOKEN):
        assert secret not in text


# --- signatures ---------------------------------------------------------------------------------------------------


HOOK = "https://hooks.example.com/ytempire/alerts"


def test_sign_and_verify() -> None:
    body = b'{"id":"e1","kind":"cost_critical"}'
    sig = sign(body, SECRET, 1_700_000_000, HOOK)
    assert sig.startswith("sha256=") and len(sig) == len("sha256=") + 64
    assert verify(body, SECRET, 1_700_000_000, sig, HOOK, now=1_700_000_100)
    assert verify(body, SECRET, "1700000000", sig, HOOK, now=1_700_000_100)
    assert not verify(body + b" ", SECRET, 1_700_000_000, sig, HOOK, now=1_700_000_100)  # body tampered
    assert not verify(body, "other-secret", 1_700_000_000, sig, HOOK, now=1_700_000_100)
    assert not verify(body, SECRET, 1_700_000_001, sig, HOOK, now=1_700_000_100)  # timestamp is covered by the MAC
    assert not verify(body, SECRET, 1_700_000_000, sig, HOOK, now=1_700_000_301)  # stale (replay)
    assert not verify(body, SECRET, 1_700_000_000, sig, HOOK, now=1_699_999_699)  # from the future
    assert verify(body, SECRET, 1_700_000_000, sig, HOOK, now=1_700_000_900, tolerance_seconds=1000)
    assert not verify(body, SECRET, "not-a-number", sig, HOOK)
    assert not verify(body, SECRET, 1_700_000_000, "sha256=" + "0" * 64, HOOK, now=1_700_000_000)


def test_a_signature_for_one_url_does_not_verify_for_another() -> None:
    body, ts = b'{"id":"e1","kind":"video_completed"}', 1_700_000_000
    sig = sign(body, SECRET, ts, "https://hooks.example.com/callbacks/caller-a")
    for elsewhere in (
        "https://hooks.example.com/callbacks/caller-b",  # another caller's callback
        "https://hooks.example.com/ytempire/alerts",  # the alert receiver
        "https://other.example.com/callbacks/caller-a",  # the same path on another host
        "https://hooks.example.com/callbacks/caller-a?run=2",
        "http://hooks.example.com/callbacks/caller-a",
    ):
        assert not verify(body, SECRET, ts, sig, elsewhere, now=ts), elsewhere
    # The same destination as the receiver is reached: credentials and fragment are not part of it.
    assert verify(body, SECRET, ts, sig, "https://user:pw@hooks.example.com/callbacks/caller-a#x", now=ts)
    assert destination_of("https://u:p@h.example.com:8443/a?b=1#f") == "https://h.example.com:8443/a?b=1"


def test_redact_url_drops_userinfo_query_and_fragment() -> None:
    assert redact_url("https://u:p@hooks.example.com:8443/a/b?token=t#frag") == "https://hooks.example.com:8443/a/b"
    assert redact_url("http://[::1]:9000/x?k=v") == "http://[::1]:9000/x"
    assert breaker_service("https://u:p@hooks.example.com/a?t=1") == "webhook:hooks.example.com"


def test_retry_after_parsing() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    cap = MAX_RETRY_AFTER_SECONDS
    assert retry_after_seconds("7", cap_seconds=cap) == 7
    assert retry_after_seconds("Wed, 01 Jan 2025 12:01:30 GMT", cap_seconds=cap, now=now) == 90
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", cap_seconds=cap, now=now) == 0
    assert retry_after_seconds("999999", cap_seconds=cap) == 3600  # capped
    assert retry_after_seconds("soon", cap_seconds=cap) is None and retry_after_seconds(None, cap_seconds=cap) is None


# --- one delivery attempt -----------------------------------------------------------------------------------------


async def test_delivery_is_signed_with_idempotency_key(receiver: Receiver, http: httpx.AsyncClient) -> None:
    status = await deliver(
        http, receiver.url, {"id": "e-1", "kind": "cost_warning"}, secret=SECRET, breaker=None, event_id="e-1"
    )
    assert status == 200
    [got] = receiver.deliveries
    assert got.verified
    assert got.headers[IDEMPOTENCY_HEADER.lower()] == "e-1"
    assert got.headers[EVENT_HEADER.lower()] == "cost_warning"
    assert got.headers[DESTINATION_HEADER.lower()] == receiver.url
    assert got.headers["content-type"] == "application/json"


async def test_a_delivery_replayed_to_another_url_does_not_verify(receiver: Receiver, http: httpx.AsyncClient) -> None:
    await deliver(http, receiver.url, {"kind": "x"}, secret=SECRET, breaker=None, event_id="e-3")
    [sent] = receiver.deliveries
    replayed = await http.post(f"{receiver.url}?to=another", content=sent.body, headers=sent.headers)
    assert replayed.status_code == 200
    assert sent.verified and not receiver.deliveries[-1].verified


async def test_a_url_no_signature_can_name_is_rejected_for_good(http: httpx.AsyncClient) -> None:
    with pytest.raises(ApplicationError) as err:
        await deliver(http, "http://[::1/hook", {"kind": "x"}, secret=SECRET, breaker=None, event_id="e")
    assert err.value.type == "WebhookDestinationRefused" and err.value.non_retryable


async def test_unsigned_when_no_secret(receiver: Receiver, http: httpx.AsyncClient) -> None:
    await deliver(http, receiver.url, {"kind": "x"}, secret=None, breaker=None, event_id="e-2")
    [got] = receiver.deliveries
    assert SIGNATURE_HEADER.lower() not in got.headers and DESTINATION_HEADER.lower() not in got.headers
    assert not got.verified


@pytest.mark.parametrize("status", [500, 502, 503, 408])
async def test_server_errors_are_retryable(receiver: Receiver, http: httpx.AsyncClient, status: int) -> None:
    receiver.fail_next(status)
    with pytest.raises(ApplicationError) as err:
        await deliver(http, receiver.url, {"kind": "x"}, secret=SECRET, breaker=None, event_id="e")
    assert err.value.type == "WebhookUnavailable" and not err.value.non_retryable
    assert str(status) in err.value.message
    assert err.value.next_retry_delay is None


async def test_429_carries_retry_after_as_next_retry_delay(receiver: Receiver, http: httpx.AsyncClient) -> None:
    receiver.fail_next(429, headers={"Retry-After": "120"})
    with pytest.raises(ApplicationError) as err:
        await deliver(http, receiver.url, {"kind": "x"}, secret=SECRET, breaker=None, event_id="e")
    assert err.value.type == "WebhookRateLimited" and not err.value.non_retryable
    assert err.value.next_retry_delay is not None and err.value.next_retry_delay.total_seconds() == 120


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
async def test_client_errors_are_rejected_for_good(receiver: Receiver, http: httpx.AsyncClient, status: int) -> None:
    receiver.fail_next(status)
    with pytest.raises(ApplicationError) as err:
        await deliver(http, receiver.url, {"kind": "x"}, secret=SECRET, breaker=None, event_id="e")
    assert err.value.type == "WebhookRejected" and err.value.non_retryable
    assert f"HTTP {status}" in err.value.message


async def test_connection_refused_and_timeout_are_retryable(receiver: Receiver, http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(ApplicationError) as refused:
            await deliver(
                http, f"http://127.0.0.1:{dead_port}/hook", {"kind": "x"}, secret=SECRET, breaker=None, event_id="e"
            )
    assert refused.value.type == "WebhookUnavailable" and not refused.value.non_retryable
    assert refused.value.__cause__ is None  # httpx's message (which may quote the URL) is not chained

    receiver.delay_seconds = 1.0
    with pytest.raises(ApplicationError) as slow:
        await deliver(http, receiver.url, {"kind": "x"}, secret=SECRET, breaker=None, event_id="e", timeout=0.2)
    assert slow.value.type == "WebhookUnavailable" and "0.2 s" in slow.value.message


async def test_breaker_opens_after_failures_and_fails_fast(receiver: Receiver, http: httpx.AsyncClient) -> None:
    board = BreakerBoard(failure_threshold=3, cooldown_seconds=60)
    acts = AlertActivities(http, SECRET, board)
    env = ActivityEnvironment()
    receiver.fail_next(503, times=10)
    for _ in range(3):
        with pytest.raises(ApplicationError) as err:
            await env.run(acts.deliver_webhook, delivery(receiver.url))
        assert err.value.type == "WebhookUnavailable"
    with pytest.raises(CircuitOpenError) as fast:
        await env.run(acts.deliver_webhook, delivery(receiver.url))
    assert fast.value.type == "CircuitOpen" and not fast.value.non_retryable
    assert len(receiver.deliveries) == 3  # the fourth call never reached the receiver
    assert board.states() == {breaker_service(receiver.url): "open"}
    samples = {"service": breaker_service(receiver.url)}
    assert board.registry.get_sample_value("ytempire_circuit_breaker_trips_total", samples) == 1


async def test_rejections_do_not_trip_the_breaker(receiver: Receiver, http: httpx.AsyncClient) -> None:
    board = BreakerBoard(failure_threshold=2, cooldown_seconds=60)
    acts = AlertActivities(http, SECRET, board)
    receiver.fail_next(400, times=3)
    for _ in range(3):
        with pytest.raises(ApplicationError, match="HTTP 400"):
            await ActivityEnvironment().run(acts.deliver_webhook, delivery(receiver.url))
    assert board.states() == {breaker_service(receiver.url): "closed"}


async def test_missing_url_is_a_configuration_error(http: httpx.AsyncClient) -> None:
    acts = AlertActivities(http, SECRET, BreakerBoard(3, 60))
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.deliver_webhook, delivery(""))
    assert err.value.type == "WebhookNotConfigured" and err.value.non_retryable


async def test_default_url_keeps_the_receiver_out_of_the_payload(receiver: Receiver, http: httpx.AsyncClient) -> None:
    acts = AlertActivities(http, SECRET, BreakerBoard(3, 60), default_url=receiver.url)
    assert await ActivityEnvironment().run(acts.deliver_webhook, delivery("")) == 200
    assert receiver.deliveries[0].verified


async def test_secrets_never_appear_in_errors_or_logs(
    receiver: Receiver, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    board = BreakerBoard(failure_threshold=4, cooldown_seconds=60)
    acts = AlertActivities(http, SECRET, board, timeout_seconds=0.3)
    url = receiver.url_with_credentials
    messages: list[str] = []
    receiver.fail_next(503)
    receiver.fail_next(429, headers={"Retry-After": "5"})
    receiver.fail_next(400)
    for _ in range(3):
        with pytest.raises(ApplicationError) as err:
            await ActivityEnvironment().run(acts.deliver_webhook, delivery(url))
        messages.append(str(err.value))
    receiver.delay_seconds = 1.0
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.deliver_webhook, delivery(url))
    messages.append(str(err.value))
    receiver.delay_seconds = 0.0
    bad_port_url = url.replace(f":{receiver.port}", ":1")
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.deliver_webhook, delivery(bad_port_url))
    messages.append(str(err.value))
    assert await ActivityEnvironment().run(acts.deliver_webhook, delivery(url)) == 200
    # The receiver got the credentials (they are the receiver's business) and a valid signature.
    assert receiver.deliveries[-1].query == f"token={URL_TOKEN}" and receiver.deliveries[-1].verified
    assert all("127.0.0.1" in m for m in messages)
    assert_no_secrets("\n".join(messages))
    assert_no_secrets(caplog.text)
    assert_no_secrets(repr(board.states()))


# --- AlertDeliveryWorkflow on the time-skipping server -------------------------------------------------------------


@pytest.fixture
def task_queue() -> str:
    return f"alerts-{uuid.uuid4().hex[:8]}"


async def run_delivery(
    env: WorkflowEnvironment, acts: AlertActivities, item: WebhookDelivery, starts: list[datetime] | None = None
) -> int:
    """Run AlertDeliveryWorkflow with the real activity; `starts` collects each attempt's (server) start time."""
    deliver_webhook: Callable[[WebhookDelivery], Awaitable[int]] = acts.deliver_webhook
    if starts is not None:

        @activity.defn(name="deliver_webhook")
        async def timed(item: WebhookDelivery) -> int:
            starts.append(activity.info().started_time)
            return await acts.deliver_webhook(item)

        deliver_webhook = timed
    async with Worker(
        env.client, task_queue=item.task_queue, workflows=[AlertDeliveryWorkflow], activities=[deliver_webhook]
    ):
        return await env.client.execute_workflow(
            AlertDeliveryWorkflow.run,
            item,
            id=f"alert-{uuid.uuid4()}-{item.kind}",
            task_queue=item.task_queue,
        )


def waited(starts: list[datetime], expected: list[int]) -> bool:
    """Whether the gaps between attempt starts are the `expected` retry delays. A gap is the delay plus the attempt's
    own run (the HTTP call: well under a second here, a second or two on a loaded CI machine), less a second where the
    delay was counted from an earlier attempt's start (the breaker's cool-down)."""
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    return len(gaps) == len(expected) and all(e - 1 < g < e + 3 for g, e in zip(gaps, expected, strict=True))


async def test_workflow_retries_503s_then_delivers(
    time_env: WorkflowEnvironment, receiver: Receiver, http: httpx.AsyncClient, task_queue: str
) -> None:
    receiver.fail_next(503, times=2)
    acts = AlertActivities(http, SECRET, BreakerBoard(failure_threshold=5, cooldown_seconds=60))
    item = delivery(receiver.url, task_queue)
    starts: list[datetime] = []
    assert await run_delivery(time_env, acts, item, starts) == 200
    assert len(receiver.deliveries) == 3
    assert waited(starts, [2, 4]), starts  # the policy's backoff, waited on the server's (skipped) clock
    assert all(d.verified for d in receiver.deliveries)
    assert {d.headers[IDEMPOTENCY_HEADER.lower()] for d in receiver.deliveries} == {item.event_id}


async def test_workflow_honours_retry_after(
    time_env: WorkflowEnvironment, receiver: Receiver, http: httpx.AsyncClient, task_queue: str
) -> None:
    receiver.fail_next(429, headers={"Retry-After": "240"})
    acts = AlertActivities(http, SECRET, BreakerBoard(failure_threshold=5, cooldown_seconds=60))
    starts: list[datetime] = []
    assert await run_delivery(time_env, acts, delivery(receiver.url, task_queue), starts) == 200
    assert len(receiver.deliveries) == 2
    assert waited(starts, [240]), starts  # the receiver's Retry-After, not the policy's 2 s


async def test_workflow_fails_at_once_when_rejected(
    time_env: WorkflowEnvironment, receiver: Receiver, http: httpx.AsyncClient, task_queue: str
) -> None:
    receiver.fail_next(400, times=5)
    acts = AlertActivities(http, SECRET, BreakerBoard(failure_threshold=5, cooldown_seconds=60))
    with pytest.raises(WorkflowFailureError) as failure:
        await run_delivery(time_env, acts, delivery(receiver.url_with_credentials, task_queue))
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError) and cause.type == "WebhookRejected" and "HTTP 400" in cause.message
    assert_no_secrets(cause.message)
    assert len(receiver.deliveries) == 1


def server_clock() -> float:
    """The breaker's clock in workflow tests: the (time-skipping) server's start time of this attempt."""
    return activity.info().started_time.timestamp()


async def test_workflow_waits_out_an_open_breaker(
    time_env: WorkflowEnvironment, receiver: Receiver, http: httpx.AsyncClient, task_queue: str
) -> None:
    """Two 503s open the breaker; the next attempt fails fast (CircuitOpen) and is retried when the cool-down ends."""
    receiver.fail_next(503, times=2)
    board = BreakerBoard(failure_threshold=2, cooldown_seconds=60, clock=server_clock)
    acts = AlertActivities(http, SECRET, board)
    starts: list[datetime] = []
    assert await run_delivery(time_env, acts, delivery(receiver.url, task_queue), starts) == 200
    # 503, 503 (opens the breaker), CircuitOpen after 4 s: retry in 56 s, then the half-open trial succeeds.
    assert waited(starts, [2, 4, 56]), starts
    assert len(receiver.deliveries) == 3
    assert board.states() == {breaker_service(receiver.url): "closed"}


async def test_a_delivery_to_an_internal_address_is_refused_when_it_is_sent(receiver: Receiver) -> None:
    """Checked again at delivery: a name admitted while public may resolve to this machine by then."""
    async with httpx.AsyncClient() as http:
        guarded = AlertActivities(http, SECRET, BreakerBoard(3, 60), allowed=[])
        env = ActivityEnvironment()
        with pytest.raises(ApplicationError) as refused:
            await env.run(guarded.deliver_webhook, WebhookDelivery("evt-internal", "video_completed", receiver.url))
        host = receiver.url.split("://", 1)[1].split("/", 1)[0]
        allowed = AlertActivities(http, SECRET, BreakerBoard(3, 60), allowed=[host])
        delivered = await env.run(
            allowed.deliver_webhook, WebhookDelivery("evt-allowed", "video_completed", receiver.url)
        )
    assert refused.value.type == "WebhookDestinationRefused" and refused.value.non_retryable
    assert 200 <= delivered < 300


async def test_a_callback_is_signed_with_its_own_secret_so_it_cannot_pass_for_an_alert(receiver: Receiver) -> None:
    """A caller receives its callbacks signed; replayed to the operator's alert webhook they must not verify."""
    async with httpx.AsyncClient() as http:
        env = ActivityEnvironment()
        as_callback = AlertActivities(http, "the-alert-secret", BreakerBoard(3, 60), callback_secret=SECRET)
        await env.run(as_callback.deliver_webhook, WebhookDelivery("evt-cb", "video_completed", receiver.url))
        as_alert = AlertActivities(
            http, SECRET, BreakerBoard(3, 60), default_url=receiver.url, callback_secret="the-callback-secret"
        )
        await env.run(as_alert.deliver_webhook, WebhookDelivery("evt-alert", "cost_warning", ""))
        crossed = AlertActivities(http, SECRET, BreakerBoard(3, 60), callback_secret="the-callback-secret")
        await env.run(crossed.deliver_webhook, WebhookDelivery("evt-cb-2", "video_completed", receiver.url))
    assert [d.verified for d in receiver.deliveries] == [True, True, False]


def test_the_callback_secret_is_derived_from_the_alert_secret_unless_set() -> None:
    derived = Settings(_env_file=None, alert_webhook_secret="whsec-1")  # type: ignore[call-arg]
    assert derived.callback_secret not in (None, "whsec-1") and len(derived.callback_secret or "") == 64
    explicit = derived.model_copy(update={"callback_signing_secret": SecretStr("cb-secret")})
    assert explicit.callback_secret == "cb-secret"
    assert Settings(_env_file=None).callback_secret is None  # type: ignore[call-arg]
