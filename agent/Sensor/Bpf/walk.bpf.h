/* The dentry walk shared by files.bpf.h (the path of a sensitive file opened) and tamper.bpf.h (the directory a
 * relative path is relative to): a path written from its leaf up, crossing mounts, as the kernel's d_path does. */
#pragma once

/* Writes the path of (vfsmnt, dentry), walked up to its namespace's root across mounts (at most depth components), at
 * the end of buf[0, size) (size a power of two; buf has 256 bytes more for the last name) and copies it to out (which
 * has room for size bytes); returns its length without the NUL (0: none). *cut is set when the walk stopped before the
 * root (deeper than depth, or longer than size). For a global function's loop (verified once): the write offset lives
 * in *off, a scratch map's field (read back as any value and masked), so that the verifier's states at the loop's head
 * do not differ by it. */
static __always_inline int walk_path(char *buf, char *out, __u32 size, int depth, volatile __u32 *off, bool *cut,
	struct vfsmount *vfsmnt, struct dentry *dentry)
{
	struct mount *mnt = (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	*off = size;
	*cut = true;
	for (int i = 0; i < depth; i++) {
		struct dentry *root = BPF_CORE_READ(vfsmnt, mnt_root);
		if (dentry == root) {
			/* The root of a mount: continue from where it is mounted, unless it is the namespace's root. */
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
			if (up == mnt || !up) {
				*cut = false;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = (struct vfsmount *)((void *)up + bpf_core_field_offset(struct mount, mnt));
			continue;
		}
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == parent) {
			*cut = false; /* a detached tree's top */
			break;
		}
		__u32 len = BPF_CORE_READ(dentry, d_name.len);
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		__u32 at = *off;
		if (len > 255 || len + 1 > at || at > size)
			break;
		at -= len + 1;
		at &= size - 1;
		buf[at] = '/';
		bpf_probe_read_kernel(&buf[(at + 1) & (size - 1)], len & 255, name);
		*off = at;
		dentry = parent;
	}
	__u32 at = *off;
	if (at == size) {
		at = size - 1;
		buf[at] = '/';
	}
	if (at == 0 || at > size)
		return 0;
	__u32 len = size - at;
	barrier_var(len); /* masked below for the verifier (clang would drop the mask after the checks above) */
	len &= size - 1;
	at &= size - 1;
	bpf_probe_read_kernel(out, len, &buf[at]);
	out[len] = 0;
	return (int)len;
}
