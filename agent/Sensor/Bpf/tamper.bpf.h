/* Long because: one exit program for each of the ~40 syscalls that change a file, all on the matching in the kernel they inline (the io_uring side is uring.bpf.h). */
/* Tamper programs of the sensor (included at the end of sensor.bpf.c; kinds 48-63): every attempt to change a file the
 * agent protects (the map `protected_inodes`, filled by the agent: agent/Sensor/TamperSensor.cs), with the syscall's
 * true result: 0 when it went through, -EPERM when the kernel refused it (an immutable or append-only inode), -EACCES.
 *
 * Attach points: only the exits of the syscalls that change a file (syscalls/sys_exit_<call>: the kernel runs each
 * for its own syscall, none runs for every syscall, and none for read/write). The arguments are read at the exit from
 * the registers the syscall was entered with (bpf_task_pt_regs: CO-RE, per architecture; arm64 keeps the first one in
 * orig_x0), so that no program runs at the entry and nothing is kept between entry and exit.
 *
 * How an attempt is matched to a protected inode, in the kernel where it can be:
 * - fd-based calls (ftruncate, fchmod, fchown, ioctl FS_IOC_SETFLAGS/FS_IOC_FSSETXATTR, utimensat(fd, NULL),
 *   *at(fd, "", AT_EMPTY_PATH)) and successful opens for writing: the fd's inode is looked up (TAMPER_MATCH_INODE);
 *   an open that created the file (FMODE_CREATED) looks up its directory (TAMPER_MATCH_PARENT). An open's record
 *   carries the path it named too (the symlink, hard link or /proc/self/fd/N it went through).
 * - a path named /proc/self/fd/N, /proc/thread-self/fd/N or /dev/fd/N: the fd N of the caller, as above.
 * - other path-based calls (open refused, truncate, unlink, rename, link, chmod, chown, utimes, mkdir, symlink):
 *   the kernel has no lookup a tracepoint can call, so the record carries the path(s) as given and, for a relative
 *   one, the directory it is relative to (dirfd's or the working directory, walked up in the kernel), and user
 *   space resolves it (TAMPER_MATCH_PATH). Such a candidate leaves the kernel only when the call was refused
 *   (EPERM or EACCES: rare on a healthy machine), or when it went through and the last or the second-last
 *   component of a path is a name in `protected_names` (the agent's protected files' and directories' names), or a
 *   relative name's directory is a protected directory. Everything else is dropped in the kernel.
 * The same attempts submitted through io_uring: uring.bpf.h (included at the end). */
#pragma once

#include "files.bpf.h" /* file_inode_key, file_sensitive_open: the open exits run both parts */
#include "walk.bpf.h"

#define SENSOR_TAMPER 48

#define TAMPER_SLOT 1024
#define TAMPER_SLOTS 4
#define TAMPER_NAME_KEY 64
#define TAMPER_WINDOW 128
#define TAMPER_PATH_DEPTH 48

/* protected_inodes values */
#define TAMPER_PROTECT_FILE 0x1       /* the inode itself */
#define TAMPER_PROTECT_DIRECTORY 0x2  /* a directory: nothing is to be created, removed or renamed in it */

/* tamper_record.match */
#define TAMPER_MATCH_INODE 1   /* the call's target is a protected inode (dev, ino) */
#define TAMPER_MATCH_PARENT 2  /* a file was created in a protected directory (dev, ino: the directory) */
#define TAMPER_MATCH_PATH 3    /* a candidate by its path(s): user space resolves them */

/* tamper_record.syscall */
#define TAMPER_SYS_OPEN 1
#define TAMPER_SYS_OPENAT 2
#define TAMPER_SYS_OPENAT2 3
#define TAMPER_SYS_CREAT 4
#define TAMPER_SYS_TRUNCATE 5
#define TAMPER_SYS_FTRUNCATE 6
#define TAMPER_SYS_UNLINK 7
#define TAMPER_SYS_UNLINKAT 8
#define TAMPER_SYS_RMDIR 9
#define TAMPER_SYS_RENAME 10
#define TAMPER_SYS_RENAMEAT 11
#define TAMPER_SYS_RENAMEAT2 12
#define TAMPER_SYS_LINK 13
#define TAMPER_SYS_LINKAT 14
#define TAMPER_SYS_CHMOD 15
#define TAMPER_SYS_FCHMOD 16
#define TAMPER_SYS_FCHMODAT 17
#define TAMPER_SYS_FCHMODAT2 18
#define TAMPER_SYS_CHOWN 19
#define TAMPER_SYS_LCHOWN 20
#define TAMPER_SYS_FCHOWN 21
#define TAMPER_SYS_FCHOWNAT 22
#define TAMPER_SYS_UTIMENSAT 23
#define TAMPER_SYS_UTIMES 24
#define TAMPER_SYS_FUTIMESAT 25
#define TAMPER_SYS_UTIME 26
#define TAMPER_SYS_SETFLAGS 27     /* ioctl FS_IOC_SETFLAGS (chattr) */
#define TAMPER_SYS_FSSETXATTR 28   /* ioctl FS_IOC_FSSETXATTR (xfs_io chattr) */
#define TAMPER_SYS_MKDIR 29
#define TAMPER_SYS_MKDIRAT 30
#define TAMPER_SYS_SYMLINK 31
#define TAMPER_SYS_SYMLINKAT 32
/* io_uring operations (uring.bpf.h) */
#define TAMPER_SYS_URING_OPENAT 33
#define TAMPER_SYS_URING_OPENAT2 34
#define TAMPER_SYS_URING_WRITE 35      /* IORING_OP_WRITE, WRITEV, WRITE_FIXED, WRITEV_FIXED */
#define TAMPER_SYS_URING_FTRUNCATE 36
#define TAMPER_SYS_URING_FALLOCATE 37
#define TAMPER_SYS_URING_SPLICE 38     /* to the protected file */
#define TAMPER_SYS_URING_RENAMEAT 39
#define TAMPER_SYS_URING_UNLINKAT 40
#define TAMPER_SYS_URING_MKDIRAT 41
#define TAMPER_SYS_URING_SYMLINKAT 42
#define TAMPER_SYS_URING_LINKAT 43

