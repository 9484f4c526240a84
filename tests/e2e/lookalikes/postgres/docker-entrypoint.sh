#!/usr/bin/env bash
# dockergen lab look-alike of the official postgres image's entrypoint, written from its
# documented interface (not a copy):
#   - `postgres` (or options only) as the command starts the server; anything else is exec'd as is;
#   - started as root: fixes ownership of $PGDATA and /var/run/postgresql, then drops to `postgres`;
#   - on first start (no $PGDATA/PG_VERSION): initdb with POSTGRES_USER (postgres) and
#     POSTGRES_PASSWORD, POSTGRES_DB (= POSTGRES_USER) is created, POSTGRES_INITDB_ARGS are passed,
#     remote hosts authenticate with POSTGRES_HOST_AUTH_METHOD (scram-sha-256), and
#     /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|*.sql.zst run once;
#   - every POSTGRES_* variable above can instead come from a file named by <VAR>_FILE.
# Works as an arbitrary non-root user with a read-only root fs, given writable $PGDATA and
# /var/run/postgresql (e.g. a volume and a tmpfs).
set -Eeo pipefail

log() { printf '%s\n' "$*" >&2; }

# file_env VAR [DEFAULT]: VAR from $VAR or from the file named by $VAR_FILE (not both)
file_env() {
    local var="$1" def="${2:-}" fvar="${1}_FILE" val
    if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
        log "error: both $var and $fvar are set (but are exclusive)"
        exit 1
    fi
    val="$def"
    if [ -n "${!var:-}" ]; then
        val="${!var}"
    elif [ -n "${!fvar:-}" ]; then
        val="$(< "${!fvar}")"
    fi
    export "$var"="$val"
    unset "$fvar"
}

wants_help() {
    local arg
    for arg; do
        case "$arg" in
            -'?'|--help|--describe-config|-V|--version) return 0 ;;
        esac
    done
    return 1
}

create_dirs() {
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" 2>/dev/null || :
    mkdir -p /var/run/postgresql 2>/dev/null || :
    chmod 03775 /var/run/postgresql 2>/dev/null || :
    if [ "$(id -u)" = 0 ]; then
        find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    fi
}

# initdb needs the current uid in the passwd database: fake one with nss_wrapper if it is missing
with_passwd_entry() {
    local uid gid
    uid="$(id -u)"
    gid="$(id -g)"
    if getent passwd "$uid" >/dev/null; then
        "$@"
        return
    fi
    local lib tmp
    lib="$(find /usr/lib -name libnss_wrapper.so -print -quit)"
    tmp="$(mktemp -d)"
    printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" > "$tmp/passwd"
    printf 'postgres:x:%s:\n' "$gid" > "$tmp/group"
    LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD="$tmp/passwd" NSS_WRAPPER_GROUP="$tmp/group" "$@"
    rm -rf "$tmp"
}

run_initdb() {
    # POSTGRES_INITDB_ARGS is split on whitespace on purpose, as documented
    # shellcheck disable=SC2086
    if [ -n "$POSTGRES_PASSWORD" ]; then
        initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    else
        initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
    fi
}

psql_init() {
    PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
        --username "$POSTGRES_USER" "$@"
}

run_init_files() {
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "$0: running $f"; "$f"
                else log "$0: sourcing $f"; . "$f"; fi ;;
            *.sql) log "$0: running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) log "$0: running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB" ;;
            *.sql.xz) log "$0: running $f"; xzcat "$f" | psql_init --dbname "$POSTGRES_DB" ;;
            *.sql.zst) log "$0: running $f"; zstd -dc "$f" | psql_init --dbname "$POSTGRES_DB" ;;
            *) log "$0: ignoring $f" ;;
        esac
    done
}

init_database() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"

    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        log "Error: Database is uninitialized and superuser password is not specified."
        log "       You must specify POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty"
        log "       value for the superuser, or set POSTGRES_HOST_AUTH_METHOD=trust."
        exit 1
    fi

    with_passwd_entry run_initdb

    # remote hosts: password (scram-sha-256 unless told otherwise); local socket stays trust
    local method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"

    # temporary server on the unix socket only, to create the database and run init files
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    if [ "$POSTGRES_DB" != postgres ]; then
        psql_init --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
    fi
    run_init_files
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
    log "PostgreSQL init process complete; ready for start up."
}

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ] && ! wants_help "$@"; then
    create_dirs
    if [ "$(id -u)" = 0 ]; then
        exec gosu postgres "${BASH_SOURCE[0]}" "$@"
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        init_database
    else
        log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
    fi
    unset POSTGRES_PASSWORD
fi

exec "$@"
