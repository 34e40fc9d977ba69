"""Sandbox routes, one module per OHIP module; each exports `routes(sandbox) -> list[BaseRoute]`."""