/* tamper_record.truncated: which strings are cut (longer than the slot, or deeper than the walk goes) */
#define TAMPER_CUT_PATH 0x1
#define TAMPER_CUT_BASE 0x2
#define TAMPER_CUT_PATH2 0x4
#define TAMPER_CUT_BASE2 0x8

#define TAMPER_AT_FDCWD -100
#define TAMPER_AT_EMPTY_PATH 0x1000
#define TAMPER_AT_SYMLINK_NOFOLLOW 0x100
#define TAMPER_O_ACCMODE 3
#define TAMPER_O_CREAT 0100
#define TAMPER_O_TRUNC 01000
#define TAMPER_O_WRONLY 01
#define TAMPER_O_NOFOLLOW 0400000
#define TAMPER_FMODE_CREATED 0x100000
#define TAMPER_EPERM 1
#define TAMPER_EACCES 13
#define TAMPER_FS_IOC_SETFLAGS 0x40086602u
#define TAMPER_FS_IOC32_SETFLAGS 0x40046602u
#define TAMPER_FS_IOC_FSSETXATTR 0x401c5820u
#define TAMPER_UNCHANGED 0xFFFFFFFFu

/* One attempt. With TAMPER_MATCH_PATH the four string slots follow (header.size says so): 0 the path, 1 the second path
 * (rename's and link's new name, symlink's link), 2 and 3 the directories they are relative to when relative; each
 * NUL-terminated within its slot, its length (without the NUL) in *_len, 0 when absent. */
struct tamper_record {
	struct record_header header;
	__u64 dev;        /* the protected inode matched (TAMPER_MATCH_INODE/PARENT); 0 for a path candidate */
	__u64 ino;
	__u64 flags;      /* open/openat2 flags; the *at flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR); rename flags */
	__s32 result;     /* the syscall's return: 0, or -errno (an open that succeeded: 0) */
	__u32 mode;       /* chmod/open/mkdir mode; for the ioctls the new inode flags (FS_*_FL, or fsxattr's FS_XFLAG_*) */
	__u32 uid;        /* chown's new owner (TAMPER_UNCHANGED: -1, unchanged) */
	__u32 gid;
	__u16 syscall;    /* TAMPER_SYS_* */
	__u8 match;       /* TAMPER_MATCH_* */
	__u8 truncated;   /* TAMPER_CUT_* */
	__u16 path_len;
	__u16 base_len;
	__u16 path2_len;
	__u16 base2_len;
	__s32 fd;         /* the fd of an fd-based call (or the fd an open returned), else -1 */
	char slots[TAMPER_SLOTS][TAMPER_SLOT];
};

#define TAMPER_FIXED_SIZE __builtin_offsetof(struct tamper_record, slots)

/* The C# mirror (agent/Sensor/TamperRecord.cs) reads the part before the slots in place. */
_Static_assert(__builtin_offsetof(struct tamper_record, slots) == 104, "tamper_record");

struct tamper_name_key {
	char name[TAMPER_NAME_KEY]; /* a file or directory name, NUL-padded (a longer one: its first 63 bytes) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct file_inode_key); /* the same key as sensitive_inodes' */
	__type(value, __u32); /* TAMPER_PROTECT_* */
} protected_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tamper_name_key);
	__type(value, __u32);
} protected_names SEC(".maps");

struct tamper_scratch {
	struct tamper_record record;
	char walk[TAMPER_SLOT + 256]; /* a name of up to 255 bytes written at any offset below TAMPER_SLOT */
	struct tamper_name_key key;
	__u32 off;
	__u32 cut;
	int last;
	int second;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tamper_scratch);
} tamper_scratch SEC(".maps");

