/* Records the sensor's BPF programs put in the ring buffer `events`; C# mirrors in agent/Sensor/ read them in place.
 * Every record starts with struct record_header; `size` is the whole record's length in bytes.
 * Kinds 1-15: process records (this file); 16-31: network.bpf.h; 32-47: files.bpf.h; 48-63: tamper.bpf.h. */
#ifndef SENSOR_EVENTS_H
#define SENSOR_EVENTS_H

#define TASK_COMM_LEN_ 16

enum record_kind {
	RECORD_EXEC = 1,
	RECORD_FORK = 2,
	RECORD_EXIT = 3,
};

struct record_header {
	__u16 kind;
	__u16 size;          /* the whole record, header included (records stay below 64 KiB) */
	__u32 cpu;
	__u64 time_ns;       /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns) */
	__u32 pid;           /* the thread */
	__u32 tgid;          /* the process */
	__u32 ppid;          /* the real parent's tgid */
	__u32 uid;
	char comm[TASK_COMM_LEN_];
};

/* What a standard descriptor (0, 1, 2) was at exec. */
enum stdio_kind {
	STDIO_NONE = 0,      /* closed */
	STDIO_SOCKET = 1,
	STDIO_TTY = 2,
	STDIO_PIPE = 3,
	STDIO_FILE = 4,
	STDIO_OTHER = 5,
};

/* exec_record.flags */
#define EXEC_ARGV_TRUNCATED 0x1    /* argv was longer than ARGV_MAX bytes: the last argument is cut */
#define EXEC_CWD_TRUNCATED 0x2     /* deeper than CWD_DEPTH components, or longer than CWD_MAX */
#define EXEC_SCRIPT 0x4            /* interp differs from filename: a #! script (or binfmt_misc) */
#define EXEC_NO_MM 0x8             /* no argv could be read */

#define ARGV_MAX 32768
#define PATH_MAX_ 4096
#define CWD_MAX 4096
#define CWD_DEPTH 64
#define NAME_MAX_ 256
#define CGROUP_NAME_MAX 256

/* RECORD_EXEC: after the fixed part come, in this order, with the lengths given (each without a terminating NUL):
 * filename, interp (only with EXEC_SCRIPT), cwd (the components from the leaf up, each ended by a NUL, so user
 * space joins them in reverse), cgroup v2 leaf name, cgroup v1 pids leaf name, argv (NUL-separated, as in memory). */
struct exec_record {
	struct record_header header;
	__u32 flags;
	__u16 filename_len;
	__u16 interp_len;
	__u16 cwd_len;
	__u16 cgroup_len;
	__u16 pids_cgroup_len;
	__u16 argv_len;
	__u8 stdio[3];        /* enum stdio_kind of fd 0, 1, 2 */
	__u8 peer_family;     /* AF_INET (2) or AF_INET6 (10) when fd 0 or 1 is an inet socket with a peer; else 0 */
	__u16 peer_port;      /* host order */
	__u16 peer_fd;        /* which of fd 0/1 the peer is of */
	__u8 peer_addr[16];   /* network order; 4 bytes for AF_INET */
};

/* RECORD_FORK: a new process (not a thread). header.tgid/pid are the child; parent_tgid the forking process. */
struct fork_record {
	struct record_header header;
	__u32 parent_tgid;
	__u32 child_tgid;
};

/* RECORD_EXIT: the last thread of a process ended (the whole group is gone). */
struct exit_record {
	struct record_header header;
	__u32 exit_code;      /* the wait status: (status << 8) | signal */
	__u32 pad;
};

/* The per-CPU loss counters (map `losses`): records that could not be put in the ring buffer. */
struct loss_counter {
	__u64 count;          /* all losses on this CPU since load */
	__u64 first_ns;       /* CLOCK_BOOTTIME of the first loss the agent has not reported yet */
	__u64 last_ns;        /* CLOCK_BOOTTIME of the last loss */
};

/* The map `agent_config`, key 0, filled by the agent before it attaches. */
struct sensor_config {
	__u32 agent_tgid;     /* the agent's own process: nothing of it is recorded */
	__u32 flags;          /* SENSOR_CONFIG_* */
	__u64 losses_reported_ns; /* the last loss the agent reported: a later one starts a new span (first_ns) */
	/* With SENSOR_CONFIG_NAME_LENGTHS, bit n is set when files.bpf.h's sensitive_names holds a name of that kind n bytes
	 * long: a name of another length is not looked up (a directory walk with no directory names is skipped). Without
	 * it every name is looked up. */
	__u64 basename_lengths;
	__u64 extension_lengths;
	__u64 directory_lengths;
};

#define SENSOR_CONFIG_NAME_LENGTHS 0x1

/* The C# mirrors (agent/Sensor/) read these in place: their layout is fixed. */
_Static_assert(sizeof(struct record_header) == 48, "record_header");
_Static_assert(sizeof(struct exec_record) == 88, "exec_record");
_Static_assert(sizeof(struct fork_record) == 56, "fork_record");
_Static_assert(sizeof(struct exit_record) == 56, "exit_record");
_Static_assert(sizeof(struct loss_counter) == 24, "loss_counter");
_Static_assert(sizeof(struct sensor_config) == 40, "sensor_config");

#endif
