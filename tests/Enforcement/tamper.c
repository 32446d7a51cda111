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
#include <unistd.h>

static int fail(void) { return errno ? errno : 99; }

static int write_all(int fd, const char *text) { return write(fd, text, strlen(text)) < 0 ? fail() : 0; }

// io_uring without liburing: one ring, an OPENAT then a WRITE, each waited for.
static int uring(const char *path) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int ring = syscall(__NR_io_uring_setup, 4, &params);
    if (ring < 0) return 100;
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(0, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
    char *cq = mmap(0, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes = mmap(0, params.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return 101;
    unsigned *sq_tail = (unsigned *)(sq + params.sq_off.tail), *sq_mask = (unsigned *)(sq + params.sq_off.ring_mask);
    unsigned *sq_array = (unsigned *)(sq + params.sq_off.array);
    unsigned *cq_head = (unsigned *)(cq + params.cq_off.head), *cq_mask = (unsigned *)(cq + params.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
    static const char text[] = "tampered by io_uring\n";
    int result = 0;
    for (int step = 0; step < 2; step++) {
        unsigned tail = *sq_tail, index = tail & *sq_mask;
        struct io_uring_sqe *sqe = &sqes[index];
        memset(sqe, 0, sizeof *sqe);
        if (step == 0) {
            sqe->opcode = IORING_OP_OPENAT;
            sqe->fd = AT_FDCWD;
            sqe->addr = (uintptr_t)path;
            sqe->open_flags = O_WRONLY;
        } else {
            sqe->opcode = IORING_OP_WRITE;
            sqe->fd = result;
            sqe->addr = (uintptr_t)text;
            sqe->len = sizeof text - 1;
            sqe->off = 0;
        }
        sq_array[index] = index;
        __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
        if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, 0, 0) < 0) return 102;
        unsigned head = __atomic_load_n(cq_head, __ATOMIC_ACQUIRE);
        result = cqes[head & *cq_mask].res;
        __atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
        if (result < 0) return -result;
    }
    return 0;
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
    if (!strcmp(how, "uring")) return uring(path);
    fprintf(stderr, "unknown technique %s\n", how);
    return 98;
}
