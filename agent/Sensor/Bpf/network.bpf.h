/* Long because: its connect, accept, listen and DNS programs are short, and share ~300 lines of socket readers, the entry-to-exit argument map and the two program macros. */
/* Network programs of the sensor (included at the end of sensor.bpf.c; kinds 16-31).
 *
 * connect: one record per attempt, with its final result. The attempt is kept in `pending_connects`, keyed by the
 * socket, from the syscall's entry: on loopback the handshake (or the reset) can complete inside a non-blocking
 * connect(2), before it returns EINPROGRESS, so the TCP state change may come first. A blocking connect's result is
 * the syscall's return; a non-blocking one's (EINPROGRESS) is the state change SYN_SENT -> ESTABLISHED (connected)
 * or SYN_SENT -> CLOSE (sk_err: refused, timed out, unreachable; none: the socket was closed while in progress).
 * accept/accept4 -> an inbound connection with the peer; listen -> a listening socket. DNS: the first bytes of a
 * UDP datagram to port 53 (sendto/sendmsg/sendmmsg; send(2) is sendto); the name is parsed in user space. write(2)
 * on a UDP socket connected to port 53 is not read: a program on sys_enter_write would run for every write of the
 * machine (it made a one-byte write ~1.4x slower), and resolvers send with send/sendto/sendmmsg; the connect to
 * port 53 is still recorded.
 * Attach points: the per-syscall tracepoints syscalls/sys_enter_connect, sys_exit_connect, sys_exit_accept,
 * sys_exit_accept4, sys_enter_listen, sys_exit_listen, sys_enter_sendto, sys_enter_sendmsg, sys_enter_sendmmsg
 * (the kernel runs each only for its own syscall, not for every syscall of the machine), and the BTF
 * tracepoint inet_sock_set_state; all fire for every network namespace. An exit that needs its entry's socket
 * (connect, listen) finds it in `syscall_args`, by thread.
 * Both maps are plain hash maps, preallocated, whose every entry is deleted when its attempt ends (the syscall's exit,
 * or the TCP state change leaving SYN_SENT): not LRU maps, which evict the oldest entry when full, silently losing an
 * attempt, and whose updates go through the LRU's lists and locks. A full map refuses the update, and that attempt is
 * counted as lost (a sensor-overflow gap), like a record the ring buffer could not take. */
#pragma once

#include <bpf/bpf_endian.h>

#define SENSOR_NET_CONNECT 16
#define SENSOR_NET_ACCEPT 17
#define SENSOR_NET_LISTEN 18
#define SENSOR_NET_DNS 19

#define NET_RESULT_CONNECTED 0
#define NET_RESULT_REFUSED 1
#define NET_RESULT_TIMED_OUT 2
#define NET_RESULT_UNREACHABLE 3
#define NET_RESULT_FAILED 4
#define NET_RESULT_IN_PROGRESS 5

#define NET_AF_INET 2
#define NET_AF_INET6 10
#define NET_SOCK_STREAM 1
#define NET_SOCK_DGRAM 2
#define NET_IPPROTO_TCP 6
#define NET_IPPROTO_UDP 17
#define NET_S_IFMT 00170000
#define NET_S_IFSOCK 0140000

#define NET_EINTR 4
#define NET_ENETUNREACH 101
#define NET_ECONNREFUSED 111
#define NET_ETIMEDOUT 110
#define NET_EHOSTUNREACH 113
#define NET_EALREADY 114
#define NET_EINPROGRESS 115
#define NET_EISCONN 106

#define NET_DNS_PAYLOAD 512
#define NET_DNS_MESSAGES 4

/* connect (outbound, every attempt with its result) and accept (inbound). Addresses in network byte order (IPv4 in
 * the first 4 bytes), ports in host order. */
