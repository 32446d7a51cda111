// SPDX-License-Identifier: GPL-2.0
/* The agent's kernel sensor (docs/sensor.md): BPF programs on BTF tracepoints that record, in the kernel and at the
 * moment it happens, what the flight data recorder needs, and put it in one ring buffer the agent drains.
 * Built with clang -target bpf against vmlinux.h (CO-RE: libbpf relocates field offsets to the running kernel).
 * Only BTF tracepoints (process lifecycle, TCP state, io_uring requests) and per-syscall tracepoints (network.bpf.h, files.bpf.h: each
 * runs for its own syscall only; nothing runs on every syscall): they exist on every 5.8+ kernel with BTF, also where
 * kprobes, fentry and LSM programs are not allowed (a kernel locked down in integrity mode). The source is
 * arch-neutral (no syscall numbers, no pt_regs). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFCHR 0020000
#define S_IFIFO 0010000

/* The ring buffer every record goes through. Its size is set by the agent before load (RingBufferBytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* Set by the agent before it attaches. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sensor_config);
} agent_config SEC(".maps");

/* Records that could not be put in the ring buffer, per CPU (read by the agent about once a second). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loss_counter);
} losses SEC(".maps");


/* Where a variable-size record is put together before it is copied to the ring buffer: one entry per CPU, indexed by
 * the CPU (a per-CPU array's value is limited to 32 KiB). The agent sets max_entries to the possible CPUs. */
#define SCRATCH_SIZE 65536
#define SCRATCH_OFFSET_MASK 0x3FFF  /* everything before argv stays below 16 KiB */
struct scratch_buffer {
	__u32 cursor; /* where read_cwd is */
	__u32 pad;
	__u8 data[SCRATCH_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buffer);
} scratch SEC(".maps");

static __always_inline void count_loss(void)
{
	__u32 zero = 0;
	struct loss_counter *loss = bpf_map_lookup_elem(&losses, &zero);
	if (!loss)
		return;
	__u64 now = bpf_ktime_get_boot_ns();
	struct sensor_config *cfg = bpf_map_lookup_elem(&agent_config, &zero);
	/* The first loss since the agent last reported this CPU's losses starts the span of the next coverage gap. */
	if (loss->first_ns == 0 || (cfg && loss->last_ns <= cfg->losses_reported_ns))
		loss->first_ns = now;
	loss->last_ns = now;
	__sync_fetch_and_add(&loss->count, 1);
}

/* The agent is woken (an irq_work, then its thread) only once a sixteenth of the ring buffer waits; below that it
 * drains every DrainMilliseconds on its own. Waking it for every record, as the default does when it has caught up,
 * cost more than the rest of a record (a self-IPI per record: ~10 us where the kernel runs in a VM). */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	return waiting >= bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 16 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Puts a record in the ring buffer; one that does not fit (the buffer is full) is counted as lost. */
static __always_inline void emit(void *record, __u64 size)
{
	__u64 flags = wakeup_flags();
	barrier_var(size); /* bounded below, after the calls (the verifier does not keep a caller's bound across them) */
	if (size > SCRATCH_SIZE || bpf_ringbuf_output(&events, record, size, flags) != 0)
		count_loss();
}

/* Whether the current process is the agent itself (nothing of it is recorded). */
static __always_inline bool is_agent(__u32 tgid)
{
	__u32 zero = 0;
	struct sensor_config *cfg = bpf_map_lookup_elem(&agent_config, &zero);
	return cfg && cfg->agent_tgid == tgid;
}

static __always_inline struct scratch_buffer *scratch_area(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch, &cpu);
}

static __always_inline void fill_header(struct record_header *h, __u16 kind, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	h->kind = kind;
	h->cpu = bpf_get_smp_processor_id();
	h->time_ns = bpf_ktime_get_boot_ns();
	h->pid = BPF_CORE_READ(task, pid);
	h->tgid = BPF_CORE_READ(task, tgid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = BPF_CORE_READ(task, cred, uid.val);
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
	(void)id;
}

/* The process, network, file and tamper programs (one compilation unit, one object). */
#include "process.bpf.h"
#if __has_include("network.bpf.h")
#include "network.bpf.h"
#endif
#if __has_include("files.bpf.h")
#include "files.bpf.h"
#endif
#include "tamper.bpf.h"
