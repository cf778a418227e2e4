#!/bin/sh
# A nightly logical backup of gopy's database (docker compose --profile backup), run in the
# postgres image: pg_dump in the custom format (compressed; restored with pg_restore), one file
# a night in /backups, the last BACKUP_KEEP_DAYS kept. PG* variables name the server.
set -eu
keep="${BACKUP_KEEP_DAYS:-14}"
while true; do
    now=$(date -u +%Y%m%dT%H%M%SZ)
    file="/backups/gopy-$now.dump"
    if pg_dump --format=custom --no-owner --file="$file.part"; then
        mv "$file.part" "$file"
        echo "backup written: $file"
    else
        rm -f "$file.part"
        echo "backup FAILED at $now" >&2
    fi
    find /backups -name 'gopy-*.dump' -mtime "+$keep" -delete
    # The first dump is taken at start; the next at BACKUP_AT_UTC (19:30 UTC is 02:30 in
    # Vietnam, when nobody is giving opinions).
    sleep "$(( (86400 + $(date -u -d "${BACKUP_AT_UTC:-19:30}" +%s) - $(date -u +%s)) % 86400 + 60 ))"
done
