// The sensor benchmark's load generator (bench/SensorBenchmarks.cs compiles it with clang-14 at start).
// Perl could not offer more than about 8k events/s on 2 cores; this offers what it is asked for, paced by the
// monotonic clock, and says what it reached.
//
//   storm storm RATE SECONDS EXECS PORT MARKER WORKERS
//       RATE events a second for SECONDS: up to EXECS a second are execs of `/usr/bin/true MARKER-N` (posix_spawn,
//       reaped by the kernel: SIGCHLD is ignored), the rest refused TCP connects to 127.0.0.1:PORT (a port bound and
//       not listening: socket, connect, close). WORKERS processes make the execs (niced), WORKERS others the connects,
//       which fill what the execs leave of the rate: an exec costs milliseconds here, and when they fall behind the
//       total is still RATE. Each worker wakes every TICK_NS (clock_nanosleep on CLOCK_MONOTONIC, absolute) and makes what is
//       due by then, so one that fell behind catches up as fast as it can. Prints "execs=N connects=N seconds=S"
//       (seconds from the start to the last worker's end).
//   storm workload EXECS CONNECTS REFUSED PORT
//       The monitored workload of the overhead figure, in three parts: EXECS fork+exec of /usr/bin/true, each waited
//       for; CONNECTS TCP connections to a loopback listener of this program's own, each accepted (socket, connect,
//       accept, then both ends closed: the client with SO_LINGER 0, a reset, so that no port is left in TIME_WAIT and
//       20,000 of them cannot run out of ephemeral ports); then REFUSED refused connects to 127.0.0.1:PORT (bound and
//       not listening): a sensor's worst case (the connect is cheap and all of it is recorded), reported apart.
//       Prints "execs=S execs_cpu=S connects=S connects_cpu=S refused=S refused_cpu=S bpf=N": seconds of each part,
//       on the clock and of CPU (this process's and its children's, kernel time included: where a sensor's programs
//       run), and bpf (below).
//   storm syscalls GETPPIDS WRITES
//       GETPPIDS getppid(2) then WRITES one-byte write(2)s to /dev/null: cheap calls, where a sensor that runs on every
//       system call shows. Prints "getppid=S getppid_cpu=S write=S write_cpu=S bpf=N".
//   storm attempt PATH
//       One open(PATH, O_WRONLY) (the alert latency benchmark's refused attempt, a fresh process each time), the
//       wall clock (CLOCK_REALTIME) read just before it. Prints "time_ns=N errno=E" (E 0 when the open went through).
// Every mode runs in a session of its own (see main). bpf=N: the most tracing BPF programs (tracing, tracepoint, raw tracepoint, kprobe, perf event, LSM) loaded on the
// machine at the start or end of the run: a no-agent time taken while another process's sensor was loaded is not one.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define TICK_NS 1000000L // 1 ms: at 50k events/s, 50 events a tick (a wake-up costs, and more under a sensor)
#define TRUE_PATH "/usr/bin/true"
#define EXEC_NICE 10

static void die(const char *what)
{
    fprintf(stderr, "storm: %s: %s\n", what, strerror(errno));
    exit(1);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

// CPU time of this process and of its children waited for, user and kernel.
static long long cpu_ns(void)
{
    struct rusage self, children;
    if (getrusage(RUSAGE_SELF, &self) != 0 || getrusage(RUSAGE_CHILDREN, &children) != 0)
        die("getrusage");
    long long us = 0;
    struct timeval all[] = { self.ru_utime, self.ru_stime, children.ru_utime, children.ru_stime };
    for (int i = 0; i < 4; i++)
        us += all[i].tv_sec * 1000000LL + all[i].tv_usec;
    return us * 1000;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
}

static void refused_connect(const struct sockaddr_in *to)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    if (connect(s, (const struct sockaddr *)to, sizeof *to) == 0)
        fprintf(stderr, "storm: a connect to port %d was accepted (it should be refused)\n", ntohs(to->sin_port)), exit(1);
    close(s);
}

static int bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

// Tracing BPF programs loaded on the machine now (of any process).
static int tracing_programs(void)
{
    int count = 0;
    union bpf_attr next = { 0 };
    while (bpf(BPF_PROG_GET_NEXT_ID, &next) == 0) {
        union bpf_attr by_id = { .prog_id = next.next_id };
        next.start_id = next.next_id;
        int fd = bpf(BPF_PROG_GET_FD_BY_ID, &by_id);
        if (fd < 0)
            continue; // unloaded meanwhile
        struct bpf_prog_info info = { 0 };
        union bpf_attr get = { .info = { .bpf_fd = (unsigned)fd, .info_len = sizeof info, .info = (unsigned long long)(unsigned long)&info } };
        if (bpf(BPF_OBJ_GET_INFO_BY_FD, &get) == 0)
            switch (info.type) {
            case BPF_PROG_TYPE_TRACING:
            case BPF_PROG_TYPE_TRACEPOINT:
            case BPF_PROG_TYPE_RAW_TRACEPOINT:
            case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
            case BPF_PROG_TYPE_KPROBE:
            case BPF_PROG_TYPE_PERF_EVENT:
            case BPF_PROG_TYPE_LSM:
                count++;
                break;
            default:
                break;
            }
        close(fd);
    }
    return count;
}

