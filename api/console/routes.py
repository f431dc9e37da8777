"""GET / and its assets: the console's page, script and styles, pinned in the repository (no CDN, no Node). They hold
no data: everything the page shows comes from the API, asked with the signed-in principal's credential."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["console"], include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"console.js": "text/javascript", "console.css": "text/css"}
# The page runs only its own script and styles and talks only to this origin (its API and status streams).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
    "connect-src 'self' ws: wss:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/")
async def console_page() -> FileResponse:
    """The console (open: it holds no data)."""
    return FileResponse(
        STATIC / "console.html", media_type="text/html", headers={**HEADERS, "Cache-Control": "no-cache"}
    )


@router.get("/console/{asset}")
async def console_asset(asset: Literal["console.js", "console.css"]) -> FileResponse:
    """The console's script and styles (open: they hold no data)."""
    return FileResponse(STATIC / asset, media_type=ASSETS[asset], headers={**HEADERS, "Cache-Control": "no-cache"})
