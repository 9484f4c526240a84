#!/usr/bin/env bash
# dockergen lab look-alike of the official mysql image's entrypoint, written from its documented
# interface (not a copy), on top of MariaDB:
#   - `mysqld` (or options only) as the command starts the server; anything else is exec'd as is;
#   - started as root: fixes ownership of the data dir, then drops to `mysql`;
#   - on first start (no <datadir>/mysql): initialises the data dir, sets the root password
#     (MYSQL_ROOT_PASSWORD, or MYSQL_ALLOW_EMPTY_PASSWORD, or MYSQL_RANDOM_ROOT_PASSWORD) for
#     root@localhost and root@MYSQL_ROOT_HOST (%), creates MYSQL_DATABASE and MYSQL_USER /
#     MYSQL_PASSWORD with all rights on it, then runs /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz;
#   - MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, MYSQL_ROOT_HOST can instead
#     come from a file named by <VAR>_FILE.
# Works as an arbitrary non-root user with a read-only root fs, given a writable data dir,
# /var/run/mysqld and /tmp (e.g. a volume and two tmpfs).
set -Eeo pipefail

log() { printf '%s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; }

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
            -'?'|--help|--print-defaults|-V|--version) return 0 ;;
        esac
    done
    return 1
}

# value of a server setting, as the server would see it with these arguments
server_setting() {
    "$@" --verbose --help 2>/dev/null | awk -v key="$SETTING" '$1 == key { print $2; exit }'
}

# quoting for a '...' SQL string literal and for a "..." option file value
sql_escape() { local s="${1//\\/\\\\}"; printf '%s' "${s//\'/\\\'}"; }
opt_escape() { local s="${1//\\/\\\\}"; printf '%s' "${s//\"/\\\"}"; }

client() { mariadb --protocol=socket --socket="$SOCKET" -uroot "$@"; }

run_init_files() {
    local f
    local -a db_arg=()
    if [ -n "$MYSQL_DATABASE" ]; then db_arg=(--database="$MYSQL_DATABASE"); fi
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "running $f"; "$f"
                else log "sourcing $f"; . "$f"; fi ;;
            *.sql) log "running $f"; client "${db_arg[@]}" < "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | client "${db_arg[@]}" ;;
            *.sql.xz) log "running $f"; xzcat "$f" | client "${db_arg[@]}" ;;
            *.sql.zst) log "running $f"; zstd -dc "$f" | client "${db_arg[@]}" ;;
            *) log "ignoring $f" ;;
        esac
    done
}

init_database() {
    file_env MYSQL_ROOT_PASSWORD
    file_env MYSQL_DATABASE
    file_env MYSQL_USER
    file_env MYSQL_PASSWORD
    file_env MYSQL_ROOT_HOST '%'

    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] \
        && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        log "error: Database is uninitialized and password option is not specified"
        log "    You need to specify one of the following as an environment variable:"
        log "    - MYSQL_ROOT_PASSWORD"
        log "    - MYSQL_ALLOW_EMPTY_PASSWORD"
        log "    - MYSQL_RANDOM_ROOT_PASSWORD"
        exit 1
    fi
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        MYSQL_ROOT_PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
        log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
    fi
    if [ "$MYSQL_USER" = root ]; then
        log 'error: MYSQL_USER="root", MYSQL_USER and MYSQL_PASSWORD are for configuring a regular user and cannot be used for the root user'
        exit 1
    fi

    log "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
        --skip-test-db --default-time-zone=SYSTEM --skip-log-bin "${@:2}" >/dev/null
    log "Database files initialized"

    log "Starting temporary server"
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --skip-log-bin \
        --wsrep_on=OFF --skip-slave-start &
    local pid=$! i
    for i in $(seq 60); do
        if mariadb-admin --socket="$SOCKET" -uroot --silent ping >/dev/null 2>&1; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then log "error: temporary server failed to start"; exit 1; fi
        sleep 0.5
    done
    log "Temporary server started"

    local rootpw sql
    rootpw="$(sql_escape "$MYSQL_ROOT_PASSWORD")"
    sql="SET @@SESSION.SQL_LOG_BIN=0;
DELETE FROM mysql.global_priv WHERE User NOT IN ('mariadb.sys', 'root') OR Host NOT IN ('localhost');
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$rootpw';"
    if [ "$MYSQL_ROOT_HOST" != localhost ]; then
        sql+="
CREATE USER 'root'@'$(sql_escape "$MYSQL_ROOT_HOST")' IDENTIFIED BY '$rootpw';
GRANT ALL ON *.* TO 'root'@'$(sql_escape "$MYSQL_ROOT_HOST")' WITH GRANT OPTION;"
    fi
    sql+="
DROP DATABASE IF EXISTS test;"
    if [ -n "$MYSQL_DATABASE" ]; then
        sql+="
CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE//\`/\`\`}\`;"
    fi
    if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
        local user
        user="$(sql_escape "$MYSQL_USER")"
        sql+="
CREATE USER '$user'@'%' IDENTIFIED BY '$(sql_escape "$MYSQL_PASSWORD")';"
        if [ -n "$MYSQL_DATABASE" ]; then
            sql+="
GRANT ALL ON \`${MYSQL_DATABASE//\`/\`\`}\`.* TO '$user'@'%';"
        fi
    fi
    sql+="
FLUSH PRIVILEGES;"
    client --database=mysql <<< "$sql"

    # from here on root needs its password: hand it over in an option file on a pipe
    client() {
        mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "$(opt_escape "$MYSQL_ROOT_PASSWORD")") \
            --protocol=socket --socket="$SOCKET" -uroot "$@"
    }
    run_init_files

    log "Stopping temporary server"
    kill "$pid"
    wait "$pid" || :
    log "MySQL init process done. Ready for start up."
}

if [ "${1:0:1}" = '-' ]; then
    set -- mysqld "$@"
fi

if { [ "$1" = mysqld ] || [ "$1" = mariadbd ]; } && ! wants_help "$@"; then
    DATADIR="$(SETTING=datadir server_setting "$@")"
    SOCKET="$(SETTING=socket server_setting "$@")"
    DATADIR="${DATADIR%/}"
    : "${DATADIR:=/var/lib/mysql}" "${SOCKET:=/var/run/mysqld/mysqld.sock}"
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$DATADIR"
        find "$DATADIR" \! -user mysql -exec chown mysql: '{}' +
        exec gosu mysql "${BASH_SOURCE[0]}" "$@"
    fi
    if [ ! -d "$DATADIR/mysql" ]; then
        init_database "$@"
    fi
    unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD
fi

exec "$@"
