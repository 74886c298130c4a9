#!/bin/sh
# Run Mosquitto with the project's config and reload it (SIGHUP) whenever the credential files
# change, so `civic device add|revoke` takes effect without a restart. POSIX sh: runs in the
# eclipse-mosquitto image (busybox) and as a plain process on Debian alike.
#   usage: run.sh [CONFIG]        env: MOSQUITTO_AUTH_DIR (default /mosquitto/auth)
set -eu
conf="${1:-/mosquitto/config/mosquitto.conf}"
auth="${MOSQUITTO_AUTH_DIR:-/mosquitto/auth}"

while [ ! -s "$auth/passwd" ] || [ ! -e "$auth/acl" ]; do
  echo "run.sh: waiting for $auth/passwd and $auth/acl (written by: civic broker files)"
  sleep 2
done

fingerprint() { cat "$auth/passwd" "$auth/acl" 2>/dev/null | cksum; }

mosquitto -c "$conf" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0' TERM INT
last=$(fingerprint)
while kill -0 "$pid" 2>/dev/null; do
  sleep 5 &
  wait $! || true
  now=$(fingerprint)
  if [ "$now" != "$last" ]; then
    kill -HUP "$pid" && echo "run.sh: credentials changed, broker reloaded"
    last=$now
  fi
done
wait "$pid"
