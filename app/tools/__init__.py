"""The MCP face: one module per toolset, thin."""
