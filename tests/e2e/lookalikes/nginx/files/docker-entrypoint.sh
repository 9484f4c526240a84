#!/bin/sh
# dockergen lab look-alike of the official nginx image's entrypoint (documented interface):
# when the command is nginx, run the executable /docker-entrypoint.d/*.sh scripts in order and
# render /etc/nginx/templates/*.template with envsubst into /etc/nginx/conf.d (NGINX_ENVSUBST_*).
set -e

log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then echo "$@" >&2; fi
}

render_templates() {
    template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
    suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
    output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    [ -d "$template_dir" ] || return 0
    if [ ! -w "$output_dir" ]; then
        log "$0: ERROR: $template_dir exists, but $output_dir is not writable"
        return 0
    fi
    # only substitute variables that are defined in the environment
    defined_envs=$(printf '${%s} ' $(env | cut -d= -f1))
    find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
        relative_path="${template#"$template_dir/"}"
        output_path="$output_dir/${relative_path%"$suffix"}"
        mkdir -p "$(dirname "$output_path")"
        log "$0: Running envsubst on $template to $output_path"
        envsubst "$defined_envs" < "$template" > "$output_path"
    done
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    render_templates
    if [ -d /docker-entrypoint.d ]; then
        for f in $(find /docker-entrypoint.d/ -follow -type f -print | sort -V); do
            case "$f" in
                *.envsh) if [ -x "$f" ]; then log "$0: Sourcing $f"; . "$f"; fi ;;
                *.sh) if [ -x "$f" ]; then log "$0: Launching $f"; "$f"; else log "$0: Ignoring $f, not executable"; fi ;;
                *) log "$0: Ignoring $f" ;;
            esac
        done
    fi
    log "$0: Configuration complete; ready for start up"
fi

exec "$@"