/* The arguments the current syscall was entered with (its registers, still there at the exit). */
#define TAMPER_REGS() ((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()))
/* Direct loads from the BTF pointer (the verifier makes them fault-safe): no helper call per argument. */
#define TAMPER_ARG1(r) PT_REGS_PARM1_SYSCALL(r)
#define TAMPER_ARG2(r) PT_REGS_PARM2_SYSCALL(r)
#define TAMPER_ARG3(r) PT_REGS_PARM3_SYSCALL(r)
#define TAMPER_ARG4(r) PT_REGS_PARM4_SYSCALL(r)
#define TAMPER_ARG5(r) PT_REGS_PARM5_SYSCALL(r)
#define TAMPER_RET(ctx) (((struct trace_event_raw_sys_exit *)(ctx))->ret)

/* What a call asks for, gathered by its program before the common part runs. */
struct tamper_call {
	__u16 syscall;
	__u8 follow;       /* a path's last symlink is followed (and /proc/self/fd/N means the fd) */
	__u8 open;         /* an open: a successful one is matched by the fd it returned */
	int dfd;
	const char *path;
	int dfd2;
	const char *path2; /* rename/link: the new name; symlink: the link's name (path is then NULL) */
	__u64 flags;
	__u32 mode;
	__u32 uid;
	__u32 gid;
};

/* The file open as fd in the current task, or NULL: the task's fd table read by direct loads from its BTF pointer. */
static __always_inline struct file *tamper_fd_file(int fd)
{
	if (fd < 0)
		return NULL;
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	if (!fdt)
		return NULL;
	unsigned int max = fdt->max_fds;
	if ((unsigned int)fd >= max)
		return NULL;
	struct file **fds = fdt->fd;
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

static __always_inline __u32 tamper_protected(struct file_inode_key *key)
{
	__u32 *value = bpf_map_lookup_elem(&protected_inodes, key);
	return value ? *value : 0;
}

static __always_inline __u32 tamper_lookup(struct inode *inode, struct file_inode_key *key)
{
	if (!inode)
		return 0;
	file_inode_key_of(inode, key);
	return tamper_protected(key);
}

static __always_inline struct tamper_scratch *tamper_area(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tamper_scratch, &zero);
}

static __always_inline bool tamper_skip(void)
{
	return is_agent(bpf_get_current_pid_tgid() >> 32);
}

/* Fills a record's fixed part for task (the caller; for io_uring the submitting task) from call and the result. */
static __always_inline void tamper_fill(struct tamper_record *r, struct tamper_call *call, long ret, struct task_struct *task,
	__u8 match, int fd)
{
	fill_header(&r->header, SENSOR_TAMPER, task);
	r->flags = call->flags;
	r->result = ret < 0 ? (__s32)ret : 0;
	r->mode = call->mode;
	r->uid = call->uid;
	r->gid = call->gid;
	r->syscall = call->syscall;
	r->match = match;
	r->fd = fd;
}

/* Emits a match in the kernel: the fixed part, or with the path slots as they were read (with_path). */
static __always_inline void tamper_emit_inode(struct tamper_record *r, struct tamper_call *call, long ret, int fd,
	struct file_inode_key *key, __u8 match, bool with_path, struct task_struct *task)
{
	tamper_fill(r, call, ret, task, match, fd);
	r->dev = key->dev;
	r->ino = key->ino;
	if (with_path) {
		r->header.size = sizeof(*r);
		emit(r, sizeof(*r));
		return;
	}
	r->header.size = TAMPER_FIXED_SIZE;
	r->truncated = 0;
	r->path_len = r->base_len = r->path2_len = r->base2_len = 0;
	emit(r, TAMPER_FIXED_SIZE);
}

/* Emits a candidate by its paths (the slots as read), for user space to resolve. */
static __always_inline void tamper_emit_path(struct tamper_record *r, struct tamper_call *call, long ret, struct task_struct *task)
{
	tamper_fill(r, call, ret, task, TAMPER_MATCH_PATH, -1);
	r->header.size = sizeof(*r);
	r->dev = r->ino = 0;
	emit(r, sizeof(*r));
}

#define TAMPER_CURRENT() ((struct task_struct *)bpf_get_current_task())

/* An fd-based call on fd: emitted when its inode is protected (with_path: with the path slots already read). */
static __always_inline void tamper_fd_call(struct tamper_call *call, int fd, long ret, bool with_path)
{
	struct file *file = tamper_fd_file(fd);
	if (!file)
		return;
	struct file_inode_key key = {};
	if (!tamper_lookup(BPF_CORE_READ(file, f_inode), &key))
		return;
	struct tamper_scratch *s = tamper_area();
	if (s)
		tamper_emit_inode(&s->record, call, ret, fd, &key, TAMPER_MATCH_INODE, with_path, TAMPER_CURRENT());
}

/* Writes into slot the path of (vfsmnt, dentry), walked up to the root across mounts; returns its length (0: none).
 * A global function, so that the verifier checks its loop once. */
