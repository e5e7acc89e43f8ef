#!/usr/bin/env bash
# Install Kamailio 5.6 (Debian 12 "bookworm" packages), sipp and the baresip
# softphone for presenced's Kamailio integration and its tests. Idempotent and
# non-interactive.
#
#   sudo bash integrations/kamailio/setup/install-debian-packages.sh
#
# It never leaves a system Kamailio running: package post-install scripts are
# prevented from starting services (policy-rc.d, exit 101), and if a kamailio
# started by the Debian service is found anyway it is stopped and the service
# is disabled, so port 5060 stays free for the tests and the example config.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  kamailio                  # core + tm, sl, rr, textops, pv, xhttp, jsonrpcs, tmx, kex, ...
  kamailio-json-modules     # json, jsonrpcc (the netstring JSON-RPC client family)
  kamailio-extra-modules    # jansson + janssonrpcc live HERE in Debian 5.6 (also evapi, uuid, gzcompress)
  kamailio-presence-modules # presence, presence_xml, pua... (for side-by-side comparison)
  kamailio-sqlite-modules   # db_sqlite (used by the comparison config)
  sqlite3                   # creates that comparison database from Debian's schema (bench/lib/targets.ts)
  kamailio-utils-modules    # utils
  sip-tester                # sipp
  baresip-core              # baresip 1.0.0 softphone (presence + ctrl_tcp modules), headless: test/support/baresip-process.ts
)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E bash "$0" "$@"; fi
  echo "install-debian-packages.sh: must run as root" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # Keep maintainer scripts from starting services (invoke-rc.d honours policy-rc.d).
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=1
  fi
  cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
  trap cleanup EXIT
  # Package lists may be missing (fresh container) or stale: refresh them.
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
  cleanup
  trap - EXIT
else
  echo "all packages already installed"
fi

# Never keep a Debian-service kamailio around (it would hold 5060).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now kamailio.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/kamailio ] && command -v update-rc.d >/dev/null 2>&1; then
  update-rc.d kamailio disable >/dev/null 2>&1 || true
fi
for pidfile in /run/kamailio/kamailio.pid /var/run/kamailio/kamailio.pid; do
  if [ -s "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q kamailio "/proc/$pid/comm" 2>/dev/null; then
      echo "stopping system kamailio (pid $pid)"
      kill -TERM "$pid" || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" || true
    fi
  fi
done

kamailio -v | head -n 1
for m in janssonrpcc jansson tm textops xhttp jsonrpcs xhttp_prom presence db_sqlite; do
  if ! ls /usr/lib/x86_64-linux-gnu/kamailio/modules/"$m".so /usr/lib/*/kamailio/modules/"$m".so >/dev/null 2>&1; then
    echo "warning: kamailio module $m not found" >&2
  fi
done
sipp -v 2>/dev/null | grep -m1 -i 'sipp v' || true
if [ ! -e /usr/lib/baresip/modules/presence.so ] || [ ! -e /usr/lib/baresip/modules/ctrl_tcp.so ]; then
  echo "warning: baresip presence/ctrl_tcp modules not found" >&2
fi
{ baresip -h 2>&1 || true; } | grep -m1 '^baresip v' || true
echo "kamailio + sipp + baresip ready"
