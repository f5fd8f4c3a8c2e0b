/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix socket fence: the run's connects and addressed datagrams to pathname Unix sockets, on the
 * cgroup unix_connect / unix_sendmsg hooks (Linux 6.7+), counted per (process, call, verdict,
 * path). Key and value layouts are decoded by src/unix/record.rs; change both together.
 *
 * These hooks run before the kernel resolves the path, and checking a path string cannot tell
 * where symlinks lead. So block mode does not judge the path here: it moves it. Every absolute
 * path is rewritten to SOCKET_VIEW + path, where the fence's init built a tree that holds only
 * the run's own areas (bind mounts, symlinks not followed) and the sockets the policy allows. A
 * host socket outside them does not exist there (ENOENT); a symlink fails (ELOOP). What is left
 * to refuse here is what could climb out of the tree or not fit: a relative path, a `..`
 * component, a path too long once prefixed (EPERM).
 *
 * Audit mode changes nothing and counts every pathname call; user space sorts them out.
 * Abstract and unnamed addresses are left alone: the fence's network namespace has its own
 * abstract namespace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef BPF_F_NO_PREALLOC
#define BPF_F_NO_PREALLOC (1U << 0)
#endif
#include <bpf/bpf_core_read.h>
#include "unix_types.h"

#define CALL_CONNECT 1
#define CALL_SENDMSG 2

/* Block mode, moved into the socket view. */
#define VERDICT_VIEWED 1
/* Audit mode, let through as given. */
#define VERDICT_AUDITED 2
/* Block mode, refused: relative, `..`, too long. */
#define VERDICT_REFUSED 3

#define ATTEMPTS_MAX 4096
#define SUN_PATH_MAX 108
/* sizeof(sa_family_t): where sun_path starts in a sockaddr_un. */
#define SUN_PATH_OFFSET 2

/* The socket view's root inside the fence; sandbox's mounts.rs builds it (SOCKET_VIEW there). */
#define SOCKET_VIEW "/dev/shm/.rfu"
#define VIEW_LEN (sizeof(SOCKET_VIEW) - 1)
/* The longest path that still fits once prefixed. */
#define FITS (SUN_PATH_MAX - VIEW_LEN)

struct unix_key {
	__u32 tgid;
	__u16 call;
	__u16 verdict;
	/* Zero-padded; not NUL-terminated when all 108 bytes are used. */
	char path[SUN_PATH_MAX];
};

struct unix_value {
	__u64 count;
	/* CLOCK_MONOTONIC ns of the first one, to order the records. */
	__u64 first_ns;
	char comm[16];
	__u32 type;
	__u32 pad;
};

/* Set by user space before load. */
const volatile bool block = false;

/* Attempts that found `attempts` full; read by user space at stop. */
__u64 lost = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ATTEMPTS_MAX);
	/* Entries are made as attempts come: nothing to allocate and zero at every start for a
	 * table most runs leave nearly empty (the programs run in process context). */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct unix_key);
	__type(value, struct unix_value);
} attempts SEC(".maps");

/* Scratch, too big for the stack: the key, the path as given with zeros after it (so a check may
 * look three bytes ahead, and a length masked with 0x7f always fits), and the rewritten path. */