// Shared by the worker processes (an anonymous shared mapping made before they fork).
struct shared {
    long long total; // execs and connects made so far, by every worker: what the connects fill up to the rate
    long long made[128];
};

struct worker {
    double rate;            // execs: execs a second; connects: events (of both kinds) a second, shared by the connecters
    long long start, until; // monotonic ns
    int execs;              // 1: execs; 0: connects
    int port;
    const char *marker;
    int index;              // execs: the marker's numbers are index, index + stride, ...
    int stride;
};

static void pace(const struct worker *w, struct shared *shared)
{
    struct sockaddr_in to = loopback(w->port);
    char name[160];
    char *argv[] = { TRUE_PATH, name, NULL };
    struct timespec wake;
    long long made = 0, tick = w->start;
    if (w->execs) {
        signal(SIGCHLD, SIG_IGN); // the kernel reaps the execs: nothing waits for them in the loop
        // An exec costs milliseconds of CPU here (its child's too): when the machine is short of CPU, the execs,
        // behind, would take it all, and the connects fell to a third of their rate. Niced, they take what is left.
        if (setpriority(PRIO_PROCESS, 0, EXEC_NICE) != 0)
            die("setpriority");
    }
    while (tick < w->until) {
        long long now = now_ns();
        if (now >= w->until)
            break;
        long long due = (long long)((double)(now - w->start) * w->rate / 1e9);
        if (w->execs) {
            while (made < due && now_ns() < w->until) {
                pid_t pid;
                snprintf(name, sizeof name, "%s-%lld", w->marker, w->index + made * w->stride);
                int error = posix_spawn(&pid, TRUE_PATH, NULL, NULL, argv, environ);
                if (error != 0)
                    errno = error, die("posix_spawn " TRUE_PATH);
                made++;
                __atomic_add_fetch(&shared->total, 1, __ATOMIC_RELAXED);
            }
        } else {
            // Claim one event of the total at a time, so the connecters together make up what is due.
            while (now_ns() < w->until) {
                if (__atomic_fetch_add(&shared->total, 1, __ATOMIC_RELAXED) >= due) {
                    __atomic_sub_fetch(&shared->total, 1, __ATOMIC_RELAXED); // not due yet: give the claim back
                    break;
                }
                refused_connect(&to);
                made++;
            }
        }
        tick += TICK_NS;
        if (tick < now)
            tick = now; // behind: no sleep, go on catching up
        wake.tv_sec = tick / 1000000000LL;
        wake.tv_nsec = tick % 1000000000LL;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL) == EINTR)
            ;
    }
    shared->made[w->index] = made;
}

static int storm(int argc, char **argv)
{
    if (argc != 8)
        return fprintf(stderr, "usage: storm storm RATE SECONDS EXECS PORT MARKER WORKERS\n"), 2;
    double rate = atof(argv[2]), seconds = atof(argv[3]), execs = atof(argv[4]);
    int port = atoi(argv[5]), workers = atoi(argv[7]);
    const char *marker = argv[6];
    if (rate <= 0 || seconds <= 0 || execs < 0 || port <= 0 || port > 65535 || workers < 1 || workers > 64)
        return fprintf(stderr, "storm: bad arguments\n"), 2;
    if (execs > rate)
        execs = rate;
    struct shared *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die("mmap");

    // Processes, not threads: a posix_spawn (vfork) in the connecters' process slowed their connects to a third here.
    // WORKERS processes share the execs (posix_spawn blocks each until its child has exec'd), WORKERS the connects.
    long long start = now_ns() + 10000000LL, until = start + (long long)(seconds * 1e9);
    int execers = execs > 0 ? workers : 0, connecters = execs < rate ? workers : 0;
    pid_t pids[128];
    for (int i = 0; i < execers + connecters; i++) {
        struct worker w = { .start = start, .until = until, .port = port, .marker = marker, .index = i };
        if (i < execers)
            w.execs = 1, w.rate = execs / execers, w.stride = execers;
        else
            w.rate = rate;
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork");
        if (pids[i] == 0) {
            pace(&w, shared);
            _exit(0);
        }
    }
    for (int i = 0; i < execers + connecters; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "storm: a worker failed\n"), exit(1);
    }
    long long end = now_ns(), made_execs = 0, made_connects = 0;
    for (int i = 0; i < execers + connecters; i++)
        *(i < execers ? &made_execs : &made_connects) += shared->made[i];
    printf("execs=%lld connects=%lld seconds=%.6f\n", made_execs, made_connects, (double)(end - start) / 1e9);
    return 0;
}