struct net_connect_record {
	struct record_header header;
	__u16 family;      /* AF_INET or AF_INET6 (an IPv6 socket may carry a v4-mapped address) */
	__u16 protocol;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 local_port;
	__u16 remote_port;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__s32 error;       /* the errno of a failed attempt, 0 otherwise */
	__u8 result;       /* NET_RESULT_* */
	__u8 pad[3];
};

struct net_listen_record {
	struct record_header header;
	__u16 family;
	__u16 protocol;
	__u16 local_port;
	__u16 pad;
	__u8 local_addr[16];
};

/* A datagram to port 53: its first bytes (a DNS query: 12-byte header, then the question's name). */
struct net_dns_record {
	struct record_header header;
	__u16 family;
	__u16 protocol;
	__u16 remote_port;
	__u16 payload_len; /* bytes of payload copied (at most NET_DNS_PAYLOAD) */
	__u8 remote_addr[16];
	__u32 index;       /* the message's place in a sendmmsg vector (0 otherwise) */
	__u32 pad;
	__u8 payload[NET_DNS_PAYLOAD];
};

/* The C# mirrors (agent/Sensor/ConnectRecord.cs, ListenRecord.cs, DnsRecord.cs) read these in place. */
_Static_assert(sizeof(struct net_connect_record) == 96, "net_connect_record");
_Static_assert(sizeof(struct net_listen_record) == 72, "net_listen_record");
_Static_assert(sizeof(struct net_dns_record) == 592, "net_dns_record");

/* A connect between its syscall's entry and its final result: the connects under way at once on the machine (in the
 * syscall, or non-blocking and still in SYN_SENT), at most 65,536. */
struct net_pending_connect {
	struct net_connect_record record;
	__u8 returned;     /* the syscall returned EINPROGRESS: the state change emits it */
	__u8 decided;      /* the state change came while the syscall ran: result and error hold the outcome */
	__u8 has_local;    /* local address captured at the state change (before the port is released) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct net_pending_connect);
} pending_connects SEC(".maps");

/* What a syscall's exit needs of its entry (connect's, listen's socket and fd), by thread (pid_tgid): written at the
 * entry, deleted at the exit, which runs for every syscall that entered, also one interrupted by a signal or whose
 * thread is killed in it (the syscall returns through its exit before the signal is acted on). At most 16,384
 * threads in connect(2) or listen(2) at once. */
struct net_syscall_args {
	__u64 sk;          /* struct sock * */
	__s32 fd;
	__u32 syscall;     /* NET_KEPT_*: whose entry kept them */
};

#define NET_KEPT_CONNECT 1
#define NET_KEPT_LISTEN 2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct net_syscall_args);
} syscall_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_pending_connect);
} net_connect_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_dns_record);
} net_dns_scratch SEC(".maps");

/* The record header of the current task (sensor.bpf.c's fill_header) and the record's size. */
static __always_inline void net_header(struct record_header *header, __u16 kind, __u32 size)
{
	fill_header(header, kind, (struct task_struct *)bpf_get_current_task());
	header->size = size;
}

/* The file open as fd in the current task, or NULL. */
static __always_inline struct file *net_fd_file(int fd)
{
	if (fd < 0)
		return NULL;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* The inet (v4 or v6) socket open as fd in the current task, or NULL. */
static __always_inline struct sock *net_fd_sock(int fd)
{
	struct file *file = net_fd_file(fd);
	if (!file)
		return NULL;
	umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & NET_S_IFMT) != NET_S_IFSOCK)
		return NULL;
	struct socket *socket = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(socket, sk);
	if (!sk)
		return NULL;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return family == NET_AF_INET || family == NET_AF_INET6 ? sk : NULL;
}

static __always_inline __u16 net_sock_protocol(struct sock *sk)
{
	__u16 type = BPF_CORE_READ(sk, sk_type);
	__u16 protocol = BPF_CORE_READ(sk, sk_protocol);
	if (type == NET_SOCK_STREAM && protocol == NET_IPPROTO_TCP)
		return NET_IPPROTO_TCP;
	if (type == NET_SOCK_DGRAM && protocol == NET_IPPROTO_UDP)
		return NET_IPPROTO_UDP;
	return 0;
}