struct scratch {
	struct unix_key key;
	char path[128];
	char moved[SUN_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline int ends(char c)
{
	return (c == '/') | (c == 0);
}

struct dotdot_walk {
	struct scratch *s;
	int found;
};

/* One byte of the search for a `..` component, the one thing that climbs out of the socket
 * view (a path that starts with `..` is relative, refused on its own). A bpf_loop callback: the
 * verifier checks it once, not once per byte. */
static long dotdot_step(__u64 i, void *data)
{
	struct dotdot_walk *walk = data;
	const char *p;

	if (i >= SUN_PATH_MAX || !walk->s)
		return 1;
	p = walk->s->path;
	if (p[i] == 0)
		return 1;
	if (p[i] == '/' && p[i + 1] == '.' && p[i + 2] == '.' && ends(p[i + 3])) {
		walk->found = 1;
		return 1;
	}
	return 0;
}

static __always_inline void count(struct unix_key *key, __u32 type)
{
	struct unix_value *seen = bpf_map_lookup_elem(&attempts, key);
	struct unix_value fresh = { .count = 1, .type = type };

	if (seen) {
		__sync_fetch_and_add(&seen->count, 1);
		return;
	}
	fresh.first_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	if (bpf_map_update_elem(&attempts, key, &fresh, BPF_NOEXIST) == 0)
		return;
	/* Another CPU inserted it first, the map is full, or no memory was left for the entry. */
	seen = bpf_map_lookup_elem(&attempts, key);
	if (seen)
		__sync_fetch_and_add(&seen->count, 1);
	else
		__sync_fetch_and_add(&lost, 1);
}

/* 1 lets the call go on; 0 fails it with EPERM. */
static __always_inline int judge(struct bpf_sock_addr *ctx, __u16 call)
{
	struct bpf_sock_addr_kern___rf *sa = bpf_cast_to_kern_ctx(ctx);
	__u32 zero = 0, len;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	char *uaddr;
	struct dotdot_walk walk = {};
	long size;

	if (!s)
		return block ? 0 : 1;
	len = BPF_CORE_READ(sa, uaddrlen);
	uaddr = (char *)BPF_CORE_READ(sa, uaddr);
	/* Unnamed (autobind) or too short to hold a path. */
	if (len <= SUN_PATH_OFFSET || !uaddr)
		return 1;
	len -= SUN_PATH_OFFSET;
	/* The kernel never passes more (it checked the address against sizeof(struct sockaddr_un)). */
	if (len > SUN_PATH_MAX)
		return block ? 0 : 1;
	/* Zero-padded, so the key is the same for the same path and the rewritten one ends. */
	__builtin_memset(s->path, 0, sizeof(s->path));
	/* The path ends at its first NUL or after `len` bytes, where the kernel stops reading it. The
	 * kernel's copy lives in a sockaddr_storage: the whole sun_path is readable. */
	/* Masked so the verifier sees the bound, which the check above already gave. */
	size = bpf_probe_read_kernel_str(s->path, (len + 1) & 0x7f, uaddr + SUN_PATH_OFFSET);
	if (size < 0)
		return block ? 0 : 1;
	/* Abstract: a name in the fence's own network namespace. */
	if (s->path[0] == 0)
		return 1;
	size -= 1;
	__builtin_memcpy(s->key.path, s->path, SUN_PATH_MAX);
	s->key.tgid = bpf_get_current_pid_tgid() >> 32;
	s->key.call = call;
	if (!block) {
		s->key.verdict = VERDICT_AUDITED;
		count(&s->key, ctx->type);
		return 1;
	}
	walk.s = s;
	bpf_loop(SUN_PATH_MAX, dotdot_step, &walk, 0);
	if (s->path[0] != '/' || size > (long)FITS || walk.found) {
		s->key.verdict = VERDICT_REFUSED;
		count(&s->key, ctx->type);
		return 0;
	}
	__builtin_memcpy(s->moved, SOCKET_VIEW, VIEW_LEN);
	/* The path is zero-padded past its end, so the copy pads the rewritten one too. */
	__builtin_memcpy(s->moved + VIEW_LEN, s->path, FITS);
	if (bpf_sock_addr_set_sun_path(sa, (__u8 *)s->moved, SUN_PATH_MAX)) {
		s->key.verdict = VERDICT_REFUSED;
		count(&s->key, ctx->type);
		return 0;
	}
	s->key.verdict = VERDICT_VIEWED;
	count(&s->key, ctx->type);
	return 1;
}

SEC("cgroup/connect_unix")
int connect_unix(struct bpf_sock_addr *ctx)
{
	return judge(ctx, CALL_CONNECT);
}

SEC("cgroup/sendmsg_unix")
int sendmsg_unix(struct bpf_sock_addr *ctx)
{
	return judge(ctx, CALL_SENDMSG);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
