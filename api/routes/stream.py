"""WS /pipeline/stream/{video_id}: a video's status pushed on every change until it is final."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect, WebSocketException, status
from starlette.websockets import WebSocketState

from api.auth import ViewerWs
from api.operations import visible_video
from api.stream import HubClosed, StatusHub, Subscription
from core.errors import UnknownVideo
from core.principals import Principal

router = APIRouter(prefix="/pipeline", tags=["pipeline"])
log = logging.getLogger(__name__)

# Application close codes (4000-4999): the HTTP status each would have been, plus 4000.
CLOSE_UNKNOWN_VIDEO = 4404
CLOSE_MALFORMED_ID = 4422
CLOSE_GOING_AWAY = 1001


def get_hub(websocket: WebSocket) -> StatusHub:
    return websocket.app.state.stream  # type: ignore[no-any-return]


HubDep = Annotated[StatusHub, Depends(get_hub)]


@router.websocket("/stream/{video_id}")
async def stream_status(websocket: WebSocket, video_id: str, hub: HubDep, principal: ViewerWs) -> None:
    """Push the video's status (the /pipeline/status body plus `final`) now and on every change; close 1000 after
    the final one (completed, failed or cancelled). Unknown id: close 4404; an id that is not a UUID: close 4422."""
    open_streams: Counter[str] = websocket.app.state.open_streams
    cap = websocket.app.state.settings.websockets_per_principal
    if open_streams[principal.label] >= cap:
        raise WebSocketException(
            status.WS_1008_POLICY_VIOLATION, f"{principal.label} already has {cap} streams open: close one first"
        )
    open_streams[principal.label] += 1
    try:
        await _stream(websocket, video_id, hub, principal)
    finally:
        open_streams[principal.label] -= 1


async def _stream(websocket: WebSocket, video_id: str, hub: StatusHub, principal: Principal) -> None:
    await websocket.accept()
    try:
        vid = UUID(video_id)
    except ValueError:
        await websocket.close(CLOSE_MALFORMED_ID, f"malformed video id {video_id!r}: expected a UUID")
        return
    code, reason = 1000, "final"
    try:
        await visible_video(websocket.app.state.ledger, principal, vid)
        async with hub.subscribe(vid) as subscription:
            if not await _push_until_final_or_gone(websocket, subscription):
                return  # the client left; nothing to close
    except UnknownVideo as unknown:
        code, reason = CLOSE_UNKNOWN_VIDEO, str(unknown)
    except HubClosed as closed:
        code, reason = CLOSE_GOING_AWAY, str(closed)
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(code, reason)


async def _push_until_final_or_gone(websocket: WebSocket, subscription: Subscription) -> bool:
    """Send each state until the final one (True), or until the client disconnects (False).

    The client never has to speak, but its disconnect must be noticed while the video sits still, so that the
    video's watcher stops when its last subscriber leaves: a reader waits for it beside the sender.
    """
    sender = asyncio.create_task(_send_all(websocket, subscription))
    reader = asyncio.create_task(_until_disconnect(websocket))
    try:
        done, _ = await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, reader):
            task.cancel()
        await asyncio.gather(sender, reader, return_exceptions=True)
    if sender in done:
        return sender.result()  # re-raises UnknownVideo / HubClosed
    return False


async def _send_all(websocket: WebSocket, subscription: Subscription) -> bool:
    try:
        async for message in subscription:
            await websocket.send_text(message.text)
    except (WebSocketDisconnect, OSError):
        return False
    return True


async def _until_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass  # clients have nothing to say; whatever they send is ignored