__noinline int tamper_walk(struct tamper_scratch *s, __u64 vfsmnt_ptr, __u64 dentry_ptr, __u32 slot)
{
	if (!s || slot >= TAMPER_SLOTS)
		return 0;
	bool cut;
	int len = walk_path(s->walk, s->record.slots[slot & 3], TAMPER_SLOT, TAMPER_PATH_DEPTH, &s->off, &cut,
		(struct vfsmount *)vfsmnt_ptr, (struct dentry *)dentry_ptr);
	s->cut = cut;
	return len;
}

/* The directory a relative path of dfd is relative to: dfd's file, or the working directory. */
static __always_inline int tamper_base(struct tamper_scratch *s, int dfd, __u32 slot, __u64 *dir_dentry)
{
	struct vfsmount *mnt;
	struct dentry *dentry;
	if (dfd == TAMPER_AT_FDCWD) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		mnt = BPF_CORE_READ(task, fs, pwd.mnt);
		dentry = BPF_CORE_READ(task, fs, pwd.dentry);
	} else {
		struct file *file = tamper_fd_file(dfd);
		if (!file)
			return 0;
		mnt = BPF_CORE_READ(file, f_path.mnt);
		dentry = BPF_CORE_READ(file, f_path.dentry);
	}
	*dir_dentry = (__u64)dentry;
	return tamper_walk(s, (__u64)mnt, (__u64)dentry, slot);
}

/* A fd named as a path (/proc/self/fd/N, /proc/thread-self/fd/N, /dev/fd/N), or -1. */
static __always_inline int tamper_proc_fd(const char *p, long n)
{
	int start;
	if (n > 14 && p[0] == '/' && p[1] == 'p' && p[2] == 'r' && p[3] == 'o' && p[4] == 'c' && p[5] == '/' && p[6] == 's'
	    && p[7] == 'e' && p[8] == 'l' && p[9] == 'f' && p[10] == '/' && p[11] == 'f' && p[12] == 'd' && p[13] == '/')
		start = 14;
	else if (n > 8 && p[0] == '/' && p[1] == 'd' && p[2] == 'e' && p[3] == 'v' && p[4] == '/' && p[5] == 'f' && p[6] == 'd'
	    && p[7] == '/')
		start = 8;
	else if (n > 21 && p[0] == '/' && p[1] == 'p' && p[2] == 'r' && p[3] == 'o' && p[4] == 'c' && p[5] == '/' && p[6] == 't'
	    && p[7] == 'h' && p[8] == 'r' && p[9] == 'e' && p[10] == 'a' && p[11] == 'd' && p[12] == '-' && p[13] == 's'
	    && p[14] == 'e' && p[15] == 'l' && p[16] == 'f' && p[17] == '/' && p[18] == 'f' && p[19] == 'd' && p[20] == '/')
		start = 21;
	else
		return -1;
	int fd = 0;
	for (int i = 0; i < 8; i++) {
		char c = p[(start + i) & (TAMPER_SLOT - 1)];
		if (c == 0)
			return i > 0 ? fd : -1;
		if (c < '0' || c > '9')
			return -1;
		fd = fd * 10 + (c - '0');
	}
	return -1;
}

/* Whether the name at p (len bytes) is in protected_names. */
static __always_inline bool tamper_name_hit(struct tamper_scratch *s, const char *p, __u32 len)
{
	if (len == 0 || len >= TAMPER_NAME_KEY)
		return len >= TAMPER_NAME_KEY; /* a long name: not hashed, left to user space */
	__builtin_memset(&s->key, 0, sizeof(s->key));
	__u32 bytes = len;
	barrier_var(bytes); /* masked below for the verifier (clang would drop the mask after the check above) */
	bytes &= TAMPER_NAME_KEY - 1;
	bpf_probe_read_kernel(s->key.name, bytes, p);
	return bpf_map_lookup_elem(&protected_names, &s->key) != NULL;
}

/* Whether the last or the second-last component of the path in slot (n bytes with its NUL) is a protected name:
 * TAMPER_HIT; with one component only (a relative name), TAMPER_SINGLE too (its directory decides). A global function,
 * verified once; the positions found live in the scratch map, so that the loop's states do not differ by them. */
#define TAMPER_HIT 1
#define TAMPER_SINGLE 2
__noinline int tamper_names_hit(struct tamper_scratch *s, __u32 slot, long n)
{
	if (!s || n <= 1 || n > TAMPER_SLOT)
		return 0;
	const char *p = s->record.slots[slot & 3];
	volatile int *last = &s->last, *second = &s->second;
	int end = (int)n - 1; /* the NUL */
	*last = -1;
	*second = -1;
	for (int i = 1; i <= TAMPER_WINDOW; i++) {
		int at = end - i;
		if (at < 0)
			break;
		if (p[at & (TAMPER_SLOT - 1)] != '/')
			continue;
		if (*last < 0) {
			*last = at;
			continue;
		}
		*second = at;
		break;
	}
	int l = *last, sec = *second;
	if (l < 0 || l >= TAMPER_SLOT)
		return end <= TAMPER_WINDOW ? TAMPER_SINGLE | (tamper_name_hit(s, p, end) ? TAMPER_HIT : 0)
			: TAMPER_HIT; /* a last component longer than the window: left to user space */
	if (tamper_name_hit(s, p + ((l + 1) & (TAMPER_SLOT - 1)), end - l - 1))
		return TAMPER_HIT;
	if (sec < 0 && end > TAMPER_WINDOW)
		return TAMPER_HIT; /* a second-last component longer than the window */
	int from = sec < 0 ? 0 : sec + 1;
	if (from > l)
		return 0;
	return tamper_name_hit(s, p + (from & (TAMPER_SLOT - 1)), l - from) ? TAMPER_HIT : 0;
}

