#!/usr/bin/env bash
# Job mode's fixed costs: `ringfence job start` (until the fence is up) and `job stop` (teardown,
# journal and reports), and what the fence adds to each new connection of a later step.
#
# Everything runs in a network namespace and a private mount namespace this script makes (a
# "job machine" joined by a veth pair to a "server" namespace running a plain HTTP server), so
# the real machine's network, trust store and /run are never touched. Needs root, the release
# binary (cargo build --release -p ringfence) and python3, curl.
#
# Usage: bench/job/run.sh [ROUNDS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
RF=${RF:-$PWD/target/release/ringfence}
ROUNDS=${1:-10}
[ -x "$RF" ] || { echo "build it first: cargo build --release -p ringfence" >&2; exit 1; }
job=rfbench-job-$$ srv=rfbench-srv-$$
cleanup() {
  ip netns pids "$srv" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$job" 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$job"; ip netns add "$srv"
ip link add rfbj$$ netns "$job" type veth peer name rfbs$$ netns "$srv"
ip -n "$job" addr add 192.0.2.1/24 dev rfbj$$; ip -n "$srv" addr add 192.0.2.2/24 dev rfbs$$
for ns in "$job" "$srv"; do ip -n "$ns" link set lo up; done
ip -n "$job" link set rfbj$$ up; ip -n "$srv" link set rfbs$$ up
ip -n "$job" route add default via 192.0.2.2
ip netns exec "$srv" python3 -m http.server 8080 --bind 192.0.2.2 >/dev/null 2>&1 &
sleep 1
load() { cut -d' ' -f1 /proc/loadavg; }
echo "ringfence $(git rev-parse --short HEAD 2>/dev/null), load $(load), $ROUNDS rounds"
ip netns exec "$job" unshare --mount --propagation private bash -s "$RF" "$ROUNDS" <<'INNER'
set -euo pipefail
RF=$1 ROUNDS=$2
work=$(mktemp -d)
mount --make-rprivate /
mount -t tmpfs tmpfs /run; mkdir -p /run/ringfence
# `ip netns exec` gave this shell a fresh /sys without the cgroup mount: the job's processes get a
# cgroup of their own, the fence's scope.
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
cg=/sys/fs/cgroup/rfbench-job-$$
mkdir "$cg"; echo $$ > "$cg/cgroup.procs"
trap 'echo $$ > /sys/fs/cgroup/cgroup.procs; rmdir "$cg"' EXIT
mount -t tmpfs tmpfs /usr/local/share
cp /etc/ssl/certs/ca-certificates.crt "$work/bundle.crt"
mount --bind "$work/bundle.crt" /etc/ssl/certs/ca-certificates.crt
cat > "$work/policy.yml" <<POLICY
version: 1
mode: audit
dns:
  upstream: ["192.0.2.2"]
POLICY
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
curls() { # µs per new connection + one HTTP request, 300 in a row from one client process
  python3 - <<'PY'
import socket, time
t0 = time.perf_counter()
for _ in range(300):
    s = socket.create_connection(("192.0.2.2", 8080)); s.sendall(b"GET / HTTP/1.0\r\nHost: 192.0.2.2\r\n\r\n")
    while s.recv(65536): pass
    s.close()
print(int((time.perf_counter() - t0) / 300 * 1e6))
PY
}
starts=() stops=() fenced=() direct=()
for i in $(seq "$ROUNDS"); do
  direct+=("$(curls)")
  : > "$work/state"
  t0=$(date +%s%N)
  GITHUB_STATE=$work/state "$RF" job start --policy "$work/policy.yml" --no-runner-preset --cgroup "$cg" --out "$work/run$i" \
    >/dev/null 2>"$work/start.err" || { cat "$work/start.err"; exit 1; }
  starts+=("$(ms "$t0")")
  fenced+=("$(curls)")
  token=$(sed -n 's/^ringfence_stop_token=//p' "$work/state" | tail -1)
  t0=$(date +%s%N)
  "$RF" job stop --token "$token" >/dev/null 2>&1
  stops+=("$(ms "$t0")")
done
echo "job start (fence up), median ms:        $(printf '%s\n' "${starts[@]}" | median)   all: ${starts[*]}"
echo "job stop (reports written), median ms:  $(printf '%s\n' "${stops[@]}" | median)   all: ${stops[*]}"
d=$(printf '%s\n' "${direct[@]}" | median); f=$(printf '%s\n' "${fenced[@]}" | median)
echo "new TCP connection + one HTTP request (one client, 300 in a row), µs per connection: direct $d, through the job fence (audit, recorded) $f, added $((f - d))"
rm -rf "$work"
INNER
echo "load after: $(load)"
