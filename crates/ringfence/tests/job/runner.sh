#!/bin/bash
# Plays what the GitHub Actions runner does for one job, for ringfence's job-mode tests.
#
# Run by the test inside the fake internet's host-side network namespace (the "job's machine")
# and inside a private mount namespace (`unshare --mount`), so nothing here touches the real
# machine's network, users, sudoers or trust store: /etc/passwd, /etc/group, /etc/sudoers.d, the
# system CA bundle and /usr/local/share are private copies bound over the real ones.
#
# The job: a runner user (uid 4242) with passwordless sudo; GITHUB_ENV / GITHUB_OUTPUT /
# GITHUB_STATE / GITHUB_STEP_SUMMARY files per step; the main step starts ringfence (directly,
# or through the action's main.js when ACTION=1); the steps in $STEPS run one by one as the runner
# user with the environment the runner would give them; then the post step stops ringfence.
# Each step's status is printed as `STEP <n> rc=<status>`, its output as `OUT <n> <line>`.
#
# Environment: RF (ringfence binary), WORK (scratch dir), CGROUP (the job's cgroup), STEPS (a file
# of steps, one shell command per line), START_ARGS (extra `job start` arguments), SECRET_VALUE.
set -u
uid=4242
gh=$WORK/gh
home=$WORK/home
ws=$WORK/workspace
mkdir -p "$gh" "$home" "$ws" "$WORK/etc/sudoers.d" "$WORK/share" "$WORK/temp"

# The job's processes are the test's cgroup's.
echo $$ > "$CGROUP/cgroup.procs"

# A runner has a default route; the fake host side gets one toward the fake internet (this
# namespace is the test's own).
ip route add default via 198.51.100.2 2>/dev/null

# Private copies of what a runner image has and ringfence changes.
mount --make-rprivate /
cp /etc/passwd /etc/group /etc/shadow "$WORK/etc/"
echo "rfrunner:x:$uid:$uid::$home:/bin/bash" >> "$WORK/etc/passwd"
echo "rfrunner:x:$uid:" >> "$WORK/etc/group"
mount --bind "$WORK/etc/passwd" /etc/passwd
mount --bind "$WORK/etc/group" /etc/group
echo "rfrunner:*:20000:0:99999:7:::" >> "$WORK/etc/shadow"
mount --bind "$WORK/etc/shadow" /etc/shadow
echo "rfrunner ALL=(ALL) NOPASSWD:ALL" > "$WORK/etc/sudoers.d/rfrunner"
chmod 0440 "$WORK/etc/sudoers.d/rfrunner"
mount --bind "$WORK/etc/sudoers.d" /etc/sudoers.d
cp /etc/ssl/certs/ca-certificates.crt "$WORK/etc/bundle.crt"
mount --bind "$WORK/etc/bundle.crt" /etc/ssl/certs/ca-certificates.crt
mount -t tmpfs tmpfs /usr/local/share
mount -t tmpfs -o mode=1777 tmpfs /tmp
# Kept before /run is replaced: the fake internet's namespace, to connect into the job from.
exec 9<"$INET_NS"

# A /run of the job's own, with a root container engine's socket the runner user may use (group
# docker on a real runner): it answers `engine` to whoever connects.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/ringfence && chmod 0700 /run/ringfence
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind("/run/docker.sock"); os.chown("/run/docker.sock", 0, int(sys.argv[1]))
os.chmod("/run/docker.sock", 0o660); s.listen(8); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"engine\n"); c.close()
' $uid > "$WORK/engine.out" 2>&1 &
engine=$!
for _ in $(seq 50); do grep -q ready "$WORK/engine.out" 2>/dev/null && break; sleep 0.1; done
chown -R $uid:$uid "$gh" "$home" "$ws" "$WORK/temp"
chmod 0755 "$WORK"

export GITHUB_WORKSPACE=$ws RUNNER_TEMP=$WORK/temp GITHUB_ACTIONS=true
# What every step's environment gets from earlier steps' GITHUB_ENV.
: > "$gh/env.all"

