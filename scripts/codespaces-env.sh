#!/usr/bin/env bash
# In a GitHub Codespace, each forwarded port has its own https host name
# (https://<codespace>-3000.<domain>), and every issuer and redirect URI must
# use it. This writes env/codespaces.env, which make dev-all loads, and
# makes the ports public so that the services can call each other through
# those names. Outside a Codespace it does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${CODESPACE_NAME:-}" || -z "${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN:-}" ]]; then
  echo "Not in a Codespace: the local defaults (http://localhost:PORT) apply."
  exit 0
fi
url() { echo "https://${CODESPACE_NAME}-$1.${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}"; }
cat > env/codespaces.env <<ENV
# Written by scripts/codespaces-env.sh for Codespace ${CODESPACE_NAME}.
IDP_ISSUER=$(url 4000)
WIKI_AS_ISSUER=$(url 5000)
TODO_AS_ISSUER=$(url 5001)
WIKI_URL=$(url 3000)
TODO_URL=$(url 3001)
SECURE_COOKIES=true
ENV
echo "Wrote env/codespaces.env; the wiki is at $(url 3000)"
if command -v gh >/dev/null; then
  gh codespace ports visibility 3000:public 3001:public 4000:public 5000:public 5001:public -c "$CODESPACE_NAME" >/dev/null 2>&1 \
    && echo "Ports 3000, 3001, 4000, 5000, 5001 are public, so the services can reach each other." \
    || echo "Could not make the ports public; do it in the Ports tab (the services call each other through these URLs)."
fi
