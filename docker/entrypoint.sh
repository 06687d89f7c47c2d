#!/bin/sh
# Runs before every container command. With MIGRATE_ON_START=1 (the web service) the database schema and
# the Agency group are brought up to date first; worker and beat start only after web is healthy.
set -eu

if [ "${MIGRATE_ON_START:-0}" = "1" ]; then
    python manage.py migrate --noinput
    python manage.py sync_agency_group
fi

exec "$@"
