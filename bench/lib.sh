# Shared by the benchmark scripts that time `ringfence run`; sourced, not run.

# bench_binary ARG: sets `repo` (the checkout) and `rf` (the ringfence binary, absolute: ARG,
# else $RINGFENCE, else target/release/ringfence), and stops with a message unless this is root
# and the binary exists.
bench_binary() {
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    rf=${1:-${RINGFENCE:-target/release/ringfence}}
    case $rf in /*) ;; *) rf=$repo/$rf ;; esac
    [ "$(id -u)" = 0 ] || { echo "ringfence run needs root; run this as root" >&2; exit 2; }
    [ -x "$rf" ] || {
        echo "no ringfence binary at $rf; build it with: cargo build --release -p ringfence" >&2
        exit 2
    }
}

# loop_fs DIR: a fresh journaled ext4 (2 GiB, 200,000 inodes) loop-mounted at DIR/fs, for
# file-heavy workloads (see files/README.md for why not the host's file system). The caller
# unmounts it (umount DIR/fs) when done.
loop_fs() {
    truncate -s 2G "$1/fs.img"
    mkfs.ext4 -q -F -N 200000 "$1/fs.img"
    mkdir -p "$1/fs"
    mount -o loop "$1/fs.img" "$1/fs"
    chmod 755 "$1/fs"
}

# git_tree DIR N: a git repository in DIR with N committed C files, 100 per directory.
git_tree() {
    mkdir -p "$1"
    (
        cd "$1"
        git init -q .
        python3 - "$2" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = f"src/m{i // 100:04d}"
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05d}.c", "w") as f:
        f.write(f"int f{i}(void) {{ return {i}; }}\n")
PY
        git add -A
        git -c user.name=bench -c user.email=bench@example.invalid commit -q -m tree
    )
}

# package_tarball FILE N: a gzip-less tar of N small files shaped like an unpacked package tree
# (100 per directory, 10 directories per package, sizes 200 B - 8 KiB, deterministic), the
# kind of archive `npm install` or `pip install` unpacks.
package_tarball() {
    local src
    src=$(mktemp -d)
    python3 - "$src/pkg" "$2" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
for i in range(n):
    d = f"{root}/p{i // 1000:03d}/d{(i // 100) % 10}"
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/m{i:05d}.js", "w") as f:
        f.write("x" * rng.randint(200, 8192))
PY
    tar -C "$src" -cf "$1" pkg
    rm -rf "$src"
}
