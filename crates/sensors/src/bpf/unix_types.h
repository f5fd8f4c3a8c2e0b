/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel types unix.bpf.c reads, beside vmlinux.h's. `___rf` is a CO-RE flavour suffix:
 * libbpf matches the name before `___` against the running kernel's BTF, so these do not clash
 * with vmlinux.h.
 */
#ifndef RINGFENCE_UNIX_TYPES_H
#define RINGFENCE_UNIX_TYPES_H

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* What bpf_cast_to_kern_ctx() turns a cgroup sock_addr context into. */
struct bpf_sock_addr_kern___rf {
	void *sk;
	void *uaddr;
	__u32 uaddrlen;
};

#pragma clang attribute pop

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
/* Replaces the address a cgroup unix hook sees (Linux 6.7+); `sun_path__sz` bytes at most 108. */
extern int bpf_sock_addr_set_sun_path(struct bpf_sock_addr_kern___rf *sa_kern, const __u8 *sun_path,
				      __u32 sun_path__sz) __ksym;

#endif /* RINGFENCE_UNIX_TYPES_H */