/* Reads a path argument (in user memory; with kernel, a string the kernel copied: io_uring's struct filename) into
 * slot; its length with the NUL, or <= 0. */
static __always_inline long tamper_read_path(struct tamper_scratch *s, __u32 slot, const char *path, bool kernel)
{
	if (!path)
		return 0;
	long n = kernel ? bpf_probe_read_kernel_str(s->record.slots[slot & 3], TAMPER_SLOT, path)
		: bpf_probe_read_user_str(s->record.slots[slot & 3], TAMPER_SLOT, path);
	if (n >= TAMPER_SLOT)
		s->record.truncated |= slot == 0 ? TAMPER_CUT_PATH : TAMPER_CUT_PATH2;
	return n;
}

#define TAMPER_PATHS_FD 4 /* the path names an fd (/proc/self/fd/N, *at(fd, "", AT_EMPTY_PATH)) */

/* Reads a call's paths into the record's slots (kernel: io_uring's copies), with the directories the relative ones are
 * relative to. Returns TAMPER_PATHS_FD with *fd when the path names an fd; else, with names, TAMPER_HIT when the call
 * is a candidate whatever its result: the last or second-last component of a path is a protected name, or a
 * relative name's directory is protected. */
static __always_inline int tamper_read_paths(struct tamper_scratch *s, struct tamper_call *call, bool kernel, bool names, int *fd)
{
	struct tamper_record *r = &s->record;
	r->truncated = 0;
	long n = tamper_read_path(s, 0, call->path, kernel);
	long n2 = tamper_read_path(s, 1, call->path2, kernel);
	r->path_len = n > 0 ? (n - 1) & (TAMPER_SLOT - 1) : 0;
	r->path2_len = n2 > 0 ? (n2 - 1) & (TAMPER_SLOT - 1) : 0;
	r->base_len = r->base2_len = 0;
	if (n == 1 && !call->open && (call->flags & TAMPER_AT_EMPTY_PATH)) {
		*fd = call->dfd;
		return TAMPER_PATHS_FD;
	}
	if (call->follow && n > 1) {
		*fd = tamper_proc_fd(r->slots[0], n);
		if (*fd >= 0)
			return TAMPER_PATHS_FD;
	}
	__u64 dir1 = 0, dir2 = 0;
	bool single = false, single2 = false, hit = false;
	if (names) {
		int one = tamper_names_hit(s, 0, n), two = tamper_names_hit(s, 1, n2);
		hit = (one | two) & TAMPER_HIT;
		single = one & TAMPER_SINGLE;
		single2 = two & TAMPER_SINGLE;
	}
	if (n > 1 && r->slots[0][0] != '/') {
		r->base_len = tamper_base(s, call->dfd, 2, &dir1) & (TAMPER_SLOT - 1);
		if (s->cut)
			r->truncated |= TAMPER_CUT_BASE;
	}
	if (n2 > 1 && r->slots[1][0] != '/') {
		r->base2_len = tamper_base(s, call->dfd2, 3, &dir2) & (TAMPER_SLOT - 1);
		if (s->cut)
			r->truncated |= TAMPER_CUT_BASE2;
	}
	if (!hit && (single || single2)) {
		/* "key" relative to a protected directory (cd /etc/app; rm key). */
		struct file_inode_key dkey = {};
		if (single && dir1 && (tamper_lookup(BPF_CORE_READ((struct dentry *)dir1, d_inode), &dkey) & TAMPER_PROTECT_DIRECTORY))
			hit = true;
		if (!hit && single2 && dir2 && (tamper_lookup(BPF_CORE_READ((struct dentry *)dir2, d_inode), &dkey) & TAMPER_PROTECT_DIRECTORY))
			hit = true;
	}
	return hit ? TAMPER_HIT : 0;
}

/* What a successful open opened, matched by its inode's key (set by the caller): TAMPER_MATCH_INODE (a protected inode),
 * TAMPER_MATCH_PARENT (it created a file in a protected directory: key is then the directory's), else 0. */
static __always_inline __u8 tamper_opened_key(struct file *file, struct file_inode_key *key)
{
	if (tamper_protected(key))
		return TAMPER_MATCH_INODE;
	if ((BPF_CORE_READ(file, f_mode) & TAMPER_FMODE_CREATED)
	    && (tamper_lookup(BPF_CORE_READ(file, f_path.dentry, d_parent, d_inode), key) & TAMPER_PROTECT_DIRECTORY))
		return TAMPER_MATCH_PARENT;
	return 0;
}

