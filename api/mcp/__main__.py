"""`python -m api.mcp`: the MCP server over stdio, for desktop clients. Each tool call is an HTTP request to the API
at YTEMPIRE_MCP_API_URL with the key in YTEMPIRE_MCP_API_KEY; the tools come from that API's OpenAPI document."""

from __future__ import annotations

import ssl
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp.server.stdio import stdio_server
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.mcp.server import build_server
from api.mcp.tools import ToolCatalogue

MISSING_KEY = (
    "YTEMPIRE_MCP_API_KEY is not set: give this server an API key of its own "
    "(python -m api.accounts keys create claude-desktop --role operator) in its environment\n"
)


class StdioSettings(BaseSettings):
    """Read from the environment only (a desktop client's `env`), never from a file in the working directory."""

    model_config = SettingsConfigDict(extra="ignore")

    api_url: str = Field("http://127.0.0.1:8000", validation_alias="YTEMPIRE_MCP_API_URL")
    api_key: SecretStr | None = Field(None, validation_alias="YTEMPIRE_MCP_API_KEY")
    api_ca_file: Path | None = Field(
        None,
        validation_alias="YTEMPIRE_MCP_API_CA_FILE",
        description="the certificate to trust the API with over HTTPS (its dev certificate: "
        "data/secrets/api-dev-cert.pem); unset: the system's CAs",
    )


async def serve(settings: StdioSettings, key: str) -> None:
    verify: ssl.SSLContext | bool = True
    if settings.api_ca_file is not None:
        verify = ssl.create_default_context(cafile=settings.api_ca_file)
        verify.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the API's own certificate, trusted by itself
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=settings.api_url, headers=headers, verify=verify, timeout=120) as http:

        async def openapi() -> Mapping[str, Any]:
            response = await http.get("/openapi.json")
            response.raise_for_status()
            document: Mapping[str, Any] = response.json()
            return document

        server = build_server(http, ToolCatalogue(openapi))
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def main() -> int:
    try:
        settings = StdioSettings()
    except ValidationError as err:
        sys.stderr.write(f"the MCP server's settings are invalid: {err}\n")
        return 2
    key = settings.api_key.get_secret_value().strip() if settings.api_key is not None else ""
    if not key:
        sys.stderr.write(MISSING_KEY)
        return 2
    anyio.run(serve, settings, key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