# file_command FILE PREFIX: a file command's `name=value` lines and `name<<DELIM` blocks (the two
# forms the runner reads), printed as PREFIXname=value lines.
file_command() {
    local key value delim line
    while IFS= read -r line; do
        if [[ $line == *"<<"* && $line != *=* ]]; then
            key=${line%%<<*}
            delim=${line#*<<}
            value=
            while IFS= read -r line && [ "$line" != "$delim" ]; do
                value=${value:+$value$'\n'}$line
            done
            echo "$2$key=$value"
        elif [[ $line == *=* ]]; then
            echo "$2$line"
        fi
    done < "$1"
}

n=0
# step NAME COMMAND: runs one step as the runner user, with fresh file-command files.
step() {
    n=$((n + 1))
    local name=$1
    shift
    : > "$gh/env.$n"; : > "$gh/output.$n"; : > "$gh/state.$n"; : > "$gh/summary.$n"
    chown $uid:$uid "$gh"/*."$n"
    local extra=()
    # The secret is in the ringfence step's `env:` only, as a workflow gives it.
    local secret=()
    [ "$name" = main ] && secret=(SECRET_VALUE="${SECRET_VALUE:-}")
    while IFS= read -r line; do
        [ -n "$line" ] && extra+=("$line")
    done < "$gh/env.all"
    local t0
    t0=$(date +%s%N)
    setpriv --reuid=$uid --regid=$uid --clear-groups --reset-env \
        env HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin USER=rfrunner \
        GITHUB_ENV="$gh/env.$n" GITHUB_OUTPUT="$gh/output.$n" GITHUB_STATE="$gh/state.$n" \
        GITHUB_STEP_SUMMARY="$gh/summary.$n" GITHUB_WORKSPACE="$ws" RUNNER_TEMP="$WORK/temp" \
        GITHUB_ACTIONS=true RF="$RF" CGROUP="$CGROUP" \
        "${secret[@]}" "${extra[@]}" "$@" \
        > "$gh/stdout.$n" 2> "$gh/stderr.$n"
    local rc=$?
    local ms=$((($(date +%s%N) - t0) / 1000000))
    file_command "$gh/env.$n" "" >> "$gh/env.all"
    # Outputs become STEP_<name>_<key> for later steps (what `steps.<id>.outputs` stands for).
    file_command "$gh/output.$n" "STEP_${name}_" >> "$gh/env.all"
    # Saved state is the post step's only.
    file_command "$gh/state.$n" "STATE_" >> "$gh/state.all"
    echo "STEP $name rc=$rc ms=$ms"
    sed "s/^/OUT $name /" "$gh/stdout.$n" "$gh/stderr.$n"
}

# A connection the runner opened before the fence (its own to GitHub, say): it must keep flowing.
# It upgrades to the fake web server's echo, then, once told, sends four bytes and reads them back.
setpriv --reuid=$uid --regid=$uid --clear-groups env -i PATH=/usr/bin:/bin /usr/bin/python3 -c '
import os, socket, sys, time
s = socket.create_connection(("198.51.100.10", 80), timeout=30)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: allowed.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
s.sendall(b"ping")
print("echo", s.recv(4).decode(), flush=True)
' "$WORK/go" > "$WORK/pre.out" 2>&1 &
pre=$!

step main bash -c "$MAIN"
while IFS= read -r command; do
    [ -z "$command" ] && continue
    name=${command%%:*}
    step "$name" bash -c "${command#*:}"
    # After a step named `inbound` (which leaves a listener on port 9999): a client on the
    # internet connects in and reads what the listener sends.
    if [ "$name" = inbound ]; then
        echo "INBOUND $(nsenter --net=/proc/$$/fd/9 python3 -c '
import socket
try:
    s = socket.create_connection(("198.51.100.1", 9999), timeout=3); print(s.recv(16))
except Exception as e:
    print("refused", type(e).__name__)
' 2>&1)"
    fi
done < "$STEPS"
touch "$WORK/go"
wait $pre
echo "PRE $(cat "$WORK/pre.out")"
cat "$gh/state.all" >> "$gh/env.all" 2>/dev/null
step post bash -c "$POST"
echo "SUMMARY $gh/summary.$n"
echo "ENGINE $(stat -c %a:%g /run/docker.sock)"
kill $engine 2>/dev/null
# Whatever the test did, the machine's namespace (the fake host) must not keep a fence.
if [ -e /run/ringfence/job/control.sock ]; then
    echo "LEFTOVER control socket"
fi