/* tamper_opened_key for a file whose key is not known yet (io_uring's opens). */
static __always_inline __u8 tamper_opened(struct file *file, struct file_inode_key *key)
{
	if (!file)
		return 0;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return 0;
	file_inode_key_of(inode, key);
	return tamper_opened_key(file, key);
}

/* A successful open (fd) of what key and match say, emitted with the name it used: an open is matched by the file it
 * opened, however it was named, and the name (a symlink, a hard link, /proc/self/fd/N) goes along. */
static __always_inline void tamper_emit_open(struct tamper_call *call, int fd, struct file_inode_key *key, __u8 match)
{
	struct tamper_scratch *s = tamper_area();
	if (!s)
		return;
	struct tamper_record *r = &s->record;
	r->truncated = 0;
	long n = tamper_read_path(s, 0, call->path, false);
	r->path_len = n > 0 ? (n - 1) & (TAMPER_SLOT - 1) : 0;
	r->path2_len = r->base_len = r->base2_len = 0;
	__u64 dir = 0;
	if (n > 1 && r->slots[0][0] != '/') {
		r->base_len = tamper_base(s, call->dfd, 2, &dir) & (TAMPER_SLOT - 1);
		if (s->cut)
			r->truncated |= TAMPER_CUT_BASE;
	}
	tamper_emit_inode(r, call, 0, fd, key, match, true, TAMPER_CURRENT());
}

/* The common part of every call with a path argument, at its exit (an open's only when it was refused: a successful one
 * is matched by its file, tamper_opened_exit). */
static __always_inline void tamper_path_call(struct tamper_call *call, long ret)
{
	bool refused = ret == -TAMPER_EPERM || ret == -TAMPER_EACCES;
	if (ret < 0 && !refused)
		return;
	struct tamper_scratch *s = tamper_area();
	if (!s)
		return;
	int fd = -1;
	int got = tamper_read_paths(s, call, false, !refused, &fd);
	if (got == TAMPER_PATHS_FD) {
		tamper_fd_call(call, fd, ret, s->record.path_len != 0); /* with the /proc path it named */
		return;
	}
	if (refused || (got & TAMPER_HIT))
		tamper_emit_path(&s->record, call, ret, TAMPER_CURRENT());
}

/* A call with its defaults: no second path, AT_FDCWD, nothing changed. */
#define TAMPER_CALL(sys) { .syscall = (sys), .dfd = TAMPER_AT_FDCWD, .dfd2 = TAMPER_AT_FDCWD, .uid = TAMPER_UNCHANGED, .gid = TAMPER_UNCHANGED }

/* The program at the exit of the syscall `name` (TAMPER_SYS_*: sys): the agent's own calls skipped, then the block
 * that follows the macro, with `call` (TAMPER_CALL's defaults), `regs` (the registers the syscall was entered with)
 * and `ret` (its result), reads the arguments and hands the call to tamper_path_call or tamper_fd_call. */
