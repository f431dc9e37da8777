"""Principals: secure by default (a local admin key made on first start), stored API keys with roles, rotation and
revocation, people signing in for access and refresh tokens, the YTEMPIRE_API_KEY of older scripts, the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import stat
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.credentials import Passwords, new_api_key
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.api.test_stream import serving
from tests.conftest import database_env
from tests.integration import conftest as integration
from tests.integration.conftest import admin_headers, api_client

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues


def video() -> dict[str, object]:
    return {"topic": "signed-in octopus", "channel_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}


async def make_key(ledger: Ledger, role: Role, name: str | None = None) -> str:
    key = new_api_key()
    await ledger.create_key(key.id, name or f"test-{role.value}-{key.id}", key.sha256, role)
    return key.value


async def test_nothing_configured_means_closed_but_for_health_and_sign_in(
    dev_env: WorkflowEnvironment, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.api_key is None
    caplog.set_level(logging.INFO)
    async with api_client(settings, signed_in=False) as api:
        queued = await api.post("/pipeline/queue", json=video())
        listed = await api.get("/pipeline/videos")
        status = await api.get(f"/pipeline/status/{uuid.uuid4()}")
        metrics = await api.get("/pipeline/metrics")
        wrong = await api.get("/pipeline/videos", headers={"X-API-Key": "ytk_0123456789ab_not-the-secret"})
        garbage = await api.get("/pipeline/videos", headers={"Authorization": "Bearer not.a.token"})
        health = await api.get("/healthz")
        key = admin_headers(settings)
        admitted = await api.post("/pipeline/queue", json=video(), headers=key)
        me = await api.get("/auth/me", headers=key)
        schema = (await api.get("/openapi.json")).json()
    for refused in (queued, listed, status, metrics, wrong, garbage):
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
    assert "sign in" in queued.json()["detail"] and "invalid" in wrong.json()["detail"]
    assert health.status_code == 200
    assert admitted.status_code == 201, admitted.text
    assert me.json()["role"] == "admin" and me.json()["name"] == "local-admin"
    mode = stat.S_IMODE(settings.admin_key_path.stat().st_mode)
    assert mode == 0o600, oct(mode)
    value = key["X-API-Key"]
    assert str(settings.admin_key_path.resolve()) in caplog.text and value not in caplog.text
    assert value.split("_", 2)[2] not in caplog.text
    assert {"APIKeyHeader": []} in schema["paths"]["/pipeline/queue"]["post"]["security"]
    assert {"HTTPBearer": []} in schema["paths"]["/pipeline/queue"]["post"]["security"]


async def test_the_local_admin_key_survives_restarts_and_is_remade_when_revoked(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    async with api_client(settings):
        first = admin_headers(settings)
    async with api_client(settings):
        assert admin_headers(settings) == first
    await ledger.revoke_key("local-admin")
    async with api_client(settings) as api:
        second = admin_headers(settings)
        assert second != first
        assert (await api.get("/auth/me", headers=first)).status_code == 401
        assert (await api.get("/auth/me", headers=second)).status_code == 200


async def test_roles_decide_what_a_key_may_do(dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger) -> None:
    async with api_client(settings, signed_in=False) as api:
        viewer = {"X-API-Key": await make_key(ledger, Role.VIEWER)}
        operator = {"Authorization": f"Bearer {await make_key(ledger, Role.OPERATOR)}"}
        looked = await api.get("/pipeline/videos", headers=viewer)
        refused = await api.post("/pipeline/queue", json=video(), headers=viewer)
        cancel_refused = await api.post(f"/pipeline/cancel/{uuid.uuid4()}", headers=viewer)
        queued = await api.post("/pipeline/queue", json=video(), headers=operator)
    assert looked.status_code == 200
    assert refused.status_code == 403 and "needs operator" in refused.json()["detail"]
    assert cancel_refused.status_code == 403
    assert queued.status_code == 201, queued.text


async def test_a_rotated_key_overlaps_its_successor_and_a_revoked_one_ends_at_once(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    name = f"n8n-{uuid.uuid4().hex[:6]}"
    first = await make_key(ledger, Role.OPERATOR, name)
    second, third = new_api_key(), new_api_key()
    await ledger.rotate_key(name, second.id, second.sha256, timedelta(hours=1))
    async with api_client(settings, signed_in=False) as api:

        async def works(key: str) -> bool:
            return (await api.get("/auth/me", headers={"X-API-Key": key})).status_code == 200

        assert await works(first) and await works(second.value)  # two live at once: clients move over
        await ledger.rotate_key(name, third.id, third.sha256, timedelta(hours=1))
        assert not await works(first) and await works(second.value) and await works(third.value)
        assert (await api.get("/auth/me", headers={"X-API-Key": third.value})).json()["role"] == "operator"
        await ledger.revoke_key(name)
        assert not await works(second.value) and not await works(third.value)
    used = {k.id: k for k in await ledger.list_keys(include_ended=True)}
    assert used[third.id].last_used_at is not None and used[third.id].revoked_at is not None


async def test_people_sign_in_and_refresh_once(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    password = secrets.token_urlsafe(16)
    name = f"alice-{uuid.uuid4().hex[:6]}"
    await ledger.create_user(name, Passwords().hash(password), Role.VIEWER)
    async with api_client(settings, signed_in=False) as api:
        wrong = await api.post("/auth/token", data={"username": name, "password": password + "x"})
        nobody = await api.post("/auth/token", data={"username": "nobody", "password": password})
        signed = await api.post("/auth/token", data={"username": name, "password": password})
        assert signed.status_code == 200, signed.text
        tokens = signed.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = await api.get("/auth/me", headers=bearer)
        may_not = await api.post("/pipeline/queue", json=video(), headers=bearer)
        refreshed = await api.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        replayed = await api.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        # The replay signed the whole session out: the token issued by the honest refresh is dead too.
        after_replay = await api.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]}
        )
        again = await api.post("/auth/token", data={"username": name, "password": password})
        await ledger.disable_user(name)
        disabled = await api.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": again.json()["refresh_token"]}
        )
        disabled_sign_in = await api.post("/auth/token", data={"username": name, "password": password})
    assert wrong.status_code == 401 and nobody.status_code == 401
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 15 * 60 and tokens["role"] == "viewer"
    assert me.status_code == 200 and me.json()["name"] == name and me.json()["kind"] == "user"
    assert may_not.status_code == 403
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != tokens["refresh_token"]
    assert replayed.status_code == 401 and after_replay.status_code == 401
    assert disabled.status_code == 401 and disabled_sign_in.status_code == 401


async def test_an_expired_or_forged_access_token_is_refused(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    password = secrets.token_urlsafe(16)
    name = f"bob-{uuid.uuid4().hex[:6]}"
    await ledger.create_user(name, Passwords().hash(password), Role.ADMIN)
    quick = settings.model_copy(update={"access_token_minutes": 1 / 60})  # one second
    async with api_client(quick, signed_in=False) as api:
        token = (await api.post("/auth/token", data={"username": name, "password": password})).json()["access_token"]
        assert (await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        head, body, signature = token.split(".")
        forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
        assert (await api.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
        await asyncio.sleep(2.1)
        assert (await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_the_environment_key_of_older_scripts_is_an_admin_key(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    key = secrets.token_urlsafe(24)
    keyed = settings.model_copy(update={"api_key": SecretStr(key)})
    async with api_client(keyed, signed_in=False) as api:
        me = await api.get("/auth/me", headers={"X-API-Key": key})
        queued = await api.post("/pipeline/queue", json=video(), headers={"Authorization": f"Bearer {key}"})
        near = await api.get("/auth/me", headers={"X-API-Key": key[:-1] + ("x" if key[-1] != "x" else "y")})
    assert me.json()["role"] == "admin" and queued.status_code == 201
    assert near.status_code == 401 and key not in near.text


async def test_the_stream_needs_a_principal_too(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    async with serving(settings) as api:
        url = f"{api.ws_base}/{uuid.uuid4()}"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 403
        async with connect(url, additional_headers=api.auth) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=10)
        assert ws.close_code == 4404  # past the check: the unknown video's own close code


def accounts(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("YTEMPIRE_")}
    env.update(database_env(settings))
    return subprocess.run(
        [sys.executable, "-m", "api.accounts", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def test_the_accounts_command_makes_keys_and_users(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    name = f"scripts-{uuid.uuid4().hex[:6]}"
    made = await asyncio.to_thread(accounts, settings, "keys", "create", name, "--role", "viewer")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("ytk_") and "shown once" in made.stderr
    listed = await asyncio.to_thread(accounts, settings, "keys", "list")
    assert name in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    rotated = await asyncio.to_thread(accounts, settings, "keys", "rotate", name)
    user = f"carol-{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(16)
    short = await asyncio.to_thread(
        accounts, settings, "users", "create", user, "--role", "operator", "--password-stdin", stdin="short\n"
    )
    created = await asyncio.to_thread(
        accounts, settings, "users", "create", user, "--role", "operator", "--password-stdin", stdin=password + "\n"
    )
    twice = await asyncio.to_thread(
        accounts, settings, "users", "create", user, "--role", "operator", "--password-stdin", stdin=password + "\n"
    )
    async with api_client(settings, signed_in=False) as api:
        assert (await api.get("/auth/me", headers={"X-API-Key": key})).json()["role"] == "viewer"
        assert (await api.get("/auth/me", headers={"X-API-Key": rotated.stdout.strip()})).status_code == 200
        signed = await api.post("/auth/token", data={"username": user, "password": password})
        assert signed.status_code == 200 and signed.json()["role"] == "operator"
        revoked = await asyncio.to_thread(accounts, settings, "keys", "revoke", name)
        assert revoked.returncode == 0 and "2 key(s) revoked" in revoked.stdout
        assert (await api.get("/auth/me", headers={"X-API-Key": key})).status_code == 401
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    assert created.returncode == 0 and twice.returncode == 1 and "not created" in twice.stderr
    gone = await asyncio.to_thread(accounts, settings, "keys", "revoke", name)
    assert gone.returncode == 1 and "no live key" in gone.stderr


async def test_an_operator_approves_up_to_its_ceiling_and_an_admin_beyond(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    operator = {"X-API-Key": await make_key(ledger, Role.OPERATOR)}
    missing = uuid.uuid4()
    body = {"new_cap_usd": 6.0, "reason": "flagship"}
    async with api_client(settings) as api:  # the local admin key
        over = await api.post(f"/pipeline/approve/{missing}", json=body, headers=operator)
        within = await api.post(f"/pipeline/approve/{missing}", json={**body, "new_cap_usd": 5.0}, headers=operator)
        admin = await api.post(f"/pipeline/approve/{missing}", json=body)
    assert over.status_code == 403 and "may approve up to $5.00" in over.json()["detail"]
    assert within.status_code == 404 and admin.status_code == 404  # past the ceiling check: the video is unknown


async def test_a_key_limited_to_channels_sees_and_queues_only_theirs(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    key = new_api_key()
    await ledger.create_key(key.id, f"channel-bound-{key.id}", key.sha256, Role.OPERATOR, [mine])
    bound = {"X-API-Key": key.value}
    async with serving(settings) as api:  # the local admin key on api.http; the bound key sent explicitly
        their_video = (await api.http.post("/pipeline/queue", json={**video(), "channel_id": str(theirs)})).json()
        queued = await api.http.post("/pipeline/queue", json={**video(), "channel_id": str(mine)}, headers=bound)
        refused = await api.http.post("/pipeline/queue", json={**video(), "channel_id": str(theirs)}, headers=bound)
        batch = await api.http.post(
            "/pipeline/queue/batch",
            json={"videos": [{**video(), "channel_id": str(mine)}, {**video(), "channel_id": str(theirs)}]},
            headers=bound,
        )
        other = their_video["video_id"]
        status = await api.http.get(f"/pipeline/status/{other}", headers=bound)
        cancel = await api.http.post(f"/pipeline/cancel/{other}", headers=bound)
        own_status = await api.http.get(f"/pipeline/status/{queued.json()['video_id']}", headers=bound)
        listed = await api.http.get("/pipeline/videos", headers=bound)
        listed_theirs = await api.http.get("/pipeline/videos", params={"channel_id": str(theirs)}, headers=bound)
        metrics_all = await api.http.get("/pipeline/metrics", headers=bound)
        metrics_mine = await api.http.get("/pipeline/metrics", params={"channel_id": str(mine)}, headers=bound)
        async with connect(f"{api.ws_base}/{other}", additional_headers=bound) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=10)
    assert queued.status_code == 201, queued.text
    assert refused.status_code == 403 and str(theirs) in refused.json()["detail"]
    assert batch.status_code == 403  # all or nothing: its video for `mine` was not queued either
    assert status.status_code == 404 and cancel.status_code == 404 and own_status.status_code == 200
    assert [v["channel_id"] for v in listed.json()["videos"]] == [str(mine)]
    assert listed_theirs.json()["videos"] == []
    assert metrics_all.status_code == 403 and metrics_mine.status_code == 200
    assert ws.close_code == 4404  # as if it did not exist


async def test_an_idempotency_key_is_its_principals_own(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    first = {"X-API-Key": await make_key(ledger, Role.OPERATOR), "Idempotency-Key": "daily-1"}
    second = {"X-API-Key": await make_key(ledger, Role.OPERATOR), "Idempotency-Key": "daily-1"}
    async with api_client(settings, signed_in=False) as api:
        a = await api.post("/pipeline/queue", json=video(), headers=first)
        b = await api.post("/pipeline/queue", json=video(), headers=second)
        again = await api.post("/pipeline/queue", json=video(), headers=first)
    assert a.status_code == b.status_code == 201
    assert a.json()["video_id"] != b.json()["video_id"]
    assert again.status_code == 200 and again.json()["video_id"] == a.json()["video_id"]


async def test_a_principal_past_its_rate_gets_429_with_when_to_retry(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    tight = settings.model_copy(update={"rate_limit_per_minute": 5})
    viewer = {"X-API-Key": await make_key(ledger, Role.VIEWER)}
    own_limit = new_api_key()
    await ledger.create_key(own_limit.id, f"bench-{own_limit.id}", own_limit.sha256, Role.VIEWER, rate_per_minute=50)
    # Two API processes' worth: each app counts in the same table, so together they allow 5, not 10.
    async with api_client(tight, signed_in=False) as one, api_client(tight, signed_in=False) as two:
        answers = [await (one if i % 2 else two).get("/auth/me", headers=viewer) for i in range(7)]
        generous = [await one.get("/auth/me", headers={"X-API-Key": own_limit.value}) for _ in range(7)]
    codes = [a.status_code for a in answers]
    if codes.count(429) != 2:  # a minute boundary fell between the requests: the count started again
        assert codes.count(429) < 2
        return
    assert codes == [200] * 5 + [429] * 2
    assert answers[0].headers["RateLimit-Limit"] == "5" and answers[0].headers["RateLimit-Remaining"] == "4"
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0" and "more than 5 requests" in refused.json()["detail"]
    assert [a.status_code for a in generous] == [200] * 7 and generous[-1].headers["RateLimit-Limit"] == "50"


async def test_sign_in_and_invalid_credentials_are_limited_per_address(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    strict = settings.model_copy(update={"sign_in_rate_per_minute": 3})
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"  # a client of its own: no other test's attempts count
    async with api_client(strict, signed_in=False, address=address) as api:
        guesses = [
            (await api.post("/auth/token", data={"username": "root", "password": f"guess-{i}"})).status_code
            for i in range(5)
        ]
        keys = [
            (await api.get("/auth/me", headers={"X-API-Key": f"ytk_0123456789ab_guess{i}"})).status_code
            for i in range(5)
        ]
    if 429 not in guesses or 429 not in keys:  # a minute boundary fell between them
        return
    assert guesses == [401, 401, 401, 429, 429] and keys == [401, 401, 401, 429, 429]


async def test_streams_per_principal_are_capped(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    capped = settings.model_copy(update={"websockets_per_principal": 2})
    async with serving(capped) as api:
        video_id = (await api.http.post("/pipeline/queue", json=video())).json()["video_id"]
        url = f"{api.ws_base}/{video_id}"
        first = await connect(url, additional_headers=api.auth)
        second = await connect(url, additional_headers=api.auth)
        with pytest.raises(InvalidStatus):
            await connect(url, additional_headers=api.auth)
        await first.close()
        for _ in range(50):  # the server notices the close, then the slot is free
            try:
                third = await connect(url, additional_headers=api.auth)
                break
            except InvalidStatus:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("a closed stream's slot never came back")
        await second.close()
        await third.close()


async def test_another_host_name_is_refused_and_cors_is_off_unless_configured(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with api_client(settings) as api:
        rebound = await api.get("/healthz", headers={"Host": "attacker.example"})
        local = await api.get("/healthz", headers={"Host": "127.0.0.1:8000"})
        preflight = await api.options(
            "/pipeline/queue",
            headers={"Origin": "https://attacker.example", "Access-Control-Request-Method": "POST"},
        )
    assert rebound.status_code == 400 and local.status_code == 200
    assert "access-control-allow-origin" not in preflight.headers
    console = settings.model_copy(update={"api_cors_origins": ["https://console.example"]})
    async with api_client(console) as api:
        allowed = await api.options(
            "/pipeline/queue",
            headers={"Origin": "https://console.example", "Access-Control-Request-Method": "POST"},
        )
        other = await api.options(
            "/pipeline/queue",
            headers={"Origin": "https://attacker.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    assert "access-control-allow-origin" not in other.headers


async def test_a_runaway_client_is_stopped_by_the_daily_spend_limits(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    """A leaked key or an n8n loop gone wrong queues at most its daily limit of caps, per key and per channel."""
    limited = settings.model_copy(
        update={"daily_spend_limit_per_principal_usd": 7.0, "daily_spend_limit_per_channel_usd": 4.0}
    )
    runaway = {"X-API-Key": await make_key(ledger, Role.OPERATOR)}
    channel = str(uuid.uuid4())
    async with api_client(limited, signed_in=False) as api:
        same_channel = [
            await api.post(
                "/pipeline/queue", json={**video(), "channel_id": channel, "cost_cap_usd": 2.0}, headers=runaway
            )
            for _ in range(3)
        ]
        elsewhere = [
            await api.post("/pipeline/queue", json={**video(), "cost_cap_usd": 2.0}, headers=runaway) for _ in range(3)
        ]
        batch = await api.post("/pipeline/queue/batch", json={"videos": [video()]}, headers=runaway)
    assert [r.status_code for r in same_channel] == [201, 201, 429]  # the channel's $4
    assert (
        "the channel" in same_channel[2].json()["detail"] and 1 <= int(same_channel[2].headers["Retry-After"]) <= 86400
    )
    assert [r.status_code for r in elsewhere] == [201, 429, 429]  # the key's $7: $4 + $2 queued, then $2 more is $8
    assert "YTEMPIRE_DAILY_SPEND_LIMIT_PER_PRINCIPAL_USD" in elsewhere[1].json()["detail"]
    assert batch.json()["results"][0]["error"] == "daily_spend_limit"


async def test_a_browser_opens_a_stream_with_a_ticket_once(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    """Browsers cannot set headers on a WebSocket: a ticket asked for with a credential opens one stream, once."""
    viewer = {"X-API-Key": await make_key(ledger, Role.VIEWER)}
    async with serving(settings) as api:
        ticket = (await api.http.post("/auth/stream-ticket", headers=viewer)).json()
        url = f"{api.ws_base}/{uuid.uuid4()}?ticket={ticket['ticket']}"
        async with connect(url) as ws:  # no header: the ticket alone
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=10)
        assert ws.close_code == 4404  # past the check: the unknown video's own close code
        for spent_or_forged in (url, f"{api.ws_base}/{uuid.uuid4()}?ticket=yts_0011223344556677_forged"):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(spent_or_forged):
                    pass
            assert refused.value.response.status_code == 403
        anonymous = await api.http.post("/auth/stream-ticket", headers={"X-API-Key": "none"})
    assert ticket["expires_in"] == 60 and ticket["ticket"].startswith("yts_")
    assert anonymous.status_code == 401
