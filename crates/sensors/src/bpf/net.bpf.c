/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connect sensor: every connect() and every datagram sent to an address by the processes of one
 * cgroup v2, counted per (process, call, socket kind, destination) in the `attempts` map; and,
 * for each TCP connect, the connecting process keyed by the connection's addresses in
 * `tcp_clients`, for the proxy to name a client that has already exited. The key layouts below
 * are decoded by src/net/record.rs; change both together.
 *
 * The cgroup hooks only observe: every one of them returns 1 (allow). What is refused is refused
 * by nftables and the proxy, never here.
 *
 * Counting in the kernel keeps a flood cheap: a million datagrams to one address cost a million
 * map increments and one entry, never a million records for user space to read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef BPF_F_NO_PREALLOC
#define BPF_F_NO_PREALLOC (1U << 0)
#endif
#include <bpf/bpf_endian.h>

#define CALL_CONNECT 1
#define CALL_SENDMSG 2

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1

/* Distinct attempts kept per run; a scan past this counts in `lost`. */
#define ATTEMPTS_MAX 16384

struct attempt_key {
	__u32 tgid;
	__u16 call;
	__u16 family;
	__u32 type;
	__u32 protocol;
	/* Zero; was socket()'s errno. */
	__u32 reserved;
	/* Host byte order. */
	__u16 port;
	__u16 pad;
	/* IPv6, or IPv4 mapped (::ffff:a.b.c.d), network byte order. */
	__u32 addr[4];
};

struct attempt_value {
	__u64 count;
	/* CLOCK_MONOTONIC ns of the first one, to order the records. */
	__u64 first_ns;
};

struct tcp_client_key {
	/* Both IPv6 or IPv4 mapped, network byte order; ports in host byte order. */
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
};

/* Set by user space before load: the cgroup v2 id of the run (for socket(), the one hook
 * that is not attached to the cgroup itself). */
const volatile __u64 target_cgroup = 0;

/* Attempts that found the `attempts` map full; read by user space at stop. */
__u64 lost = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ATTEMPTS_MAX);
	/* Entries are made as attempts come: nothing to allocate and zero at every start for a
	 * table most runs leave nearly empty (the programs run in process context). */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct attempt_key);
	__type(value, struct attempt_value);
} attempts SEC(".maps");

/* Socket cookie → tgid, from connect() to the moment TCP has chosen the source port. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u32);
} connecting SEC(".maps");

/* (source, destination) → tgid of each TCP connect; the proxy looks up and deletes. LRU: a
 * connection to the agent's own local servers is never looked up and ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcp_client_key);
	__type(value, __u32);
} tcp_clients SEC(".maps");

static __always_inline void count(struct attempt_key *key)
{
	struct attempt_value fresh = { .count = 1, .first_ns = bpf_ktime_get_ns() };
	struct attempt_value *seen = bpf_map_lookup_elem(&attempts, key);

	if (seen) {
		__sync_fetch_and_add(&seen->count, 1);
		return;
	}
	if (bpf_map_update_elem(&attempts, key, &fresh, BPF_NOEXIST) == 0)
		return;
	/* Another CPU inserted it first, the map is full, or no memory was left for the entry. */
	seen = bpf_map_lookup_elem(&attempts, key);
	if (seen)
		__sync_fetch_and_add(&seen->count, 1);
	else
		__sync_fetch_and_add(&lost, 1);
}

static __always_inline void map_v4(__u32 addr[4], __u32 ip4)
{
	addr[0] = 0;
	addr[1] = 0;
	addr[2] = bpf_htonl(0xffff);
	addr[3] = ip4;
}

/* Each word loaded on its own: clang would otherwise merge loads through an offset context
 * pointer, which the verifier refuses. */
static __always_inline void copy_ip6(__u32 to[4], const __u32 from[4])
{
	__u32 w0 = from[0], w1 = from[1], w2 = from[2], w3 = from[3];

	barrier_var(w0);
	barrier_var(w1);
	barrier_var(w2);
	barrier_var(w3);
	to[0] = w0;
	to[1] = w1;
	to[2] = w2;
	to[3] = w3;
}

static __always_inline void observe(struct bpf_sock_addr *ctx, __u16 call, bool ip6)
{
	struct attempt_key key = {};

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.call = call;
	key.family = ctx->user_family;
	key.type = ctx->type;
	key.protocol = ctx->protocol;
	key.port = bpf_ntohs(ctx->user_port);
	/* A constant per program: the verifier lets connect4/sendmsg4 read only user_ip4, and the
	 * *6 ones only user_ip6. */
	if (ip6)
		copy_ip6(key.addr, ctx->user_ip6);
	else
		map_v4(key.addr, ctx->user_ip4);
	count(&key);

	if (call == CALL_CONNECT && ctx->type == SOCK_STREAM) {
		__u64 cookie = bpf_get_socket_cookie(ctx);
		__u32 tgid = key.tgid;

		bpf_map_update_elem(&connecting, &cookie, &tgid, BPF_ANY);
	}
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	observe(ctx, CALL_CONNECT, false);
	return 1;
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	observe(ctx, CALL_CONNECT, true);
	return 1;
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	observe(ctx, CALL_SENDMSG, false);
	return 1;
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	observe(ctx, CALL_SENDMSG, true);
	return 1;
}

/*
 * TCP has chosen the source port and is about to send the SYN. sock_ops may run outside the
 * connecting task, so the task comes from `connecting`, noted at connect() by the hook above.
 */
SEC("sockops")
int tcp_connect(struct bpf_sock_ops *ctx)
{
	struct tcp_client_key key = {};
	__u64 cookie;
	__u32 *tgid;

	if (ctx->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	tgid = bpf_map_lookup_elem(&connecting, &cookie);
	if (!tgid)
		return 1;
	if (ctx->family == AF_INET) {
		__u32 local = ctx->local_ip4, remote = ctx->remote_ip4;

		barrier_var(local);
		barrier_var(remote);
		map_v4(key.saddr, local);
		map_v4(key.daddr, remote);
	} else {
		copy_ip6(key.saddr, ctx->local_ip6);
		copy_ip6(key.daddr, ctx->remote_ip6);
	}
	key.sport = ctx->local_port;
	/* The port sits in the upper half on little-endian kernels: ntohl, not ntohs. */
	key.dport = bpf_ntohl(ctx->remote_port);
	bpf_map_update_elem(&tcp_clients, &key, tgid, BPF_ANY);
	bpf_map_delete_elem(&connecting, &cookie);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