#define TAMPER_EXIT(name, sys) \
	static __always_inline void tamper_##name##_call(struct tamper_call *call, struct pt_regs *regs, long ret); \
	SEC("tracepoint/syscalls/sys_exit_" #name) \
	int tamper_##name##_exit(void *ctx) \
	{ \
		if (tamper_skip()) \
			return 0; \
		struct tamper_call call = TAMPER_CALL(sys); \
		tamper_##name##_call(&call, TAMPER_REGS(), TAMPER_RET(ctx)); \
		return 0; \
	} \
	static __always_inline void tamper_##name##_call(struct tamper_call *call, struct pt_regs *regs, long ret)

static __always_inline bool tamper_writes(__u64 flags)
{
	return (flags & TAMPER_O_ACCMODE) != 0 || (flags & (TAMPER_O_TRUNC | TAMPER_O_CREAT));
}

/* The common part of an open's exit (call: its arguments, read from the registers): for a successful open,
 * files.bpf.h's sensitive-file part, then, for one that asked to write, the file matched with protected_inodes; for an
 * open the kernel refused (EPERM, EACCES) that asked to write, its path. */
static __always_inline void tamper_opened_exit(struct tamper_call *call, long ret)
{
	__u32 zero = 0;
	struct sensor_config *cfg = bpf_map_lookup_elem(&agent_config, &zero);
	if (!cfg || cfg->agent_tgid == bpf_get_current_pid_tgid() >> 32)
		return;
	bool writes = tamper_writes(call->flags);
	if (ret < 0) {
		if (writes)
			tamper_path_call(call, ret);
		return;
	}
	struct file *file = tamper_fd_file((int)ret);
	if (!file)
		return;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return;
	struct file_inode_key key;
	file_inode_key_of(inode, &key);
	file_sensitive_open(cfg, file, inode, &key);
	if (!writes)
		return;
	__u8 match = tamper_opened_key(file, &key);
	if (match)
		tamper_emit_open(call, (int)ret, &key, match);
}

/* The program at the exit of the open syscall `name` (open, openat, openat2, creat): the sensitive-file part and the
 * tamper part in one program, sharing the fd's file, its inode and the inode's key (the agent then does not load
 * files.bpf.h's sensor_<name>_exit: KernelSensor). The block that follows the macro reads the call's arguments from
 * `regs` into `call` (direct loads: cheaper than the program the sensitive-file part would otherwise be alone). */
#define TAMPER_OPEN_EXIT(name, sys) \
	static __always_inline void tamper_##name##_args(struct tamper_call *call, struct pt_regs *regs); \
	SEC("tracepoint/syscalls/sys_exit_" #name) \
	int tamper_##name##_exit(void *ctx) \
	{ \
		struct tamper_call call = TAMPER_CALL(sys); \
		call.open = 1; \
		tamper_##name##_args(&call, TAMPER_REGS()); \
		tamper_opened_exit(&call, TAMPER_RET(ctx)); \
		return 0; \
	} \
	static __always_inline void tamper_##name##_args(struct tamper_call *call, struct pt_regs *regs)

TAMPER_OPEN_EXIT(openat, TAMPER_SYS_OPENAT)
{
	call->flags = (__u32)TAMPER_ARG3(regs);
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->mode = (__u32)TAMPER_ARG4(regs);
	call->follow = !(call->flags & TAMPER_O_NOFOLLOW);
}

TAMPER_OPEN_EXIT(open, TAMPER_SYS_OPEN)
{
	call->flags = (__u32)TAMPER_ARG2(regs);
	call->path = (const char *)TAMPER_ARG1(regs);
	call->mode = (__u32)TAMPER_ARG3(regs);
	call->follow = !(call->flags & TAMPER_O_NOFOLLOW);
}

TAMPER_OPEN_EXIT(creat, TAMPER_SYS_CREAT)
{
	call->flags = TAMPER_O_CREAT | TAMPER_O_WRONLY | TAMPER_O_TRUNC;
	call->path = (const char *)TAMPER_ARG1(regs);
	call->mode = (__u32)TAMPER_ARG2(regs);
	call->follow = 1;
}

/* open_how unreadable: flags stay 0 (no write asked: the sensitive-file part only). */
TAMPER_OPEN_EXIT(openat2, TAMPER_SYS_OPENAT2)
{
	struct open_how how = {};
	if (bpf_probe_read_user(&how, sizeof(how), (const void *)TAMPER_ARG3(regs)))
		return;
	call->flags = how.flags;
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->mode = (__u32)how.mode;
	call->follow = !(call->flags & TAMPER_O_NOFOLLOW);
}

TAMPER_EXIT(truncate, TAMPER_SYS_TRUNCATE)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->follow = 1;
	tamper_path_call(call, ret);
}

TAMPER_EXIT(ftruncate, TAMPER_SYS_FTRUNCATE)
{
	tamper_fd_call(call, (int)TAMPER_ARG1(regs), ret, false);
}

TAMPER_EXIT(unlink, TAMPER_SYS_UNLINK)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(unlinkat, TAMPER_SYS_UNLINKAT)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->flags = (__u32)TAMPER_ARG3(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(rmdir, TAMPER_SYS_RMDIR)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(rename, TAMPER_SYS_RENAME)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->path2 = (const char *)TAMPER_ARG2(regs);
	tamper_path_call(call, ret);
}

/* renameat, renameat2 and linkat: (olddfd, oldpath, newdfd, newpath[, flags]). */
static __always_inline void tamper_two_paths(struct tamper_call *call, struct pt_regs *regs, long ret, bool flags)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->dfd2 = (int)TAMPER_ARG3(regs);
	call->path2 = (const char *)TAMPER_ARG4(regs);
	if (flags)
		call->flags = (__u32)TAMPER_ARG5(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(renameat, TAMPER_SYS_RENAMEAT)
{
	tamper_two_paths(call, regs, ret, false);
}

TAMPER_EXIT(renameat2, TAMPER_SYS_RENAMEAT2)
{
	tamper_two_paths(call, regs, ret, true);
}

TAMPER_EXIT(link, TAMPER_SYS_LINK)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->path2 = (const char *)TAMPER_ARG2(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(linkat, TAMPER_SYS_LINKAT)
{
	tamper_two_paths(call, regs, ret, true);
}

TAMPER_EXIT(chmod, TAMPER_SYS_CHMOD)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->mode = (__u32)TAMPER_ARG2(regs);
	call->follow = 1;
	tamper_path_call(call, ret);
}

TAMPER_EXIT(fchmod, TAMPER_SYS_FCHMOD)
{
	call->mode = (__u32)TAMPER_ARG2(regs);
	tamper_fd_call(call, (int)TAMPER_ARG1(regs), ret, false);
}

TAMPER_EXIT(fchmodat, TAMPER_SYS_FCHMODAT)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->mode = (__u32)TAMPER_ARG3(regs);
	call->follow = 1;
	tamper_path_call(call, ret);
}

TAMPER_EXIT(fchmodat2, TAMPER_SYS_FCHMODAT2)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->mode = (__u32)TAMPER_ARG3(regs);
	call->flags = (__u32)TAMPER_ARG4(regs);
	call->follow = !(call->flags & TAMPER_AT_SYMLINK_NOFOLLOW);
	tamper_path_call(call, ret);
}

