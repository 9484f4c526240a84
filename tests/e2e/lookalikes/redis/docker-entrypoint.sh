#!/bin/sh
# dockergen lab look-alike of the official redis image's entrypoint, written from its documented
# interface (not a copy): options or a *.conf file as first argument run redis-server with them;
# started as root, redis-server drops to the `redis` user after fixing the ownership of /data;
# a 0022 umask becomes 0077. The official binary is built with protected mode off: Debian's is
# not, so protected mode is turned off here unless the arguments or the config file set it.
set -e

case "$1" in
    -*|*.conf) set -- redis-server "$@" ;;
esac

if [ "$1" = redis-server ]; then
    protected=
    for arg; do
        case "$arg" in
            --protected-mode) protected=1 ;;
            *.conf) if [ -r "$arg" ] && grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$arg"; then protected=1; fi ;;
        esac
    done
    if [ -z "$protected" ]; then
        set -- "$@" --protected-mode no
    fi
    if [ "$(id -u)" = 0 ]; then
        find . \! -user redis -exec chown redis '{}' +
        exec gosu redis "$0" "$@"
    fi
    if [ "$(umask)" = 0022 ]; then
        umask 0077
    fi
fi

exec "$@"