static __always_inline void net_sock_local(struct sock *sk, __u16 family, __u8 addr[16], __u16 *port)
{
	*port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == NET_AF_INET6)
		bpf_core_read(addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	else
		bpf_core_read(addr, 4, &sk->__sk_common.skc_rcv_saddr);
}

static __always_inline void net_sock_remote(struct sock *sk, __u16 family, __u8 addr[16], __u16 *port)
{
	*port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == NET_AF_INET6)
		bpf_core_read(addr, 16, &sk->__sk_common.skc_v6_daddr);
	else
		bpf_core_read(addr, 4, &sk->__sk_common.skc_daddr);
}

/* A sockaddr_in / sockaddr_in6 in user memory: family (0 when neither), address and port. */
static __always_inline __u16 net_user_sockaddr(const void *uaddr, int len, __u8 addr[16], __u16 *port)
{
	struct sockaddr_in6 sa = {};
	if (!uaddr || len < (int)sizeof(struct sockaddr_in))
		return 0;
	if (bpf_probe_read_user(&sa, len >= (int)sizeof(sa) ? sizeof(sa) : sizeof(struct sockaddr_in), uaddr))
		return 0;
	if (sa.sin6_family == NET_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;
		*port = bpf_ntohs(in->sin_port);
		__builtin_memcpy(addr, &in->sin_addr.s_addr, 4);
		return NET_AF_INET;
	}
	if (sa.sin6_family == NET_AF_INET6 && len >= (int)sizeof(sa)) {
		*port = bpf_ntohs(sa.sin6_port);
		__builtin_memcpy(addr, &sa.sin6_addr, 16);
		return NET_AF_INET6;
	}
	return 0;
}

static __always_inline __u8 net_result_of(int error)
{
	switch (error) {
	case 0:
		return NET_RESULT_CONNECTED;
	case NET_ECONNREFUSED:
		return NET_RESULT_REFUSED;
	case NET_ETIMEDOUT:
		return NET_RESULT_TIMED_OUT;
	case NET_ENETUNREACH:
	case NET_EHOSTUNREACH:
		return NET_RESULT_UNREACHABLE;
	default:
		return NET_RESULT_FAILED;
	}
}

/* The syscall's arguments at its entry and its return value at its exit (the syscalls tracepoints' records). */
#define SYSCALL_ARG(ctx, i) (((struct trace_event_raw_sys_enter *)(ctx))->args[i])
#define SYSCALL_RET(ctx) (((struct trace_event_raw_sys_exit *)(ctx))->ret)

