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

# A TLS config whose certificates are not there yet would stop the broker in a restart loop. Run the
# plain config it includes instead (listener 1883, same accounts), and say so until they are made
# (docs/security.md, "TLS for devices"; config/mosquitto/tls/make-certs.sh).
missing=$(awk '$1 == "cafile" || $1 == "certfile" || $1 == "keyfile" { print $2 }' "$conf" |
  while read -r file; do [ -r "$file" ] || echo "$file"; done)
if [ -n "$missing" ]; then
  plain="$(awk '$1 == "include_dir" { print $2; exit }' "$conf")/mosquitto.conf"
  echo "run.sh: WARNING: no TLS certificate ($(echo $missing)); MQTT over TLS is OFF, serving $plain only"
  conf="$plain"
fi

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
