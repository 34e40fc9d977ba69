"""`python -m app` runs the same command as `opera-cloud-mcp`."""

from app.cli import entrypoint

entrypoint()
