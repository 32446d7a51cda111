/* Process programs of the sensor (included by sensor.bpf.c after its common part; kinds 1-15): exec, fork and exit
 * of every process, with what the flight data recorder keeps of each (its arguments, working directory, and whether
 * its standard input or output is a terminal, a pipe, a file or a connection). */
#pragma once

static __always_inline __u8 stdio_kind(struct file *file)
{
	if (!file)
		return STDIO_NONE;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	umode_t mode = BPF_CORE_READ(inode, i_mode);
	switch (mode & S_IFMT) {
	case S_IFSOCK:
		return STDIO_SOCKET;
	case S_IFIFO:
		return STDIO_PIPE;
	case S_IFREG:
		return STDIO_FILE;
	case S_IFCHR: {
		__u32 major = BPF_CORE_READ(inode, i_rdev) >> 20;
		/* tty (4), console/ptmx (5), pseudo-terminal slaves (136-143) */
		return major == 4 || major == 5 || (major >= 136 && major <= 143) ? STDIO_TTY : STDIO_OTHER;
	}
	default:
		return STDIO_OTHER;
	}
}

/* The peer of an inet socket on fd 0 or 1 (a shell whose input or output is a connection is a reverse shell). */
static __always_inline void stdio_peer(struct exec_record *r, struct file *file, __u16 fd)
{
	if (!file || r->peer_family)
		return;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (port == 0)
		return;
	if (family == AF_INET) {
		__u32 addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(r->peer_addr, &addr, 4);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&r->peer_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return;
	}
	r->peer_family = family;
	r->peer_port = __builtin_bswap16(port);
	r->peer_fd = fd;
}

static __always_inline void read_stdio(struct exec_record *r, struct task_struct *task)
{
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
#pragma unroll
	for (int i = 0; i < 3; i++) {
		struct file *file = 0;
		if (i < max)
			bpf_probe_read_kernel(&file, sizeof(file), &fds[i]);
		r->stdio[i] = stdio_kind(file);
		if (i < 2 && r->stdio[i] == STDIO_SOCKET)
			stdio_peer(r, file, i);
	}
}

/* The working directory, walked from its dentry up to the task's root, crossing mounts: the components from the leaf
 * up, each ended by a NUL, at most CWD_DEPTH of them and CWD_MAX bytes. Returns the bytes written.
 * The length so far is kept in the scratch map's value, not in a register: the verifier then sees an unknown (masked)
 * offset in every iteration and prunes the paths, instead of following each length apart. */
static __always_inline __u32 read_cwd(struct scratch_buffer *s, __u32 base, struct task_struct *task, __u32 *flags)
{
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct dentry *dentry = BPF_CORE_READ(fs, pwd.dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(fs, pwd.mnt);
	struct dentry *root_dentry = BPF_CORE_READ(fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(fs, root.mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	int i;
	s->cursor = 0;
	for (i = 0; i < CWD_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (dentry != mnt_root || mnt == mnt_parent)
				break; /* the top of the mount tree (or a detached one) */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		__u32 len = *(volatile __u32 *)&s->cursor;
		if (len >= CWD_MAX - NAME_MAX_) {
			*flags |= EXEC_CWD_TRUNCATED;
			break;
		}
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		long n = bpf_probe_read_kernel_str(s->data + ((base + len) & SCRATCH_OFFSET_MASK), NAME_MAX_, name);
		if (n <= 0)
			break;
		s->cursor = len + n; /* the name and its NUL */
		dentry = parent;
	}
	if (i == CWD_DEPTH)
		*flags |= EXEC_CWD_TRUNCATED;
	return *(volatile __u32 *)&s->cursor & (CWD_MAX - 1);
}

static __always_inline __u32 read_str(__u8 *buf, __u32 offset, __u32 max, const void *src)
{
	long n = bpf_probe_read_kernel_str(buf + (offset & SCRATCH_OFFSET_MASK), max, src);
	return n > 0 ? n - 1 : 0; /* without the NUL */
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sensor_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (is_agent(tgid))
		return 0;
	struct scratch_buffer *s = scratch_area();
	if (!s) {
		count_loss();
		return 0;
	}
	struct exec_record *r = (struct exec_record *)s->data;
	__builtin_memset(r, 0, sizeof(*r));
	fill_header(&r->header, RECORD_EXEC, task);

	__u32 offset = sizeof(*r);
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	r->filename_len = read_str(s->data, offset, PATH_MAX_, filename);
	offset += r->filename_len;
	if (interp != filename) {
		r->flags |= EXEC_SCRIPT;
		r->interp_len = read_str(s->data, offset, PATH_MAX_, interp);
		offset += r->interp_len;
	}

	__u32 flags = r->flags;
	r->cwd_len = read_cwd(s, offset, task, &flags);
	r->flags = flags;
	offset += r->cwd_len;

	struct css_set *cgroups = BPF_CORE_READ(task, cgroups);
	const char *v2 = BPF_CORE_READ(cgroups, dfl_cgrp, kn, name);
	r->cgroup_len = read_str(s->data, offset, CGROUP_NAME_MAX, v2);
	offset += r->cgroup_len;
	int pids_id = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
	if (pids_id >= 0 && pids_id < CGROUP_SUBSYS_COUNT) {
		struct cgroup_subsys_state *css = 0;
		bpf_probe_read_kernel(&css, sizeof(css), &cgroups->subsys[pids_id & 0xff]);
		const char *pids = BPF_CORE_READ(css, cgroup, kn, name);
		if (css && pids) {
			r->pids_cgroup_len = read_str(s->data, offset, CGROUP_NAME_MAX, pids);
			offset += r->pids_cgroup_len;
		}
	}

	read_stdio(r, task);

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 argv_len = 0;
	if (!mm || arg_end <= arg_start) {
		r->flags |= EXEC_NO_MM;
	} else {
		argv_len = arg_end - arg_start;
		if (argv_len > ARGV_MAX - 1) {
			argv_len = ARGV_MAX - 1;
			r->flags |= EXEC_ARGV_TRUNCATED;
		}
		offset &= SCRATCH_OFFSET_MASK;
		if (bpf_probe_read_user(s->data + offset, argv_len & (ARGV_MAX - 1), (void *)arg_start) != 0) {
			argv_len = 0;
			r->flags |= EXEC_NO_MM;
		}
	}
	r->argv_len = argv_len;
	offset = (offset & SCRATCH_OFFSET_MASK) + (argv_len & (ARGV_MAX - 1));
	r->header.size = offset;
	emit(r, offset);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sensor_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_pid = BPF_CORE_READ(child, pid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	if (child_pid != child_tgid) /* a thread, not a process */
		return 0;
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	if (is_agent(parent_tgid))
		return 0;
	struct fork_record r = {};
	fill_header(&r.header, RECORD_FORK, child);
	r.header.size = sizeof(r);
	r.parent_tgid = parent_tgid;
	r.child_tgid = child_tgid;
	emit(&r, sizeof(r));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sensor_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (is_agent(tgid))
		return 0;
	/* Reported once per process: when its last thread goes (signal->live is already decremented here). */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct exit_record r = {};
	fill_header(&r.header, RECORD_EXIT, task);
	r.header.size = sizeof(r);
	r.header.pid = tgid;
	r.exit_code = BPF_CORE_READ(task, exit_code);
	emit(&r, sizeof(r));
	return 0;
}
