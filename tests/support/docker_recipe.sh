#!/usr/bin/env bash
# The Dockerfile's recipe, run without a Docker engine (none on this machine):
# build the wheels, install them into a fresh venv with no index, then run the plugin as a
# non-root user with an unwritable HOME, from another directory, writing only under /tmp.
# Usage: tests/support/docker_recipe.sh WORKDIR   (needs root to create the user, like the image build)
# PYTHON builds the wheels; RUNTIME_PYTHON (world-readable, like the image's /usr/local one)
# runs them: a pyenv interpreter under /root cannot be executed by another user.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$1
python=${PYTHON:-python3}
runtime_python=${RUNTIME_PYTHON:-/usr/bin/python3}
mkdir -p "$work"
chmod 755 "$work"

# stage 1 (build): wheels for the package and every dependency
"$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$work/wheels" -c "$repo/constraints.txt" "$repo[all]"
# stage 2 (runtime): a fresh venv installed from those wheels only
"$runtime_python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$work/wheels" \
    -c "$repo/constraints.txt" "argo-artifact-driver[all]"
chmod -R a+rX "$work/venv"

id plugin >/dev/null 2>&1 || useradd --uid 8737 --user-group --no-create-home --home-dir /nonexistent plugin
# setpriv execs the command as uid 8737 (runuser would stay in between and not pass SIGTERM on)
run_as_plugin() { setpriv --reuid="$(id -u plugin)" --regid="$(id -g plugin)" --clear-groups -- env -i PATH=/usr/bin:/bin HOME=/nonexistent "$@"; }

# the image's policy (Dockerfile: COPY examples/policies/workflow-pod.yaml, ENV ..._POLICY):
# valid, and it keeps scheme file off
mkdir -p "$work/etc"
cp "$repo/examples/policies/workflow-pod.yaml" "$work/etc/policy.yaml"
chmod -R a+rX "$work/etc"
run_as_plugin "$work/venv/bin/argo-artifacts" policy check "$work/etc/policy.yaml"
if run_as_plugin env ARGO_ARTIFACT_DRIVER_POLICY="$work/etc/policy.yaml" "$work/venv/bin/argo-artifacts" check \
    "scheme: file
root: /tmp" 2>"$work/check.err"; then echo "the image's policy allows scheme file"; exit 1; fi
grep -q "refused by policy" "$work/check.err"

tmp=$(mktemp -d /tmp/recipe-XXXXXX)
chmod 1777 "$tmp"
sock=$tmp/artifact-plugins/recipe/socket
# an operator's policy for a shared volume, as a derived image would carry it
printf 'schemes: [file]\nfile: {roots: ["%s"]}\n' "$tmp/store" > "$work/etc/volume-policy.yaml"
chmod a+r "$work/etc/volume-policy.yaml"
cd /
# a plain command, not the function: backgrounding a function forks a subshell, and $!
# would be that subshell rather than the server
setpriv --reuid="$(id -u plugin)" --regid="$(id -g plugin)" --clear-groups -- \
    env -i PATH=/usr/bin:/bin HOME=/nonexistent ARGO_ARTIFACT_DRIVER_POLICY="$work/etc/volume-policy.yaml" \
    "$work/venv/bin/argo-artifact-driver" "$sock" > "$work/server.log" 2>&1 &
server=$!
# whatever fails below, never leave the server running (it would outlive the test)
trap 'kill -KILL "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$work/server.log"; exit 1; }
# connectable by another user (Argo's executor): the mode comes from the umask at bind
mode=$(stat -c '%a' "$sock")
[ "$mode" = 666 ] || { echo "socket mode $mode, not 666"; exit 1; }

config="scheme: file
root: $tmp/store"
run_as_plugin sh -c "echo recipe-payload > $tmp/in.txt"
run_as_plugin "$work/venv/bin/argo-artifacts" call "$sock" save --config "$config" --key wf/out.txt --path "$tmp/in.txt"
run_as_plugin "$work/venv/bin/argo-artifacts" call "$sock" load --config "$config" --key wf/out.txt --path "$tmp/loaded/out.txt"
cmp "$tmp/in.txt" "$tmp/loaded/out.txt"
owner=$(stat -c '%U' "$tmp/store/wf/out.txt")
[ "$owner" = plugin ] || { echo "stored file is owned by $owner, not the image's user"; exit 1; }
kill -TERM "$server"
status=0
wait "$server" || status=$?
trap - EXIT
[ "$status" = 0 ] || { echo "SIGTERM: the server exited with $status"; cat "$work/server.log"; exit 1; }
rm -rf "$tmp"
echo "recipe ok"
