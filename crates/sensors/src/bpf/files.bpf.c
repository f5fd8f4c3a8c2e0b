/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File sensor, kernel side. Two jobs:
 *
 * 1. Refusals: every file syscall of a process in the run's cgroup that the kernel refused with
 *    EACCES, EPERM or EROFS (what Landlock, read-only mounts and permissions return), or EBUSY or
 *    EISDIR (a pinned directory, a placeholder standing for a protected file), is written to
 *    a ring buffer with the caller's pid, the operation, the path as passed and the directory it
 *    was relative to. Record layout decoded by src/files/denied.rs; change both together.
 * 2. Membership: `run_pids` holds the thread-group ids of the run's processes, including ones
 *    that have exited, so user space can attribute a fanotify event to the run after its writer
 *    is gone (fanotify reports only a pid).
 *
 * Refusals are seen at syscall exit (see file_sys_exit), where the arguments and the return
 * value are both at hand, so nothing is kept between entry and exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#if !defined(__TARGET_ARCH_x86) && !defined(__TARGET_ARCH_arm64)
#error "the file sensor supports x86_64 and aarch64"
#endif

#define EPERM 1
#define EACCES 13
#define EBUSY 16
#define EISDIR 21
#define EROFS 30

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_ACCMODE 00000003
#define O_CREAT 00000100
#define O_TRUNC 00001000

#define OP_OPEN_READ 1
#define OP_OPEN_WRITE 2
#define OP_UNLINK 3
#define OP_RMDIR 4
#define OP_RENAME 5
#define OP_LINK 6
#define OP_MKDIR 7
#define OP_SYMLINK 8
#define OP_MKNOD 9
#define OP_TRUNCATE 10

#define FLAG_BASE_TRUNCATED 1
#define FLAG_PATH_UNREADABLE 2
#define FLAG_BASE_UNKNOWN 4

#define PATH_MAX 4096
#define NAME_MAX 255
#define PATH_MASK (PATH_MAX - 1)
/* Path components walked for the base directory; deeper ones are cut at the top and flagged. */
#define DIR_DEPTH 128

struct denied_event {
	__u32 pid;
	__u16 op;
	/* Positive errno. */
	__u16 err;
	__u16 flags;
	__u16 base_len;
	__u16 path_len;
	__u16 reserved;
	/* base (the directory a relative path starts from; empty for an absolute path) | path as
	 * passed; neither NUL-terminated, only the used bytes are sent. */
	char data[2 * PATH_MAX];
};

/* Too big for the BPF stack: one per CPU. */
struct scratch {
	struct denied_event ev;
	char path[PATH_MAX];
	/* Built backwards from its last component; NAME_MAX spare bytes keep the verifier's view of
	 * a masked offset plus one name inside the buffer. */
	char base[PATH_MAX + NAME_MAX + 1];
};

#include "scope.h"

/* Records the ring buffer had no room for; read by user space at stop. */
__u64 lost = 0;

/*
 * Refusals only (EACCES, EPERM, EROFS from the run): 1 MiB holds thousands of ordinary ones and
 * ~125 at the path cap. Allocated at load and mapped twice into ringfence, like the exec ring.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} denied SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/*
 * Thread-group ids of the run's processes. Never removed at exit (the fanotify events of a
 * process outlive it), only when the pid is reused outside the run or the process leaves the
 * cgroup; LRU so a fork bomb evicts the oldest instead of failing inserts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} run_pids SEC(".maps");

static __always_inline void set_member(__u32 tgid, bool member)
{
	__u8 one = 1;

	if (member)
		bpf_map_update_elem(&run_pids, &tgid, &one, BPF_ANY);
	else
		bpf_map_delete_elem(&run_pids, &tgid);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(track_fork, struct task_struct *parent, struct task_struct *child)
{
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	/* The child's own cgroup: clone3(CLONE_INTO_CGROUP) starts a process in the run from
	 * outside. A new process outside the run with a remembered pid is a reuse: forget it. */
	set_member(BPF_CORE_READ(child, tgid), task_in_scope(child));
	return 0;
}

SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(track_attach, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
	set_member(BPF_CORE_READ(task, tgid), cgroup_in_scope(dst));
	return 0;
}

static __always_inline bool refused(long ret)
{
	return ret == -EACCES || ret == -EPERM || ret == -EROFS || ret == -EBUSY || ret == -EISDIR;
}

static __always_inline struct vfsmount *vfsmount_of(struct mount *mnt)
{
	return (void *)mnt + bpf_core_field_offset(struct mount, mnt);
}

static __always_inline struct mount *mount_of(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/* State of one directory walk, shared by the steps of a bpf_loop. */
struct dir_walk {
	struct dentry *root;
	struct vfsmount *root_mnt;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	/* Where the path written so far starts in scratch.base; it grows towards 0. */
	__u32 pos;
	bool done;
};

/*
 * One step up from walk->dentry: prepend its name, or cross into the parent mount at a mount
 * root. Returns 1 to end the walk. The same walk as the exec sensor's cwd (exec.bpf.c), writing
 * into this program's scratch.
 */
static long dir_step(__u64 index, void *ctx)
{
	struct dir_walk *walk = ctx;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	struct dentry *dentry = walk->dentry;
	struct vfsmount *vfsmnt = walk->vfsmnt;
	struct mount *mnt = walk->mnt;

	if (dentry == walk->root && vfsmnt == walk->root_mnt) {
		walk->done = true;
		return 1;
	}
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == BPF_CORE_READ(vfsmnt, mnt_root) || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (up == mnt) {
			walk->done = true;
			return 1;
		}
		walk->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		walk->mnt = up;
		walk->vfsmnt = vfsmount_of(up);
		return 0;
	}
	__u32 len = BPF_CORE_READ(dentry, d_name.len);
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	__u32 pos = walk->pos;
	if (len > NAME_MAX || len + 1 >= pos)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&s->base[pos & PATH_MASK], len & NAME_MAX, name);
	pos -= 1;
	s->base[pos & PATH_MASK] = '/';
	walk->pos = pos;
	walk->dentry = parent;
	return 0;
}

/*
 * Writes the directory `dfd` names for the current task (its cwd for AT_FDCWD, else the open
 * directory), relative to the task's root, into the tail of scratch.base; returns where it
 * starts (PATH_MAX: unknown).
 */
static __always_inline __u32 read_base(int dfd, struct scratch *s, __u16 *flags)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct dir_walk walk = {
		.root = BPF_CORE_READ(fs, root.dentry),
		.root_mnt = BPF_CORE_READ(fs, root.mnt),
		.pos = PATH_MAX,
		.done = false,
	};
	if (dfd == AT_FDCWD) {
		walk.dentry = BPF_CORE_READ(fs, pwd.dentry);
		walk.vfsmnt = BPF_CORE_READ(fs, pwd.mnt);
	} else {
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
		struct file *file = NULL;
		if (dfd >= 0 && (unsigned int)dfd < BPF_CORE_READ(fdt, max_fds)) {
			struct file **fds = BPF_CORE_READ(fdt, fd);
			bpf_probe_read_kernel(&file, sizeof(file), &fds[dfd]);
		}
		if (!file) {
			*flags |= FLAG_BASE_UNKNOWN;
			return PATH_MAX;
		}
		walk.dentry = BPF_CORE_READ(file, f_path.dentry);
		walk.vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	}
	walk.mnt = mount_of(walk.vfsmnt);

	bpf_loop(DIR_DEPTH, dir_step, &walk, 0);
	if (!walk.done)
		*flags |= FLAG_BASE_TRUNCATED;
	__u32 pos = walk.pos;
	if (pos >= PATH_MAX) {
		pos = PATH_MAX - 1;
		s->base[pos & PATH_MASK] = '/';
	}
	return pos;
}

