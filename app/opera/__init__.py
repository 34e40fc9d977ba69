"""OHIP: everything that speaks Oracle OPERA Cloud REST, and nothing of MCP."""
