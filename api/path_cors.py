"""CORS for one path prefix only: the codec endpoint answers the Temporal UI's origin, the rest of the API no one's
(unless YTEMPIRE_API_CORS_ORIGINS says otherwise)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class PathCors:
    def __init__(self, app: ASGIApp, *, prefix: str, origins: list[str], headers: list[str]) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(
            app, allow_origins=origins, allow_credentials=True, allow_methods=["POST"], allow_headers=headers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def origins_of(urls: list[str]) -> list[str]:
    """Each URL's origin, and the same origin under the loopback's other name (a browser may use either)."""
    origins: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        origins.append(origin)
        for one, other in (("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")):
            if parts.hostname == one:
                origins.append(origin.replace(f"//{one}", f"//{other}", 1))
    return list(dict.fromkeys(origins))
