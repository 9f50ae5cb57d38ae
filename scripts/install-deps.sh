#!/usr/bin/env bash
# Installs what skiff needs on a fresh Debian machine: npm packages always, and the
# Debian packages (runc, CNI plugins, nftables, etcd, a registry, test clients) when root.
# Quiet unless something has to be installed. Usage: install-deps.sh [--debian | --node] [--npm]
set -euo pipefail
cd "$(dirname "$0")/.."

want_debian=0 want_npm=0 node_only=0
for a in "$@"; do
  case "$a" in --debian) want_debian=1 ;; --npm) want_npm=1 ;; --node) want_debian=1 node_only=1 ;; esac
done
[ $# -eq 0 ] && want_debian=1 && want_npm=1

if [ "$want_debian" = 1 ]; then
  # package:command-or-file that proves it is installed
  pkgs=(runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge nftables:/usr/sbin/nft
        etcd-server:/usr/bin/etcd docker-registry:/usr/bin/docker-registry
        python3-kubernetes:/usr/lib/python3/dist-packages/kubernetes busybox-static:/bin/busybox
        iproute2:/usr/sbin/ip golang-go:/usr/bin/go buildah:/usr/bin/buildah curl:/usr/bin/curl
        util-linux:/usr/bin/nsenter)
  # What a node needs to run pods (`skiff up`); the rest is for tests and benchmarks.
  [ "$node_only" = 1 ] && pkgs=(runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge nftables:/usr/sbin/nft iproute2:/usr/sbin/ip)
  missing=()
  for p in "${pkgs[@]}"; do [ -e "${p#*:}" ] || missing+=("${p%%:*}"); done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "skiff: installing Debian packages: ${missing[*]}" >&2
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "skiff: missing Debian packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})" >&2
    fi
  fi
fi

if [ "$want_npm" = 1 ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "skiff: installing npm dependencies (once)..." >&2
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
