/* io_uring attempts on protected files (included at the end of tamper.bpf.h; the same tamper_record, kind 48, with
 * syscall TAMPER_SYS_URING_*). A request submitted through io_uring does not go through the syscalls tamper.bpf.h
 * hooks: the inode's attributes still refuse it, and these programs say who tried and what the kernel answered.
 *
 * Attach points: the BTF tracepoints io_uring:io_uring_submit_req (after a request's prep, in the submitting task) and
 * io_uring:io_uring_complete (when its completion is posted, in whatever task posts it: the submitter, an io-wq worker
 * or task work). Both return after one comparison for every operation that changes no file (reads, network, polls:
 * the bulk of io_uring's traffic). Linux 6.0 or later (the tracepoints' present form); the agent leaves them out where
 * the kernel lacks them or refuses them (agent/Sensor/KernelSensor.cs).
 *
 * The process is the request's submitting task (req->tctx->task; req->task before 6.13), never the task the
 * completion runs in: a ring shared with another process (fork, fd passing) is attributed to whoever submitted.
 *
 * - fd operations (WRITE, WRITEV, WRITE_FIXED, WRITEV_FIXED, FTRUNCATE, FALLOCATE, SPLICE into the file): matched at
 *   completion by the request's file (req->file: also a registered, "fixed" file) in protected_inodes.
 * - path operations (OPENAT/OPENAT2 for writing, RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT): their paths are the
 *   kernel's copies (struct filename) at submission, freed before completion; so at submission the paths are read,
 *   with the directories relative ones are relative to, and the name filter is consulted as for the syscalls; the
 *   prepared record waits in uring_pending (keyed by the request) for the result. At completion: a successful open
 *   is matched by the fd it installed in the submitter's table; a path candidate leaves the kernel when refused or
 *   when its names made it one, as for the syscalls.
 *
 * Not seen: a request that succeeded with IOSQE_CQE_SKIP_SUCCESS, or whose completion overflowed a full CQ ring (no
 * io_uring_complete then; a refused one always posts its completion). */
#pragma once

#define URING_OP_WRITEV 2
#define URING_OP_WRITE_FIXED 5
#define URING_OP_FALLOCATE 17
#define URING_OP_OPENAT 18
#define URING_OP_WRITE 23
#define URING_OP_OPENAT2 28
#define URING_OP_SPLICE 30
#define URING_OP_RENAMEAT 35
#define URING_OP_UNLINKAT 36
#define URING_OP_MKDIRAT 37
#define URING_OP_SYMLINKAT 38
#define URING_OP_LINKAT 39
#define URING_OP_FTRUNCATE 55
#define URING_OP_WRITEV_FIXED 61

/* What a path operation prepared at submission: the record (its result field holds URING_PENDING_* until the result
 * replaces it). */
#define URING_PENDING_HIT 0x1   /* a candidate whatever the result (its names, or its directory) */
#define URING_PENDING_OPEN 0x2  /* an open into the fd table: a successful one is matched by the fd */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* a request whose completion never comes (CQE skipped) ages out */
	__uint(max_entries, 256);
	__type(key, __u64);                  /* the request (struct io_kiocb *) */
	__type(value, struct tamper_record);
} uring_pending SEC(".maps");

/* Before 6.13 the request named its task itself. */
struct io_kiocb___task {
	struct task_struct *task;
} __attribute__((preserve_access_index));

/* The task that submitted req. */
static __always_inline struct task_struct *uring_submitter(struct io_kiocb *req)
{
	if (bpf_core_field_exists(((struct io_kiocb___task *)req)->task))
		return BPF_CORE_READ((struct io_kiocb___task *)req, task);
	return BPF_CORE_READ(req, tctx, task);
}

