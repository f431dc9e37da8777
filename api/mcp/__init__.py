"""The API's tools for MCP clients (AI agents, Claude Desktop, n8n): served at /mcp by the API over streamable HTTP,
and over stdio by `python -m api.mcp`. Each tool is one API route; see docs/mcp.md."""
