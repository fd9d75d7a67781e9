#!/usr/bin/env bash
# Installs (if needed) the real registry tools the copy engine is tested against: the CNCF
# distribution registry (`docker-registry`) and `skopeo`, both Debian's packages. The tests start
# the registries themselves, on loopback ports, with storage in temp dirs.
set -euo pipefail
if ! command -v docker-registry >/dev/null 2>&1 || ! command -v skopeo >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends docker-registry skopeo >&2
fi
# Debian's package starts a registry service on :5000; the tests start their own.
(systemctl stop docker-registry 2>/dev/null || service docker-registry stop 2>/dev/null || pkill -x docker-registry || true) >/dev/null 2>&1
docker-registry --version >&2
skopeo --version >&2
