"""opera-cloud-mcp: a remote MCP server for Oracle OPERA Cloud (OHIP)."""

__version__ = "0.1.0"
