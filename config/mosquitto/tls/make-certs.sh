#!/bin/sh
# Make the broker's TLS certificate, signed by a CA of your own (docs/security.md, "TLS for devices").
#   usage: make-certs.sh CA_DIR CERTS_DIR NAME [NAME...]
# CA_DIR keeps the CA's key (made once, then reused, so devices keep trusting the same ca.crt): keep it
# off the broker. CERTS_DIR gets what the broker mounts at /mosquitto/certs: ca.crt, server.crt,
# server.key. NAMEs are the host names or IP addresses devices connect to; the first is the subject.
# With a CA of your own (or a public one) skip this: put its ca.crt and your server.crt/.key there.
# env: MOSQUITTO_UID, who gets server.key when run as root (default 1883: eclipse-mosquitto's broker user).
set -eu
[ $# -ge 3 ] || { sed -n '3s/^# *//p' "$0" >&2; exit 2; }
ca="$1" certs="$2"
shift 2
mkdir -p "$ca" "$certs"

if [ ! -s "$ca/ca.key" ]; then
  openssl req -x509 -newkey rsa:3072 -sha256 -days 3650 -nodes -keyout "$ca/ca.key" -out "$ca/ca.crt" \
    -subj "/CN=CivicPulse MQTT CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 600 "$ca/ca.key"
fi

names=""
for name in "$@"; do
  case "$name" in
    *[!0-9.]*) entry="DNS:$name" ;;  # anything but digits and dots is a host name (IPv6: write IP: yourself)
    *) entry="IP:$name" ;;
  esac
  names="${names:+$names,}$entry"
done

ext="$certs/.server.ext"
printf '%s\n' "subjectAltName=$names" "extendedKeyUsage=serverAuth" \
  "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE" > "$ext"
openssl req -newkey rsa:2048 -sha256 -nodes -keyout "$certs/server.key" -out "$certs/.server.csr" -subj "/CN=$1"
openssl x509 -req -in "$certs/.server.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
  -CAserial "$ca/ca.srl" -days 825 -sha256 -extfile "$ext" -out "$certs/server.crt"
rm -f "$ext" "$certs/.server.csr"
cp "$ca/ca.crt" "$certs/ca.crt"

# Mosquitto reads the key after dropping root, as user mosquitto: uid 1883 in the eclipse-mosquitto image.
chmod 600 "$certs/server.key"
if [ "$(id -u)" = 0 ]; then
  chown "${MOSQUITTO_UID:-1883}" "$certs/server.key"
else
  echo "make-certs.sh: as root, run: chown ${MOSQUITTO_UID:-1883} $certs/server.key (the broker must read it)" >&2
fi
echo "make-certs.sh: $certs/server.crt for $names; give devices $certs/ca.crt" >&2