// A listening socket on 127.0.0.1 (a port the kernel picks), and its address.
static int loopback_listener(struct sockaddr_in *at)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    *at = loopback(0);
    socklen_t len = sizeof *at;
    if (bind(s, (const struct sockaddr *)at, sizeof *at) != 0 || listen(s, 128) != 0 || getsockname(s, (struct sockaddr *)at, &len) != 0)
        die("listen on 127.0.0.1");
    return s;
}

// One connection to the listener, accepted, then closed at both ends. On loopback a blocking connect returns once the
// handshake is done, so the connection waits in the listener's queue and accept takes it at once; one thread does
// both, as a service calling another on the same host would, with no scheduling between them to time.
static void accepted_connect(int listener, const struct sockaddr_in *to)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    if (connect(s, (const struct sockaddr *)to, sizeof *to) != 0)
        die("connect to the loopback listener");
    int peer = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (peer < 0)
        die("accept");
    struct linger reset = { .l_onoff = 1, .l_linger = 0 };
    if (setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset) != 0)
        die("SO_LINGER");
    close(s);
    close(peer);
}

static int workload(int argc, char **argv)
{
    if (argc != 6)
        return fprintf(stderr, "usage: storm workload EXECS CONNECTS REFUSED PORT\n"), 2;
    long execs = atol(argv[2]), connects = atol(argv[3]), refused = atol(argv[4]);
    struct sockaddr_in closed = loopback(atoi(argv[5])), listening;
    int listener = loopback_listener(&listening);
    char *args[] = { TRUE_PATH, NULL };
    int programs = tracing_programs();
    long long t0 = now_ns(), c0 = cpu_ns();
    for (long i = 0; i < execs; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            execv(TRUE_PATH, args);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "storm: " TRUE_PATH " failed\n"), exit(1);
    }
    long long t1 = now_ns(), c1 = cpu_ns();
    for (long i = 0; i < connects; i++)
        accepted_connect(listener, &listening);
    long long t2 = now_ns(), c2 = cpu_ns();
    for (long i = 0; i < refused; i++)
        refused_connect(&closed);
    long long t3 = now_ns(), c3 = cpu_ns();
    close(listener);
    int after = tracing_programs();
    printf("execs=%.6f execs_cpu=%.6f connects=%.6f connects_cpu=%.6f refused=%.6f refused_cpu=%.6f bpf=%d\n", (double)(t1 - t0) / 1e9,
           (double)(c1 - c0) / 1e9, (double)(t2 - t1) / 1e9, (double)(c2 - c1) / 1e9, (double)(t3 - t2) / 1e9, (double)(c3 - c2) / 1e9,
           after > programs ? after : programs);
    return 0;
}

static int syscalls(int argc, char **argv)
{
    if (argc != 4)
        return fprintf(stderr, "usage: storm syscalls GETPPIDS WRITES\n"), 2;
    long getppids = atol(argv[2]), writes = atol(argv[3]);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0)
        die("/dev/null");
    int programs = tracing_programs();
    long long t0 = now_ns(), c0 = cpu_ns();
    for (long i = 0; i < getppids; i++)
        syscall(SYS_getppid); // not the libc wrapper: the call itself, every time
    long long t1 = now_ns(), c1 = cpu_ns();
    for (long i = 0; i < writes; i++)
        if (write(null, "", 1) != 1)
            die("write /dev/null");
    long long t2 = now_ns(), c2 = cpu_ns();
    close(null);
    int after = tracing_programs();
    printf("getppid=%.6f getppid_cpu=%.6f write=%.6f write_cpu=%.6f bpf=%d\n", (double)(t1 - t0) / 1e9, (double)(c1 - c0) / 1e9,
           (double)(t2 - t1) / 1e9, (double)(c2 - c1) / 1e9, after > programs ? after : programs);
    return 0;
}

static int attempt(int argc, char **argv)
{
    if (argc != 3)
        return fprintf(stderr, "usage: storm attempt PATH\n"), 2;
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
    int error = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    printf("time_ns=%lld errno=%d\n", (long long)at.tv_sec * 1000000000LL + at.tv_nsec, error);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    // A session of its own, as a host's workload has beside an agent run as a service. With autogroup scheduling (on
    // here, as on most distributions) a session is a scheduling group: in the benchmark's session the load shared one
    // group's time with the api and the agent it is measuring, and fell far short of its rate when they were busy.
    if (setsid() < 0)
        die("setsid");
    if (argc >= 2 && strcmp(argv[1], "storm") == 0)
        return storm(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "workload") == 0)
        return workload(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "syscalls") == 0)
        return syscalls(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "attempt") == 0)
        return attempt(argc, argv);
    fprintf(stderr, "usage: storm storm|workload|syscalls|attempt ...\n");
    return 2;
}
