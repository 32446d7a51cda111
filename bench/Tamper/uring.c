#define main tamper_main
#include "../../tests/Enforcement/tamper.c" /* its io_uring ring without liburing: ring_setup, ring_do */
#undef main
#include <stdlib.h>
#include <time.h>
/* bench/Tamper/run.sh: n io_uring WRITEs (or READs with "read") of 64 bytes at offset 0 of a file outside any rule, each
 * submitted alone and waited for; prints ns per request. */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	const char *path = argc > 2 ? argv[2] : "/tmp/tamper-bench/uring";
	int reading = argc > 3 && !strcmp(argv[3], "read");
	static char buf[64] = "0123456789012345678901234567890123456789012345678901234567890\n";
	struct ring r;
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ring_setup(&r) || write(fd, buf, sizeof buf) != sizeof buf) { perror(path); return 1; }
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof sqe);
	sqe.opcode = reading ? IORING_OP_READ : IORING_OP_WRITE;
	sqe.fd = fd;
	sqe.addr = (uintptr_t)buf;
	sqe.len = sizeof buf;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		if (ring_do(&r, &sqe) != sizeof buf) { fprintf(stderr, "request %d failed\n", i); return 1; }
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
