#!/usr/bin/env bash
# Installs what nsnet needs on Debian (only what is missing), then its npm
# dependencies (which builds the addon). Shared by the demo and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "nsnet needs Node.js >= 20.19 (with npm) on PATH" >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("nsnet needs Node.js >= 20.19, found "+process.version); process.exit(1) }'

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
for extra in "$@"; do
  case "$extra" in
    nft) command -v nft >/dev/null 2>&1 || need+=(nftables) ;;
    cni) [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins) ;;
    # test/podman.test.ts: podman on the CNI backend with runc (crun refuses this
    # machine's cgroup layout), an image made offline from busybox-static.
    podman)
      [ -x /usr/lib/cni/loopback ] || need+=(containernetworking-plugins)
      for p in podman runc conmon; do command -v "$p" >/dev/null 2>&1 || need+=("$p"); done
      dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static) ;;
    # bench/dns.ts: the load generator and the resolver it is compared with.
    dns)
      command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
      [ -x /usr/lib/podman/aardvark-dns ] || need+=(aardvark-dns)
      ;;
    # test/multihost.test.ts and bench/cluster.ts: the cluster store, etcd 3.4 (run by the test with a temporary data dir).
    multihost) command -v etcd >/dev/null 2>&1 || need+=(etcd-server etcd-client) ;;
    # The Docker SDK for Python's network suite (test/sdk-python.test.ts), on Debian's own python3.
    python-sdk) /usr/bin/python3 -c 'import docker' >/dev/null 2>&1 || need+=(python3-docker)
                /usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || need+=(python3-pytest) ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -f build/Release/nsnet.node ] || [ ! -x build/Release/nsnet-cni ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The compiled library and CLI (dist/): npm ci builds it through `prepare`;
# rebuilt here so a checkout whose node_modules were kept is never stale.
npm run -s build
