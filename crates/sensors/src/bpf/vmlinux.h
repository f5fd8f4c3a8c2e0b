/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel types the sensors read (exec.bpf.c, files.bpf.c, net.bpf.c), and nothing else.
 *
 * Why a trimmed, hand-kept header instead of the full `bpftool btf dump` output: the full dump is
 * ~130k lines, specific to one kernel build and one architecture, and churns on every kernel
 * upgrade. Every struct below carries `preserve_access_index`, so clang records each field access
 * as a CO-RE relocation and libbpf rewrites the offsets against the running kernel's BTF at load
 * time. Only the names and types of the fields we touch have to match; layouts, padding and the
 * architecture (x86_64, aarch64) do not. Field types must keep the kernel's size, because
 * BPF_CORE_READ copies sizeof(field) bytes.
 *
 * To add a field: copy its declaration (name and type) from
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format c` into the struct here.
 */
#ifndef RINGFENCE_VMLINUX_H
#define RINGFENCE_VMLINUX_H
/* What a bpftool-generated vmlinux.h defines; bpf_tracing.h then names registers as the kernel
 * does (di, not the UAPI rdi). */
#define __VMLINUX_H__

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u32 __be32;
typedef __u16 __be16;
typedef __u32 __wsum;
typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;
typedef int pid_t;
typedef _Bool bool;
enum { false = 0, true = 1 };

/* UAPI constants (stable ABI), needed by the map definitions. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

enum {
	BPF_SOCK_OPS_TCP_CONNECT_CB = 3,
};

/*
 * Program contexts (UAPI, include/uapi/linux/bpf.h). The verifier rewrites accesses to these
 * itself, so they take no CO-RE relocation; only the leading fields net.bpf.c reads are
 * declared, at their fixed UAPI offsets.
 */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4;
	__u32 user_ip6[4];
	__u32 user_port;
	__u32 family;
	__u32 type;
	__u32 protocol;
};

struct bpf_sock_ops {
	__u32 op;
	union {
		__u32 args[4];
		__u32 reply;
		__u32 replylong[4];
	};
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

struct kernfs_node {
	u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
	int level;
	struct cgroup *ancestors[];
};

struct css_set {
	struct cgroup *dfl_cgrp;
};

struct qstr {
	union {
		struct {
			u32 hash;
			u32 len;
		};
		u64 hash_len;
	};
	const unsigned char *name;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
};

struct vfsmount {
	struct dentry *mnt_root;
};

/* fs/mount.h: not exported to modules, but present in BTF like every other kernel type. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

/* The registers a syscall was entered with; bpf_tracing.h's PT_REGS_PARM*_CORE_SYSCALL read the
 * argument registers (on aarch64 from its own pt_regs___arm64 and user_pt_regs). */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long orig_ax;
	unsigned long r10;
	unsigned long r8;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
};
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
};

/* CO-RE matches the ___flavour to the kernel's struct pt_regs. */
struct pt_regs___nr {
	int syscallno;
};
#endif

struct fs_struct {
	struct path root;
	struct path pwd;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

struct upid {
	int nr;
	void *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
};

struct linux_binprm {
	const char *filename;
};

struct task_struct {
	struct mm_struct *mm;
	int exit_code;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	struct fs_struct *fs;
	struct files_struct *files;
	struct signal_struct *signal;
	struct css_set *cgroups;
};

#pragma clang attribute pop

#endif /* RINGFENCE_VMLINUX_H */