/* Writes one refusal to the ring buffer. `upath` is the caller's path argument (0: none, the
 * operation was on `dfd` itself). Called only for refused calls, so the cost is theirs. The path
 * is read after the syscall, so the kernel has already faulted the string in.
 *
 * A global function: the verifier checks it once, on its own, with every argument unknown,
 * instead of once per system call that reaches it (inlined into each case it was a 5,310
 * instruction program that took ~28 ms of every run's start to verify). */
__noinline int record(long ret, __u32 op, int dfd, __u64 upath_addr)
{
	const char *upath = (const char *)upath_addr;
	if (!current_in_scope())
		return 0;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	struct denied_event *ev = &s->ev;
	__u16 flags = 0;

	long path_len = 0;
	if (upath) {
		path_len = bpf_probe_read_user_str(s->path, PATH_MAX, upath);
		if (path_len > 0) {
			path_len -= 1;
		} else {
			path_len = 0;
			flags |= FLAG_PATH_UNREADABLE;
		}
	}
	__u32 base_pos = PATH_MAX;
	if (path_len == 0 || s->path[0] != '/')
		base_pos = read_base(dfd, s, &flags);
	__u64 base_len = (PATH_MAX - base_pos) & PATH_MASK;
	bpf_probe_read_kernel(ev->data, base_len, &s->base[base_pos & PATH_MASK]);
	__u64 plen = path_len & PATH_MASK;
	bpf_probe_read_kernel(&ev->data[base_len], plen, s->path);

	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->op = op;
	ev->err = -ret;
	ev->flags = flags;
	ev->base_len = base_len;
	ev->path_len = plen;
	ev->reserved = 0;

	__u64 size = offsetof(struct denied_event, data) + base_len + plen;
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	if (bpf_ringbuf_output(&denied, ev, size, 0))
		__sync_fetch_and_add(&lost, 1);
	return 0;
}

static __always_inline __u16 open_op(__u64 flags)
{
	if ((flags & O_ACCMODE) != 0 || (flags & (O_CREAT | O_TRUNC)) != 0)
		return OP_OPEN_WRITE;
	return OP_OPEN_READ;
}

#define ARG1(regs) PT_REGS_PARM1_CORE_SYSCALL(regs)
#define ARG2(regs) PT_REGS_PARM2_CORE_SYSCALL(regs)
#define ARG3(regs) PT_REGS_PARM3_CORE_SYSCALL(regs)
#define ARG4(regs) PT_REGS_PARM4_CORE_SYSCALL(regs)

/* Syscall numbers (stable ABI). The pre-*at calls exist only on x86_64. */
#if defined(__TARGET_ARCH_x86)
#define NR_OPEN 2
#define NR_TRUNCATE 76
#define NR_FTRUNCATE 77
#define NR_RENAME 82
#define NR_MKDIR 83
#define NR_RMDIR 84
#define NR_CREAT 85
#define NR_LINK 86
#define NR_UNLINK 87
#define NR_SYMLINK 88
#define NR_MKNOD 133
#define NR_OPENAT 257
#define NR_MKDIRAT 258
#define NR_MKNODAT 259
#define NR_UNLINKAT 263
#define NR_RENAMEAT 264
#define NR_LINKAT 265
#define NR_SYMLINKAT 266
#define NR_RENAMEAT2 316
#define NR_OPENAT2 437
#define syscall_nr(regs) BPF_CORE_READ(regs, orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_MKNODAT 33
#define NR_MKDIRAT 34
#define NR_UNLINKAT 35
#define NR_SYMLINKAT 36
#define NR_LINKAT 37
#define NR_RENAMEAT 38
#define NR_TRUNCATE 45
#define NR_FTRUNCATE 46
#define NR_OPENAT 56
#define NR_RENAMEAT2 276
#define NR_OPENAT2 437
#define syscall_nr(regs) BPF_CORE_READ((struct pt_regs___nr *)(regs), syscallno)
#endif

