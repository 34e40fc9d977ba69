"""The OHIP sandbox: a stateful emulator of the OHIP REST subset the MCP server uses (see app/sandbox/app.py)."""
