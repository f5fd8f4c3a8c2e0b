/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec sensor: every exec, fork and exit of the processes in one cgroup v2, written to a ring
 * buffer in kernel order. The record layouts below are decoded by src/exec/record.rs; change
 * both together.
 *
 * Raw tracepoints on the sched tracepoints hand us the task pointers directly, so nothing depends
 * on the tracepoint's text format, only on the kernel types in vmlinux.h (read with CO-RE). Raw
 * rather than BTF-typed (tp_btf): the same hook and cost, but a tp_btf program makes libbpf parse
 * the whole kernel BTF at every load to find its attach point (~5 ms per object, every run);
 * the CO-RE relocations are resolved against src/core_btf.rs's cut-down copy instead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define EVENT_EXEC 1
#define EVENT_FORK 2
#define EVENT_EXIT 3

#define FLAG_ARGV_TRUNCATED 1
#define FLAG_ARGV_UNREADABLE 2
#define FLAG_CWD_TRUNCATED 4

/* Bytes of argv copied per exec; the tail of a longer argv is cut and flagged. */
#define ARGV_MAX 8192
/* PATH_MAX: exe and cwd are whole paths up to this length. */
#define PATH_MAX 4096
#define NAME_MAX 255
/* Path components walked for cwd; deeper directories are cut at the top and flagged. */
#define CWD_DEPTH 128
/*
 * Masks that never change a value already clamped below them, but let the verifier prove every
 * variable-offset access stays inside the buffer.
 */
#define OFF_MASK (2 * ARGV_MAX - 1)
#define PATH_MASK (PATH_MAX - 1)
#define DATA_SIZE (2 * ARGV_MAX + PATH_MAX)

/* From include/linux/sched/signal.h; unchanged since it was introduced. */
#define SIGNAL_GROUP_EXIT 0x00000004

struct exec_event {
	__u32 kind;
	__u32 pid;
	__u32 vpid;
	__u32 ppid;
	__u32 uid;
	__u16 argv_len;
	__u16 exe_len;
	__u16 cwd_len;
	__u16 flags;
	/* argv (NUL-separated) | exe | cwd, none NUL-terminated; only the used bytes are sent. */
	char data[DATA_SIZE];
};

struct fork_event {
	__u32 kind;
	__u32 pid;
	__u32 ppid;
};

struct exit_event {
	__u32 kind;
	__u32 pid;
	/* Raw wait(2) status: exit code in bits 8..15, or the signal in bits 0..6. */
	__u32 status;
};

/* An exec record is too big for the BPF stack, so it is assembled here, one per CPU. */
struct scratch {
	struct exec_event ev;
	/* cwd is built backwards from its last component; the extra NAME_MAX bytes keep the
	 * verifier's view of the masked offset plus one name inside the buffer. */
	char cwd[PATH_MAX + NAME_MAX + 1];
};

#include "scope.h"

/* Records the ring buffer had no room for. Read by user space at stop; never silently lost. */
__u64 lost = 0;

/*
 * 4 MiB: thousands of ordinary execs (a compiler's is 1-3 KiB), ~340 at the argv cap. User space
 * reads it every few ms, so it only has to outlast the reader being off the CPU. Every page is
 * allocated at load and mapped twice into ringfence (RSS counts both), so this is most of a
 * fenced run's memory: 32 MiB here cost 64 MiB of RSS for runs that used a few KiB of it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline void count_lost(void)
{
	__sync_fetch_and_add(&lost, 1);
}

/* The pid as seen in the task's innermost PID namespace. */
static __always_inline __u32 ns_pid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	int nr = 0;

	/* numbers[] is a flexible array; index it by hand from its relocated offset. */
	void *upid = (void *)pid + bpf_core_field_offset(struct pid, numbers) +
		     (__u64)level * bpf_core_type_size(struct upid);
	bpf_probe_read_kernel(&nr, sizeof(nr), upid + bpf_core_field_offset(struct upid, nr));
	return nr;
}

static __always_inline struct vfsmount *vfsmount_of(struct mount *mnt)
{
	return (void *)mnt + bpf_core_field_offset(struct mount, mnt);
}

static __always_inline struct mount *mount_of(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/* State of one cwd walk, shared by the steps of a bpf_loop. */
struct cwd_walk {
	struct dentry *root;
	struct vfsmount *root_mnt;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	/* Where the path written so far starts in scratch.cwd; it grows towards 0. */
	__u32 pos;
	bool done;
};

/*
 * One step up from walk->dentry: prepend its name, or cross into the parent mount at a mount
 * root. Returns 1 to end the walk. A callback of bpf_loop, so the verifier checks one step, not
 * CWD_DEPTH unrolled ones (an open-coded loop of its branches exceeds the verifier's limit).
 */
static long cwd_step(__u64 index, void *ctx)
{
	struct cwd_walk *walk = ctx;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	/* Locals, not walk->field, inside BPF_CORE_READ: it would relocate cwd_walk, a type the
	 * kernel does not have. */
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
			/* The namespace's root mount: the task's root is outside reach. */
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
	/* Keep pos >= 1 so the result is never a full PATH_MAX (see the copy in handle_exec). */
	if (len > NAME_MAX || len + 1 >= pos)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&s->cwd[pos & PATH_MASK], len & NAME_MAX, name);
	pos -= 1;
	s->cwd[pos & PATH_MASK] = '/';
	walk->pos = pos;
	walk->dentry = parent;
	return 0;
}