/* The file open as fd in task's table (read through probes: task is not the current one). */
static __always_inline struct file *uring_fd_file(struct task_struct *task, int fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

static __always_inline const char *uring_name(struct filename *name)
{
	return name ? BPF_CORE_READ(name, name) : NULL;
}

/* A path operation's arguments, as its prep left them in the request (io_uring/openclose.c, fs.c). */
static __always_inline bool uring_path_call(struct io_kiocb *req, __u8 op, struct tamper_call *call)
{
	switch (op) {
	case URING_OP_OPENAT:
	case URING_OP_OPENAT2: {
		struct io_open *open = (struct io_open *)req;
		call->flags = BPF_CORE_READ(open, how.flags);
		if (!tamper_writes(call->flags))
			return false;
		call->syscall = op == URING_OP_OPENAT ? TAMPER_SYS_URING_OPENAT : TAMPER_SYS_URING_OPENAT2;
		call->dfd = BPF_CORE_READ(open, dfd);
		call->path = uring_name(BPF_CORE_READ(open, filename));
		call->mode = (__u32)BPF_CORE_READ(open, how.mode);
		call->follow = !(call->flags & TAMPER_O_NOFOLLOW);
		call->open = BPF_CORE_READ(open, file_slot) == 0; /* else a registered ("direct") descriptor */
		return true;
	}
	case URING_OP_RENAMEAT: {
		struct io_rename *ren = (struct io_rename *)req;
		call->syscall = TAMPER_SYS_URING_RENAMEAT;
		call->dfd = BPF_CORE_READ(ren, old_dfd);
		call->path = uring_name(BPF_CORE_READ(ren, oldpath));
		call->dfd2 = BPF_CORE_READ(ren, new_dfd);
		call->path2 = uring_name(BPF_CORE_READ(ren, newpath));
		call->flags = (__u32)BPF_CORE_READ(ren, flags);
		return true;
	}
	case URING_OP_UNLINKAT: {
		struct io_unlink *un = (struct io_unlink *)req;
		call->syscall = TAMPER_SYS_URING_UNLINKAT;
		call->dfd = BPF_CORE_READ(un, dfd);
		call->path = uring_name(BPF_CORE_READ(un, filename));
		call->flags = (__u32)BPF_CORE_READ(un, flags);
		return true;
	}
	case URING_OP_MKDIRAT: {
		struct io_mkdir *mkd = (struct io_mkdir *)req;
		call->syscall = TAMPER_SYS_URING_MKDIRAT;
		call->dfd = BPF_CORE_READ(mkd, dfd);
		call->path = uring_name(BPF_CORE_READ(mkd, filename));
		call->mode = BPF_CORE_READ(mkd, mode);
		return true;
	}
	case URING_OP_SYMLINKAT: {
		struct io_link *sl = (struct io_link *)req; /* oldpath is the link's text, not a file */
		call->syscall = TAMPER_SYS_URING_SYMLINKAT;
		call->dfd2 = BPF_CORE_READ(sl, new_dfd);
		call->path2 = uring_name(BPF_CORE_READ(sl, newpath));
		return true;
	}
	case URING_OP_LINKAT: {
		struct io_link *lnk = (struct io_link *)req;
		call->syscall = TAMPER_SYS_URING_LINKAT;
		call->dfd = BPF_CORE_READ(lnk, old_dfd);
		call->path = uring_name(BPF_CORE_READ(lnk, oldpath));
		call->dfd2 = BPF_CORE_READ(lnk, new_dfd);
		call->path2 = uring_name(BPF_CORE_READ(lnk, newpath));
		call->flags = (__u32)BPF_CORE_READ(lnk, flags);
		return true;
	}
	default:
		return false;
	}
}

/* The TAMPER_SYS_URING_* of an fd operation, else 0. */
static __always_inline __u16 uring_fd_syscall(__u8 op)
{
	switch (op) {
	case URING_OP_WRITE:
	case URING_OP_WRITEV:
	case URING_OP_WRITE_FIXED:
	case URING_OP_WRITEV_FIXED:
		return TAMPER_SYS_URING_WRITE;
	case URING_OP_FTRUNCATE:
		return TAMPER_SYS_URING_FTRUNCATE;
	case URING_OP_FALLOCATE:
		return TAMPER_SYS_URING_FALLOCATE;
	case URING_OP_SPLICE:
		return TAMPER_SYS_URING_SPLICE;
	default:
		return 0;
	}
}

static __always_inline bool uring_path_op(__u8 op)
{
	return (op >= URING_OP_RENAMEAT && op <= URING_OP_LINKAT) || op == URING_OP_OPENAT || op == URING_OP_OPENAT2;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(tamper_uring_submit, struct io_kiocb *req)
{
	__u8 op = req->opcode; /* a direct load from the typed argument: no helper call for the requests that change no file */
	if (!uring_path_op(op) || tamper_skip())
		return 0;
	/* Requests are recycled: a path operation that is not prepared here must not find an earlier one's record (one
	 * whose completion never came) when it completes. */
	__u64 id = (__u64)req;
	struct tamper_call call = TAMPER_CALL(0);
	struct tamper_scratch *s = tamper_area();
	if (!s || !uring_path_call(req, op, &call)) {
		bpf_map_delete_elem(&uring_pending, &id);
		return 0;
	}
	struct tamper_record *r = &s->record;
	int fd = -1;
	int got = tamper_read_paths(s, &call, true, true, &fd);
	r->flags = call.flags;
	r->mode = call.mode;
	r->uid = call.uid;
	r->gid = call.gid;
	r->syscall = call.syscall;
	r->fd = -1;
	r->result = call.open ? URING_PENDING_OPEN : 0;
	if (got == TAMPER_PATHS_FD) {
		/* /proc/self/fd/N (or AT_EMPTY_PATH): the fd's inode, now, in the submitter's table. */
		struct file_inode_key key = {};
		if (!tamper_lookup(BPF_CORE_READ(tamper_fd_file(fd), f_inode), &key)) {
			bpf_map_delete_elem(&uring_pending, &id);
			return 0;
		}
		r->match = TAMPER_MATCH_INODE;
		r->dev = key.dev;
		r->ino = key.ino;
		r->fd = fd;
		r->result = 0;
	} else {
		r->match = TAMPER_MATCH_PATH;
		r->dev = r->ino = 0;
		if (got & TAMPER_HIT)
			r->result |= URING_PENDING_HIT;
	}
	bpf_map_update_elem(&uring_pending, &id, r, BPF_ANY);
	return 0;
}

/* A path operation's completion: its prepared record, with the result. */
static __always_inline void uring_path_done(struct io_kiocb *req, long ret, struct task_struct *task)
{
	__u64 id = (__u64)req;
	struct tamper_record *r = bpf_map_lookup_elem(&uring_pending, &id);
	if (!r)
		return;
	int pending = r->result;
	bool refused = ret == -TAMPER_EPERM || ret == -TAMPER_EACCES;
	struct tamper_call call = TAMPER_CALL(r->syscall);
	call.flags = r->flags;
	call.mode = r->mode;
	if (r->match == TAMPER_MATCH_INODE) {
		struct file_inode_key key = { .dev = r->dev, .ino = r->ino };
		if (ret >= 0 || refused)
			tamper_emit_inode(r, &call, ret, r->fd, &key, TAMPER_MATCH_INODE, true, task);
	} else if ((pending & URING_PENDING_OPEN) && ret >= 0) {
		struct file_inode_key key = {};
		__u8 match = tamper_opened(uring_fd_file(task, (int)ret), &key);
		if (match)
			tamper_emit_inode(r, &call, 0, (int)ret, &key, match, true, task);
	} else if (refused || (ret >= 0 && (pending & URING_PENDING_HIT))) {
		tamper_emit_path(r, &call, ret, task);
	}
	bpf_map_delete_elem(&uring_pending, &id);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(tamper_uring_complete, void *ctx_, void *request)
{
	struct io_kiocb *req = request;
	if (!req) /* an auxiliary completion, of no request */
		return 0;
	__u8 op = BPF_CORE_READ(req, opcode);
	__u16 syscall = uring_fd_syscall(op);
	if (!syscall && !uring_path_op(op))
		return 0;
	struct task_struct *task = uring_submitter(req);
	if (is_agent(BPF_CORE_READ(task, tgid)))
		return 0;
	long ret = BPF_CORE_READ(req, cqe.res);
	if (!syscall) {
		uring_path_done(req, ret, task);
		return 0;
	}
	if (ret < 0 && ret != -TAMPER_EPERM && ret != -TAMPER_EACCES)
		return 0;
	struct file_inode_key key = {};
	if (!tamper_lookup(BPF_CORE_READ(req, file, f_inode), &key))
		return 0;
	struct tamper_scratch *s = tamper_area();
	if (!s)
		return 0;
	struct tamper_call call = TAMPER_CALL(syscall);
	tamper_emit_inode(&s->record, &call, ret, -1, &key, TAMPER_MATCH_INODE, false, task);
	return 0;
}
