// Tamper techniques at the system-call level, for the enforcement tests (compiled by them with clang-14).
// tamper <technique> <path> [other path]; exit code 0 when the change went through, else the errno of the call
// that was refused (100+ when the technique itself cannot run here, e.g. io_uring turned off).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(void) { return errno ? errno : 99; }

static int write_all(int fd, const char *text) { return write(fd, text, strlen(text)) < 0 ? fail() : 0; }

// io_uring without liburing: one ring; each request submitted alone and waited for.
struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    r->fd = syscall(__NR_io_uring_setup, 4, &params);
    if (r->fd < 0) return 100;
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(0, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    char *cq = mmap(0, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    r->sqes = mmap(0, params.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) return 101;
    r->sq_tail = (unsigned *)(sq + params.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + params.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + params.sq_off.array);
    r->cq_head = (unsigned *)(cq + params.cq_off.head);
    r->cq_mask = (unsigned *)(cq + params.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
    return 0;
}

// Submits *request, waits for its completion and returns its result (-errno on failure; -1000 when the ring failed).
static int ring_do(struct ring *r, const struct io_uring_sqe *request) {
    unsigned tail = *r->sq_tail, index = tail & *r->sq_mask;
    r->sqes[index] = *request;
    r->sq_array[index] = index;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, 0, 0) < 0) return -1000;
    unsigned head = __atomic_load_n(r->cq_head, __ATOMIC_ACQUIRE);
    int result = r->cqes[head & *r->cq_mask].res;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return result;
}

static int exit_of(int result) { return result == -1000 ? 102 : result < 0 ? -result : 0; }

// An OPENAT (flags) then, when it opened, a WRITE (or a READ with O_RDONLY) through the fd; sqe_flags on each
// (IOSQE_ASYNC: run by an io-wq worker).
static int uring_open(struct ring *r, const char *path, int flags, unsigned char sqe_flags) {
    static const char text[] = "tampered by io_uring\n";
    static char buffer[64];
    struct io_uring_sqe sqe;
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_OPENAT;
    sqe.flags = sqe_flags;
    sqe.fd = AT_FDCWD;
    sqe.addr = (uintptr_t)path;
    sqe.open_flags = flags;
    int fd = ring_do(r, &sqe);
    if (fd < 0) return exit_of(fd);
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = (flags & O_ACCMODE) == O_RDONLY ? IORING_OP_READ : IORING_OP_WRITE;
    sqe.flags = sqe_flags;
    sqe.fd = fd;
    sqe.addr = (uintptr_t)((flags & O_ACCMODE) == O_RDONLY ? buffer : text);
    sqe.len = (flags & O_ACCMODE) == O_RDONLY ? sizeof buffer : sizeof text - 1;
    return exit_of(ring_do(r, &sqe));
}

static int uring(const char *how, const char *path, const char *other) {
    struct ring r;
    int set = ring_setup(&r);
    if (set) return set;
    if (!strcmp(how, "uring")) return uring_open(&r, path, O_WRONLY, 0);
    if (!strcmp(how, "uring-async")) return uring_open(&r, path, O_WRONLY, IOSQE_ASYNC);
    if (!strcmp(how, "uring-read")) return uring_open(&r, path, O_RDONLY, 0);
    if (!strcmp(how, "uring-noappend")) {
        // An append-only file opens for appending (a syscall); the io_uring WRITE then asks not to append (RWF_NOAPPEND).
        int fd = open(path, O_WRONLY | O_APPEND);
        if (fd < 0) return fail();
        struct io_uring_sqe sqe;
        memset(&sqe, 0, sizeof sqe);
        sqe.opcode = IORING_OP_WRITE;
        sqe.fd = fd;
        sqe.addr = (uintptr_t)"X";
        sqe.len = 1;
        sqe.rw_flags = 0x20; // RWF_NOAPPEND (Linux 6.9)
        return exit_of(ring_do(&r, &sqe));
    }
    if (!strcmp(how, "uring-fork")) {
        // The ring is made here and used by a child (as nobody when other is "nobody"), which prints its pid first.
        pid_t child = fork();
        if (child < 0) return fail();
        if (child == 0) {
            if (!strcmp(other, "nobody") && (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))) _exit(103);
            printf("%d\n", getpid());
            fflush(stdout);
            _exit(uring_open(&r, path, O_WRONLY, IOSQE_ASYNC));
        }
        int status;
        if (waitpid(child, &status, 0) < 0) return fail();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 104;
    }
    return 98;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: tamper technique path [other]\n"); return 98; }
    const char *how = argv[1], *path = argv[2], *other = argc > 3 ? argv[3] : "";
    int fd;
    errno = 0;
    if (!strcmp(how, "truncate")) return truncate(path, 0) ? fail() : 0;
    if (!strcmp(how, "ftruncate")) {
        // O_APPEND so that an append-only file opens: its ftruncate is then the call refused.
        if ((fd = open(path, O_WRONLY | O_APPEND)) < 0) return fail();
        return ftruncate(fd, 0) ? fail() : 0;
    }
    if (!strcmp(how, "otrunc")) return (fd = open(path, O_WRONLY | O_TRUNC)) < 0 ? fail() : 0;
    if (!strcmp(how, "rplus")) {
        if ((fd = open(path, O_RDWR)) < 0) return fail();
        return write_all(fd, "X");
    }
    if (!strcmp(how, "mmap")) {
        if ((fd = open(path, O_RDWR)) < 0) return fail();
        char *map = mmap(0, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) return fail();
        map[0] = 'X';
        return msync(map, 1, MS_SYNC) ? fail() : 0;
    }
    if (!strcmp(how, "procfd")) {
        // Opened for reading (allowed), then opened again for writing through /proc/self/fd/N.
        char again[64];
        if ((fd = open(path, O_RDONLY)) < 0) return fail();
        snprintf(again, sizeof again, "/proc/self/fd/%d", fd);
        int writable = open(again, O_WRONLY);
        if (writable < 0) return fail();
        return write_all(writable, "tampered through /proc/self/fd\n");
    }
    if (!strcmp(how, "rename-over")) return rename(other, path) ? fail() : 0;
    if (!strncmp(how, "uring", 5)) return uring(how, path, other);
    fprintf(stderr, "unknown technique %s\n", how);
    return 98;
}
