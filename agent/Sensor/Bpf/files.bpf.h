/* File programs of the sensor (included at the end of sensor.bpf.c; kinds 32-47).
 *
 * Sensitive file opens with no FIM rule: at the exit of a successful open/openat/openat2/creat, the opened file's
 * inode (dev, ino) is looked up in `sensitive_inodes`, which the agent fills with the existing files that match the
 * sensitive paths; then its name in `sensitive_names`: a basename, an extension or the name of a directory above it
 * (for `**` globs, whose files may be created at any time), a candidate that user space checks against the full
 * glob. A hit leaves the kernel with the path of the file opened, resolved by walking its dentries up to the root
 * (crossing mounts), so a symlink, a relative name or another mount's view all show the real file.
 * Attach points: the per-syscall tracepoints syscalls/sys_exit_open, sys_exit_openat, sys_exit_openat2 and
 * sys_exit_creat (the kernel runs each only for its own syscall; open and creat do not exist on arm64: the agent
 * skips them there). A name is looked up only when sensitive_names has one of its kind and length (sensor_config's
 * masks, set by the agent): most directories above the file are not hashed, and with no directory names none is. */
#pragma once

#include "network.bpf.h" /* net_fd_file, net_header, SYSCALL_RET */
#include "walk.bpf.h"

#define SENSOR_FILE_OPEN 32

#define FILE_PATH_MAX 4096
#define FILE_PATH_DEPTH 64
#define FILE_NAME_KEY 63
#define FILE_DIR_DEPTH 8

#define FILE_MATCH_INODE 1
#define FILE_MATCH_BASENAME 2
#define FILE_MATCH_EXTENSION 3
#define FILE_MATCH_DIRECTORY 4

#define FILE_O_PATH 010000000
#define FILE_S_IFMT 00170000
#define FILE_S_IFREG 0100000

/* The kernel's dev_t of the inode's filesystem (MKDEV: major << 20 | minor) and the inode number. */
struct file_inode_key {
	__u64 dev;
	__u64 ino;
};

/* kind: FILE_MATCH_BASENAME ("credentials"), FILE_MATCH_EXTENSION (".pem") or FILE_MATCH_DIRECTORY (".azure"). */
struct file_name_key {
	__u8 kind;
	char name[FILE_NAME_KEY];
};

struct file_open_record {
	struct record_header header;
	__u64 dev;
	__u64 ino;
	__u32 flags;      /* the open file's f_flags (O_ACCMODE: read or write) */
	__u16 path_len;   /* bytes of path, without its NUL */
	__u8 match;       /* FILE_MATCH_* */
	__u8 truncated;   /* deeper than FILE_PATH_DEPTH or longer than FILE_PATH_MAX: the path is its tail */
	char path[FILE_PATH_MAX];
};

/* The C# mirror (agent/Sensor/FileOpenRecord.cs) reads the part before the path in place. */
_Static_assert(__builtin_offsetof(struct file_open_record, path) == 72, "file_open_record");
_Static_assert(sizeof(struct file_inode_key) == 16 && sizeof(struct file_name_key) == 64, "file keys");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct file_inode_key);
	__type(value, __u32);
} sensitive_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_name_key);
	__type(value, __u32);
} sensitive_names SEC(".maps");

struct file_scratch {
	char buf[FILE_PATH_MAX * 2];
	struct file_open_record record;
	struct file_name_key key;
	__u32 off;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_scratch);
} file_scratch SEC(".maps");

/* Whether a name n bytes long can be in sensitive_names, for a kind whose lengths are mask (see sensor_config). */
static __always_inline bool file_length_may_hit(__u64 mask, __u32 n)
{
	return n < 64 && ((mask >> n) & 1);
}

static __always_inline int file_name_hit(struct file_name_key *key, __u8 kind, const unsigned char *name)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->kind = kind;
	if (bpf_probe_read_kernel_str(key->name, sizeof(key->name), name) < 0)
		return 0;
	return bpf_map_lookup_elem(&sensitive_names, key) != NULL;
}

/* The extension (".pem") of a name of len bytes, from its last 15, when one of its length (lengths) may be a key. */
static __always_inline int file_extension_hit(struct file_name_key *key, const unsigned char *name, __u32 len, __u64 lengths)
{
	char tail[16] = {};
	__u32 n = len < 15 ? len : 15;
	if (bpf_probe_read_kernel(tail, n & 15, name + len - n))
		return 0;
	int dot = -1;
	for (int i = 0; i < 15; i++) {
		if (i < (int)n && tail[i] == '.')
			dot = i;
	}
	if (dot < 0 || !file_length_may_hit(lengths, n - dot))
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	key->kind = FILE_MATCH_EXTENSION;
	for (int i = 0; i < 15; i++) {
		int from = dot + i;
		if (from >= (int)n || from < 0 || from > 14)
			break;
		key->name[i] = tail[from];
	}
	return bpf_map_lookup_elem(&sensitive_names, key) != NULL;
}

