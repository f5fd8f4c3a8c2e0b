/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which processes a sensor records: those whose cgroup v2 is the target cgroup or lies beneath
 * it. A run's leaf has no children (its processes cannot write to cgroupfs), so for `run` this is
 * the leaf itself; a job's scope is a whole subtree (the root: every process of the machine), so
 * containers and systemd units started during the job are inside it too.
 *
 * Set by user space before load: the target's id (its directory's inode) and its depth below the
 * hierarchy's root (0 for the root itself).
 */
#ifndef RINGFENCE_SCOPE_H
#define RINGFENCE_SCOPE_H

const volatile __u64 target_cgroup = 0;
const volatile __u32 target_level = 0;

static __always_inline bool cgroup_in_scope(struct cgroup *cgrp)
{
	if (!cgrp)
		return false;
	int level = BPF_CORE_READ(cgrp, level);
	__u32 want = target_level;
	if (level < 0 || (__u32)level < want)
		return false;
	/* The ancestor at the target's depth: the cgroup itself when it is at that depth. */
	struct cgroup *ancestor = NULL;
	if (want > 255 || bpf_core_read(&ancestor, sizeof(ancestor), &cgrp->ancestors[want]))
		return false;
	return ancestor && BPF_CORE_READ(ancestor, kn, id) == target_cgroup;
}

static __always_inline bool task_in_scope(struct task_struct *task)
{
	return cgroup_in_scope(BPF_CORE_READ(task, cgroups, dfl_cgrp));
}

static __always_inline bool current_in_scope(void)
{
	return task_in_scope(bpf_get_current_task_btf());
}

#endif
