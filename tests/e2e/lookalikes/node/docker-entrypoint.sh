#!/bin/sh
# dockergen lab look-alike of the official node image's entrypoint: run `node` with the arguments
# when the first one is an option, not a command, or a plain (non-executable) file such as app.js;
# otherwise run the command as given.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v -- "$1" >/dev/null 2>&1 \
    || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
    set -- node "$@"
fi
exec "$@"