/* Writes the path of (vfsmnt, dentry) into record->path; returns its length, or 0. A global function, so that the
 * verifier checks its loop once. */
__noinline int file_resolve(struct file_scratch *scratch, __u64 vfsmnt_ptr, __u64 dentry_ptr)
{
	if (!scratch)
		return 0;
	bool cut;
	int len = walk_path(scratch->buf, scratch->record.path, FILE_PATH_MAX, FILE_PATH_DEPTH, &scratch->off, &cut,
		(struct vfsmount *)vfsmnt_ptr, (struct dentry *)dentry_ptr);
	scratch->record.truncated = cut;
	return len;
}

/* The sensitive-file part of a successful open's exit: file, just opened, with its inode and that inode's key. Shared with
 * the tamper programs (tamper.bpf.h), which run it at the same exits with the file they look up themselves. */
static __always_inline void file_sensitive_open(struct sensor_config *cfg, struct file *file, struct inode *inode,
	struct file_inode_key *ikey)
{
	__u64 basenames = ~0ULL, extensions = ~0ULL, directories = ~0ULL;
	if (cfg->flags & SENSOR_CONFIG_NAME_LENGTHS) {
		basenames = cfg->basename_lengths;
		extensions = cfg->extension_lengths;
		directories = cfg->directory_lengths;
	}
	unsigned int flags = BPF_CORE_READ(file, f_flags);
	if ((flags & FILE_O_PATH) || (BPF_CORE_READ(inode, i_mode) & FILE_S_IFMT) != FILE_S_IFREG)
		return;
	__u32 zero = 0;
	struct file_scratch *scratch = bpf_map_lookup_elem(&file_scratch, &zero);
	if (!scratch)
		return;
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	__u8 match = 0;
	if (bpf_map_lookup_elem(&sensitive_inodes, ikey)) {
		match = FILE_MATCH_INODE;
	} else {
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		__u32 len = BPF_CORE_READ(dentry, d_name.len);
		if (file_length_may_hit(basenames, len) && file_name_hit(&scratch->key, FILE_MATCH_BASENAME, name))
			match = FILE_MATCH_BASENAME;
		else if (extensions && file_extension_hit(&scratch->key, name, len, extensions))
			match = FILE_MATCH_EXTENSION;
		else if (directories) {
			struct dentry *at = dentry;
			for (int i = 0; i < FILE_DIR_DEPTH; i++) {
				struct dentry *parent = BPF_CORE_READ(at, d_parent);
				if (parent == at)
					break;
				at = parent;
				if (!file_length_may_hit(directories, BPF_CORE_READ(at, d_name.len)))
					continue;
				if (file_name_hit(&scratch->key, FILE_MATCH_DIRECTORY, BPF_CORE_READ(at, d_name.name))) {
					match = FILE_MATCH_DIRECTORY;
					break;
				}
			}
		}
	}
	if (!match)
		return;
	struct file_open_record *record = &scratch->record;
	int len = file_resolve(scratch, (__u64)BPF_CORE_READ(file, f_path.mnt), (__u64)dentry);
	if (len <= 0 || len >= FILE_PATH_MAX)
		return;
	record->dev = ikey->dev;
	record->ino = ikey->ino;
	record->flags = flags;
	record->path_len = len;
	record->match = match;
	__u32 size = (__u32)__builtin_offsetof(struct file_open_record, path) + len + 1;
	barrier_var(size); /* the verifier, not clang, needs the bound below */
	if (size > sizeof(*record))
		return;
	net_header(&record->header, SENSOR_FILE_OPEN, size);
	emit(record, size);
}

/* The key (dev, ino) of inode. */
static __always_inline void file_inode_key_of(struct inode *inode, struct file_inode_key *key)
{
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(inode, i_ino);
}

static __always_inline void file_open_exit(long ret)
{
	if (ret < 0)
		return;
	__u32 zero = 0;
	struct sensor_config *cfg = bpf_map_lookup_elem(&agent_config, &zero);
	if (!cfg || cfg->agent_tgid == bpf_get_current_pid_tgid() >> 32)
		return;
	struct file *file = net_fd_file((int)ret);
	if (!file)
		return;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct file_inode_key ikey;
	file_inode_key_of(inode, &ikey);
	file_sensitive_open(cfg, file, inode, &ikey);
}

/* open, creat exist on x86_64 but not on arm64 (only openat, openat2): the agent skips a tracepoint the kernel lacks.
 * Where the tamper programs load (Linux 5.15 and later), tamper.bpf.h's programs on these four exits run
 * file_sensitive_open themselves and the agent loads them instead of these (one program per open exit: the fd's file
 * and inode are looked up once). */
SYSCALL_EXIT_PROGRAM(sensor_openat_exit, openat, file_open_exit)
SYSCALL_EXIT_PROGRAM(sensor_openat2_exit, openat2, file_open_exit)
SYSCALL_EXIT_PROGRAM(sensor_open_exit, open, file_open_exit)
SYSCALL_EXIT_PROGRAM(sensor_creat_exit, creat, file_open_exit)