/*
 * Writes the task's cwd, relative to its own root (as /proc/PID/cwd would show it inside a
 * chroot or pivot_root), into the tail of scratch.cwd and returns where it starts. Like d_path,
 * it climbs d_parent and crosses into the parent mount at each mount root. Limits: a cwd deeper
 * than CWD_DEPTH components or longer than PATH_MAX is cut at the top (FLAG_CWD_TRUNCATED);
 * a deleted cwd shows its last name without d_path's " (deleted)"; names are read without the
 * rename lock, so a concurrent rename of an ancestor can show either name.
 */
static __always_inline __u32 read_cwd(struct task_struct *task, struct scratch *s, __u16 *flags)
{
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct cwd_walk walk = {
		.root = BPF_CORE_READ(fs, root.dentry),
		.root_mnt = BPF_CORE_READ(fs, root.mnt),
		.dentry = BPF_CORE_READ(fs, pwd.dentry),
		.vfsmnt = BPF_CORE_READ(fs, pwd.mnt),
		.pos = PATH_MAX,
		.done = false,
	};
	walk.mnt = mount_of(walk.vfsmnt);

	bpf_loop(CWD_DEPTH, cwd_step, &walk, 0);
	if (!walk.done)
		*flags |= FLAG_CWD_TRUNCATED;
	__u32 pos = walk.pos;
	if (pos >= PATH_MAX) {
		pos = PATH_MAX - 1;
		s->cwd[pos & PATH_MASK] = '/';
	}
	return pos;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!current_in_scope())
		return 0;

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s) {
		count_lost();
		return 0;
	}
	struct exec_event *ev = &s->ev;
	__u16 flags = 0;

	ev->kind = EVENT_EXEC;
	ev->pid = BPF_CORE_READ(task, tgid);
	ev->vpid = ns_pid(task);
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = (__u32)bpf_get_current_uid_gid();

	/* The new image's argv, as the kernel just laid it out on the new stack. */
	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 argv_len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (argv_len > ARGV_MAX) {
		argv_len = ARGV_MAX;
		flags |= FLAG_ARGV_TRUNCATED;
	}
	argv_len &= OFF_MASK;
	if (bpf_probe_read_user(ev->data, argv_len, (void *)arg_start)) {
		argv_len = 0;
		flags |= FLAG_ARGV_UNREADABLE;
	}

	__u64 off = argv_len & OFF_MASK;
	long exe_len = bpf_probe_read_kernel_str(&ev->data[off], PATH_MAX, BPF_CORE_READ(bprm, filename));
	exe_len = exe_len > 0 ? exe_len - 1 : 0;

	__u32 cwd_pos = read_cwd(task, s, &flags);
	__u64 cwd_len = (PATH_MAX - cwd_pos) & PATH_MASK;
	off = (off + (exe_len & PATH_MASK)) & OFF_MASK;
	bpf_probe_read_kernel(&ev->data[off], cwd_len, &s->cwd[cwd_pos & PATH_MASK]);

	ev->argv_len = argv_len;
	ev->exe_len = exe_len;
	ev->cwd_len = cwd_len;
	ev->flags = flags;

	__u64 size = offsetof(struct exec_event, data) + off + cwd_len;
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	if (bpf_ringbuf_output(&events, ev, size, 0))
		count_lost();
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	/* A new thread is not a new process. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	/* The child's own cgroup, not the caller's: clone3(CLONE_INTO_CGROUP) starts a process in
	 * the run's cgroup from outside it. */
	if (!task_in_scope(child))
		return 0;

	struct fork_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost();
		return 0;
	}
	ev->kind = EVENT_FORK;
	ev->pid = BPF_CORE_READ(child, tgid);
	ev->ppid = BPF_CORE_READ(child, real_parent, tgid);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	if (!current_in_scope())
		return 0;
	/* Only the last thread out ends the process. Two threads exiting at once may both see
	 * zero here; user space drops the second record. */
	struct signal_struct *signal = BPF_CORE_READ(task, signal);
	if (BPF_CORE_READ(signal, live.counter) != 0)
		return 0;

	/* What wait(2) reports to the parent (kernel/exit.c, wait_task_zombie). */
	__u32 status;
	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT)
		status = BPF_CORE_READ(signal, group_exit_code);
	else
		status = BPF_CORE_READ(task, group_leader, exit_code);

	struct exit_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost();
		return 0;
	}
	ev->kind = EVENT_EXIT;
	ev->pid = BPF_CORE_READ(task, tgid);
	ev->status = status;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* GPL-compatible, as the kernel requires for bpf_probe_read_*; the rest of ringfence is Apache-2.0. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
