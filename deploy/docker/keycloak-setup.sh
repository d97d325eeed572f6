#!/bin/sh
# docker-compose.yml's keycloak-setup (python image, standard library only): the realm file
# with this stack's dashboard URL and Mailpit as its SMTP server, then applied to the
# running Keycloak through its admin API by deploy/local/keycloak_admin.py, as
# deploy/local/keycloak.sh does at every start: the realm's settings, the client
# pulse-dashboard and its secret, the demo users and their passwords, the SMTP password.
# Every secret comes from the environment (PULSE_KEYCLOAK_*, PULSE_MAILPIT_SMTP_PASSWORD);
# none is written to a file or printed.
set -eu
umask 077
realm=/tmp/pulse-realm.json
python /opt/pulse/keycloak_admin.py render /opt/pulse/pulse-realm.json "$realm" \
  --dashboard-url "$PULSE_DASHBOARD_URL" --smtp-port 1025
# The realm file names the local Mailpit (127.0.0.1); here it is the container `mailpit`.
python - "$realm" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    realm = json.load(f)
realm["smtpServer"]["host"] = "mailpit"
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(realm, f)
PY
exec python /opt/pulse/keycloak_admin.py apply --url "$PULSE_KEYCLOAK_URL" "$realm"
