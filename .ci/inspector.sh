#!/usr/bin/env bash
# Installs the pinned MCP Inspector CLI (a third-party MCP client built on the TypeScript SDK) into
# .ci/.cache/inspector, for the conformance tests in tests/e2e/test_inspector.py.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/apt.sh
source .ci/apt.sh
VERSION=2.12.0
DIR=.ci/.cache/inspector
BIN="$DIR/node_modules/.bin/mcp-inspector"
case "${1:-install}" in
  install)
    if [ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/@modelcontextprotocol/inspector/package.json" 2>/dev/null; then
      echo "mcp-inspector $VERSION already installed"
      exit 0
    fi
    apt_ensure node:nodejs npm:npm
    mkdir -p "$DIR"
    [ -f "$DIR/package.json" ] || echo '{"name": "ci-inspector", "private": true}' > "$DIR/package.json"
    npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "@modelcontextprotocol/inspector@$VERSION" 2>&1 \
      | grep -v -e EBADENGINE -e "Unknown user config" || true
    test -x "$BIN"
    echo "mcp-inspector $VERSION installed"
    ;;
  path) echo "$BIN" ;;
esac