static __always_inline void tamper_chown(struct tamper_call *call, struct pt_regs *regs, long ret, bool follow)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->uid = (__u32)TAMPER_ARG2(regs);
	call->gid = (__u32)TAMPER_ARG3(regs);
	call->follow = follow;
	tamper_path_call(call, ret);
}

TAMPER_EXIT(chown, TAMPER_SYS_CHOWN)
{
	tamper_chown(call, regs, ret, true);
}

TAMPER_EXIT(lchown, TAMPER_SYS_LCHOWN)
{
	tamper_chown(call, regs, ret, false);
}

TAMPER_EXIT(fchown, TAMPER_SYS_FCHOWN)
{
	call->uid = (__u32)TAMPER_ARG2(regs);
	call->gid = (__u32)TAMPER_ARG3(regs);
	tamper_fd_call(call, (int)TAMPER_ARG1(regs), ret, false);
}

TAMPER_EXIT(fchownat, TAMPER_SYS_FCHOWNAT)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->uid = (__u32)TAMPER_ARG3(regs);
	call->gid = (__u32)TAMPER_ARG4(regs);
	call->flags = (__u32)TAMPER_ARG5(regs);
	call->follow = !(call->flags & TAMPER_AT_SYMLINK_NOFOLLOW);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(utimensat, TAMPER_SYS_UTIMENSAT)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->flags = (__u32)TAMPER_ARG4(regs);
	if (!call->path) {
		tamper_fd_call(call, call->dfd, ret, false); /* futimens(fd): utimensat(fd, NULL, ...) */
		return;
	}
	call->follow = !(call->flags & TAMPER_AT_SYMLINK_NOFOLLOW);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(utimes, TAMPER_SYS_UTIMES)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->follow = 1;
	tamper_path_call(call, ret);
}

TAMPER_EXIT(utime, TAMPER_SYS_UTIME)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->follow = 1;
	tamper_path_call(call, ret);
}

TAMPER_EXIT(futimesat, TAMPER_SYS_FUTIMESAT)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	if (!call->path) {
		tamper_fd_call(call, call->dfd, ret, false);
		return;
	}
	call->follow = 1;
	tamper_path_call(call, ret);
}

/* chattr -i / -a (FS_IOC_SETFLAGS) and xfs_io's chattr (FS_IOC_FSSETXATTR) on a protected inode: the new flags. Any
 * other ioctl returns after one comparison. */
SEC("tracepoint/syscalls/sys_exit_ioctl")
int tamper_ioctl_exit(void *ctx)
{
	struct pt_regs *regs = TAMPER_REGS();
	__u32 cmd = (__u32)TAMPER_ARG2(regs);
	if (cmd != TAMPER_FS_IOC_SETFLAGS && cmd != TAMPER_FS_IOC32_SETFLAGS && cmd != TAMPER_FS_IOC_FSSETXATTR)
		return 0;
	if (tamper_skip())
		return 0;
	struct tamper_call call = TAMPER_CALL(cmd == TAMPER_FS_IOC_FSSETXATTR ? TAMPER_SYS_FSSETXATTR : TAMPER_SYS_SETFLAGS);
	__u32 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (const void *)TAMPER_ARG3(regs)); /* int flags; fsxattr.fsx_xflags */
	call.mode = flags;
	call.flags = cmd;
	tamper_fd_call(&call, (int)TAMPER_ARG1(regs), TAMPER_RET(ctx), false);
	return 0;
}

TAMPER_EXIT(mkdir, TAMPER_SYS_MKDIR)
{
	call->path = (const char *)TAMPER_ARG1(regs);
	call->mode = (__u32)TAMPER_ARG2(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(mkdirat, TAMPER_SYS_MKDIRAT)
{
	call->dfd = (int)TAMPER_ARG1(regs);
	call->path = (const char *)TAMPER_ARG2(regs);
	call->mode = (__u32)TAMPER_ARG3(regs);
	tamper_path_call(call, ret);
}

/* symlink's target is a string, not a file: only the link's name counts (path2). */
TAMPER_EXIT(symlink, TAMPER_SYS_SYMLINK)
{
	call->path2 = (const char *)TAMPER_ARG2(regs);
	tamper_path_call(call, ret);
}

TAMPER_EXIT(symlinkat, TAMPER_SYS_SYMLINKAT)
{
	call->dfd2 = (int)TAMPER_ARG2(regs);
	call->path2 = (const char *)TAMPER_ARG3(regs);
	tamper_path_call(call, ret);
}

#include "uring.bpf.h"