/*
 * Every syscall's exit, filtered on the return value first (two compares), so the cost for the
 * rest of the system is the tracepoint's own. A raw tracepoint rather than fexit on the
 * syscall functions or the per-syscall tracepoints: it needs neither BPF trampolines (refused
 * on some kernels) nor tracefs (not mounted on many hosts), and syscall tracepoints sit on this
 * same hook anyway; raw rather than BTF-typed for the reason exec.bpf.c gives. At exit the argument registers still hold the arguments (on aarch64 the
 * first one is in orig_x0, which the syscall macros read).
 */
SEC("raw_tp/sys_exit")
int BPF_PROG(file_sys_exit, struct pt_regs *regs, long ret)
{
	if (!refused(ret))
		return 0;
	/* What record() is called with: the operation, the directory a relative path starts from,
	 * and the path argument's address. */
	__u32 op;
	int dfd;
	__u64 upath;
#define CALL(o, d, p) \
	do { \
		op = (o); \
		dfd = (d); \
		upath = (p); \
	} while (0)
	switch (syscall_nr(regs)) {
	case NR_OPENAT:
		CALL(open_op(ARG3(regs)), ARG1(regs), ARG2(regs));
		break;
	case NR_OPENAT2: {
		/* struct open_how starts with its u64 flags. */
		__u64 flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags), (void *)ARG3(regs));
		CALL(open_op(flags), ARG1(regs), ARG2(regs));
		break;
	}
	case NR_UNLINKAT:
		CALL((ARG3(regs) & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, ARG1(regs), ARG2(regs));
		break;
	case NR_RENAMEAT:
	case NR_RENAMEAT2:
		CALL(OP_RENAME, ARG1(regs), ARG2(regs));
		break;
	case NR_LINKAT:
		CALL(OP_LINK, ARG3(regs), ARG4(regs));
		break;
	case NR_MKDIRAT:
		CALL(OP_MKDIR, ARG1(regs), ARG2(regs));
		break;
	case NR_SYMLINKAT:
		CALL(OP_SYMLINK, ARG2(regs), ARG3(regs));
		break;
	case NR_MKNODAT:
		CALL(OP_MKNOD, ARG1(regs), ARG2(regs));
		break;
	case NR_TRUNCATE:
		CALL(OP_TRUNCATE, AT_FDCWD, ARG1(regs));
		break;
	case NR_FTRUNCATE:
		CALL(OP_TRUNCATE, ARG1(regs), 0);
		break;
#if defined(__TARGET_ARCH_x86)
	case NR_OPEN:
		CALL(open_op(ARG2(regs)), AT_FDCWD, ARG1(regs));
		break;
	case NR_CREAT:
		CALL(OP_OPEN_WRITE, AT_FDCWD, ARG1(regs));
		break;
	case NR_UNLINK:
		CALL(OP_UNLINK, AT_FDCWD, ARG1(regs));
		break;
	case NR_RMDIR:
		CALL(OP_RMDIR, AT_FDCWD, ARG1(regs));
		break;
	case NR_RENAME:
		CALL(OP_RENAME, AT_FDCWD, ARG1(regs));
		break;
	case NR_LINK:
		CALL(OP_LINK, AT_FDCWD, ARG2(regs));
		break;
	case NR_MKDIR:
		CALL(OP_MKDIR, AT_FDCWD, ARG1(regs));
		break;
	case NR_SYMLINK:
		CALL(OP_SYMLINK, AT_FDCWD, ARG2(regs));
		break;
	case NR_MKNOD:
		CALL(OP_MKNOD, AT_FDCWD, ARG1(regs));
		break;
#endif
	default:
		return 0;
	}
#undef CALL
	return record(ret, op, dfd, upath);
}

/* GPL-compatible, as the kernel requires for bpf_probe_read_*; the rest of ringfence is Apache-2.0. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
