#!/bin/sh
# certbot deploy hook: copies a new certificate to /etc/octomesh/tls where the octomesh user
# (systemd) or the container's user 1000 (Compose) can read it, then tells the services.
# NOT RUN HERE (no certbot, no public name on the project's machines).
#
# Install once per host (as root), after getting the first certificate:
#   apt-get install certbot
#   certbot certonly --standalone -d eu-west-1.example.org      # port 80 free, or --webroot/--dns-*
#   install -m 0755 deploy/certbot/octomesh-deploy-hook.sh /etc/letsencrypt/renewal-hooks/deploy/octomesh.sh
#   RENEWED_LINEAGE=/etc/letsencrypt/live/eu-west-1.example.org /etc/letsencrypt/renewal-hooks/deploy/octomesh.sh
# certbot's timer renews about 30 days before expiry and runs the hook with RENEWED_LINEAGE set.
set -eu
: "${RENEWED_LINEAGE:?run by certbot (or set RENEWED_LINEAGE=/etc/letsencrypt/live/NAME)}"
DEST=/etc/octomesh/tls
# Who reads the key: group octomesh under systemd; uid/gid 1000 (the image's user "node") in Compose.
OWNER=${TLS_OWNER:-root:octomesh}

install -d -m 0750 -o "${OWNER%%:*}" -g "${OWNER##*:}" "$DEST"
# Written aside, then renamed into place: a reader never sees half a file, and the rename is
# what octomesh's folder watch reacts to (it reloads after the files settle for a second).
install -m 0640 -o "${OWNER%%:*}" -g "${OWNER##*:}" "$RENEWED_LINEAGE/fullchain.pem" "$DEST/.fullchain.pem.new"
install -m 0640 -o "${OWNER%%:*}" -g "${OWNER##*:}" "$RENEWED_LINEAGE/privkey.pem" "$DEST/.privkey.pem.new"
mv -f "$DEST/.fullchain.pem.new" "$DEST/fullchain.pem"
mv -f "$DEST/.privkey.pem.new" "$DEST/privkey.pem"

# The watch is enough; SIGHUP as well, for hosts where it is not (systemd units only).
if command -v systemctl >/dev/null 2>&1; then
  for unit in octomesh-region-node octomesh-geo-router; do
    systemctl is-active --quiet "$unit" && systemctl reload "$unit" || true
  done
fi