/* A program on a syscall's exit tracepoint that hands the return value to handler (a void function of a long). */
#define SYSCALL_EXIT_PROGRAM(program, syscall, handler) \
	SEC("tracepoint/syscalls/sys_exit_" #syscall) \
	int program(void *ctx) \
	{ \
		handler(SYSCALL_RET(ctx)); \
		return 0; \
	}

/* The entry's arguments kept for the exit (and forgotten), or false when the entry kept none. */
static __always_inline bool net_take_args(struct net_syscall_args *args, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct net_syscall_args *kept = bpf_map_lookup_elem(&syscall_args, &id);
	if (!kept)
		return false;
	*args = *kept;
	bpf_map_delete_elem(&syscall_args, &id);
	return args->syscall == syscall; /* not another syscall's, whose exit was missed (attached after its entry) */
}

/* False when the map is full (the caller counts the attempt as lost). */
static __always_inline bool net_keep_args(struct sock *sk, int fd, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct net_syscall_args args = { .sk = (__u64)sk, .fd = fd, .syscall = syscall };
	return bpf_map_update_elem(&syscall_args, &id, &args, BPF_ANY) == 0;
}

/* At a syscall's entry: the socket of its fd (the first argument, in *fd), or NULL when the agent is the caller or
 * the fd is no socket. */
static __always_inline struct sock *net_caller_sock(void *ctx, int *fd)
{
	if (is_agent(bpf_get_current_pid_tgid() >> 32))
		return NULL;
	*fd = (int)SYSCALL_ARG(ctx, 0);
	return net_fd_sock(*fd);
}

/* A program on a syscall's entry tracepoint whose first argument is a socket's fd: it hands handler (a void function
 * of the context, the socket and its fd) the socket, unless net_caller_sock finds none. */
#define SOCKET_ENTER_PROGRAM(program, syscall, handler) \
	SEC("tracepoint/syscalls/sys_enter_" #syscall) \
	int program(void *ctx) \
	{ \
		int fd; \
		struct sock *sk = net_caller_sock(ctx, &fd); \
		if (sk) \
			handler(ctx, sk, fd); \
		return 0; \
	}

static __always_inline void net_connect_enter(void *ctx, struct sock *sk, int fd)
{
	__u16 protocol = net_sock_protocol(sk);
	if (!protocol)
		return;
	/* connect(2) again on a TCP socket that is not closed polls an attempt under way (EALREADY) or made (0 or
	 * EISCONN): not a new attempt; the first one's record has, or will have, the outcome. */
	if (protocol == NET_IPPROTO_TCP && BPF_CORE_READ(sk, __sk_common.skc_state) != BPF_TCP_CLOSE)
		return;
	__u64 key = (__u64)sk;
	__u32 zero = 0;
	struct net_pending_connect *pending = bpf_map_lookup_elem(&net_connect_scratch, &zero);
	if (!pending)
		return;
	__builtin_memset(pending, 0, sizeof(*pending));
	struct net_connect_record *record = &pending->record;
	record->family = net_user_sockaddr((const void *)SYSCALL_ARG(ctx, 1), (int)SYSCALL_ARG(ctx, 2),
		record->remote_addr, &record->remote_port);
	if (!record->family) /* AF_UNSPEC (a UDP socket dissolving its association) or malformed: not an attempt */
		return;
	record->protocol = protocol;
	net_header(&record->header, SENSOR_NET_CONNECT, sizeof(*record));
	/* The attempt first, then what the exit finds it by: an attempt whose exit cannot find it must not stay. */
	if (bpf_map_update_elem(&pending_connects, &key, pending, BPF_ANY) != 0) {
		count_loss();
		return;
	}
	if (!net_keep_args(sk, fd, NET_KEPT_CONNECT)) {
		bpf_map_delete_elem(&pending_connects, &key);
		count_loss();
	}
}

SOCKET_ENTER_PROGRAM(sensor_connect_enter, connect, net_connect_enter)

SEC("tracepoint/syscalls/sys_exit_connect")
int sensor_connect_exit(void *ctx)
{
	struct net_syscall_args args;
	if (!net_take_args(&args, NET_KEPT_CONNECT)) /* an attempt the entry did not keep (the agent's own, not inet, a poll) */
		return 0;
	long ret = SYSCALL_RET(ctx);
	struct sock *sk = (struct sock *)args.sk; /* held by the syscall until it returns */
	__u64 key = args.sk;
	struct net_pending_connect *pending = bpf_map_lookup_elem(&pending_connects, &key);
	if (!pending || pending->returned)
		return 0;
	struct net_connect_record *record = &pending->record;
	int error = ret < 0 ? (int)-ret : 0;
	if (error == NET_EALREADY || error == NET_EISCONN) {
		/* Asked again about an attempt already under way (or made): not a new one. */
		bpf_map_delete_elem(&pending_connects, &key);
		return 0;
	}
	if ((error == NET_EINPROGRESS || error == NET_EINTR) && record->protocol == NET_IPPROTO_TCP) {
		if (!pending->decided) {
			pending->returned = 1; /* the state change has the outcome */
			return 0;
		}
	} else {
		record->error = error;
		record->result = net_result_of(error);
	}
	if (!error || !pending->has_local)
		net_sock_local(sk, record->family, record->local_addr, &record->local_port);
	emit(record, sizeof(*record));
	bpf_map_delete_elem(&pending_connects, &key);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sensor_net_state, const struct sock *sk, const int oldstate, const int newstate)
{
	/* Every way out of SYN_SENT ends the attempt, so that no entry stays: ESTABLISHED or CLOSE, or SYN_RECV (a
	 * simultaneous open: the peer's own SYN came, so it is there), counted as connected. */
	if (oldstate != BPF_TCP_SYN_SENT)
		return 0;
	__u64 key = (__u64)sk;
	struct net_pending_connect *pending = bpf_map_lookup_elem(&pending_connects, &key);
	if (!pending)
		return 0;
	struct net_connect_record *record = &pending->record;
	/* sk_err is set before the move to CLOSE (tcp_done_with_error); none: the process closed it while in progress. */
	int error = newstate != BPF_TCP_CLOSE ? 0 : BPF_CORE_READ(sk, sk_err);
	record->error = error;
	record->result = newstate != BPF_TCP_CLOSE ? NET_RESULT_CONNECTED : error ? net_result_of(error) : NET_RESULT_IN_PROGRESS;
	/* On the way to CLOSE the port is already released (inet_num is 0): the bound source port is in inet_sport. */
	net_sock_local((struct sock *)sk, record->family, record->local_addr, &record->local_port);
	record->local_port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	pending->has_local = 1;
	if (!pending->returned) {
		pending->decided = 1; /* the syscall, still running, emits it */
		return 0;
	}
	emit(record, sizeof(*record));
	bpf_map_delete_elem(&pending_connects, &key);
	return 0;
}

static __always_inline void net_accept_exit(long ret)
{
	if (ret < 0 || is_agent(bpf_get_current_pid_tgid() >> 32))
		return;
	struct sock *sk = net_fd_sock((int)ret);
	if (!sk)
		return;
	__u16 protocol = net_sock_protocol(sk);
	if (!protocol)
		return;
	__u32 zero = 0;
	struct net_pending_connect *scratch = bpf_map_lookup_elem(&net_connect_scratch, &zero);
	if (!scratch)
		return;
	struct net_connect_record *record = &scratch->record;
	__builtin_memset(record, 0, sizeof(*record));
	record->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	record->protocol = protocol;
	record->result = NET_RESULT_CONNECTED;
	net_sock_local(sk, record->family, record->local_addr, &record->local_port);
	net_sock_remote(sk, record->family, record->remote_addr, &record->remote_port);
	net_header(&record->header, SENSOR_NET_ACCEPT, sizeof(*record));
	emit(record, sizeof(*record));
}

SYSCALL_EXIT_PROGRAM(sensor_accept_exit, accept, net_accept_exit)
SYSCALL_EXIT_PROGRAM(sensor_accept4_exit, accept4, net_accept_exit)

/* listen(fd, backlog): the socket is kept from the entry; the exit, when it succeeded, has its bound address (a
 * socket listening unbound gets its port in listen(2)). */
static __always_inline void net_listen_enter(void *ctx, struct sock *sk, int fd)
{
	if (net_sock_protocol(sk) == NET_IPPROTO_TCP && !net_keep_args(sk, fd, NET_KEPT_LISTEN))
		count_loss();
}

SOCKET_ENTER_PROGRAM(sensor_listen_enter, listen, net_listen_enter)

SEC("tracepoint/syscalls/sys_exit_listen")
int sensor_listen_exit(void *ctx)
{
	struct net_syscall_args args;
	if (!net_take_args(&args, NET_KEPT_LISTEN) || SYSCALL_RET(ctx) != 0)
		return 0;
	struct sock *sk = (struct sock *)args.sk;
	struct net_listen_record record = {};
	record.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	record.protocol = NET_IPPROTO_TCP;
	net_sock_local(sk, record.family, record.local_addr, &record.local_port);
	net_header(&record.header, SENSOR_NET_LISTEN, sizeof(record));
	emit(&record, sizeof(record));
	return 0;
}

/* One datagram of a UDP socket: a DNS record when it goes to port 53 (named, or the socket's connected peer). */
static __always_inline void net_dns_send(struct sock *sk, const void *uaddr, int addrlen, const void *payload, __u64 len, __u32 index)
{
	if (net_sock_protocol(sk) != NET_IPPROTO_UDP)
		return;
	__u32 zero = 0;
	struct net_dns_record *record = bpf_map_lookup_elem(&net_dns_scratch, &zero);
	if (!record)
		return;
	__builtin_memset(record->remote_addr, 0, sizeof(record->remote_addr));
	record->family = uaddr ? net_user_sockaddr(uaddr, addrlen, record->remote_addr, &record->remote_port) : 0;
	if (!record->family) {
		record->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		net_sock_remote(sk, record->family, record->remote_addr, &record->remote_port);
	}
	if (record->remote_port != 53 || !payload || len < 13)
		return;
	__u32 size = len > NET_DNS_PAYLOAD ? NET_DNS_PAYLOAD : (__u32)len;
	size &= 0x3ff;
	if (size > NET_DNS_PAYLOAD || bpf_probe_read_user(record->payload, size, payload))
		return;
	record->payload_len = size;
	record->protocol = NET_IPPROTO_UDP;
	record->index = index;
	record->pad = 0;
	net_header(&record->header, SENSOR_NET_DNS, sizeof(*record));
	emit(record, sizeof(*record));
}

/* sendto(fd, buf, len, flags, addr, addrlen); send(2) is sendto with no address. */
static __always_inline void net_sendto_enter(void *ctx, struct sock *sk, int fd)
{
	net_dns_send(sk, (const void *)SYSCALL_ARG(ctx, 4), (int)SYSCALL_ARG(ctx, 5),
		(const void *)SYSCALL_ARG(ctx, 1), SYSCALL_ARG(ctx, 2), 0);
}

SOCKET_ENTER_PROGRAM(sensor_sendto_enter, sendto, net_sendto_enter)

/* One struct msghdr in user memory: its name and its first iovec. */
static __always_inline void net_dns_msghdr(struct sock *sk, const struct user_msghdr *umsg, __u32 index)
{
	struct user_msghdr msg = {};
	if (bpf_probe_read_user(&msg, sizeof(msg), umsg) || !msg.msg_iov || !msg.msg_iovlen)
		return;
	struct iovec iov = {};
	if (bpf_probe_read_user(&iov, sizeof(iov), msg.msg_iov))
		return;
	net_dns_send(sk, msg.msg_name, msg.msg_namelen, iov.iov_base, iov.iov_len, index);
}

/* sendmsg(fd, msg, flags) */
static __always_inline void net_sendmsg_enter(void *ctx, struct sock *sk, int fd)
{
	net_dns_msghdr(sk, (const struct user_msghdr *)SYSCALL_ARG(ctx, 1), 0);
}

SOCKET_ENTER_PROGRAM(sensor_sendmsg_enter, sendmsg, net_sendmsg_enter)

/* sendmmsg(fd, vector, count, flags): the first NET_DNS_MESSAGES messages. */
static __always_inline void net_sendmmsg_enter(void *ctx, struct sock *sk, int fd)
{
	const struct mmsghdr *vector = (const struct mmsghdr *)SYSCALL_ARG(ctx, 1);
	unsigned int count = (unsigned int)SYSCALL_ARG(ctx, 2);
	for (__u32 i = 0; i < NET_DNS_MESSAGES; i++) {
		if (i >= count)
			break;
		net_dns_msghdr(sk, &vector[i].msg_hdr, i);
	}
}

SOCKET_ENTER_PROGRAM(sensor_sendmmsg_enter, sendmmsg, net_sendmmsg_enter)
