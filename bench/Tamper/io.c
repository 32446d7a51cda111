#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* bench/Tamper/run.sh: n open(O_WRONLY|O_CREAT|O_TRUNC)/write/close of files outside any rule; prints ns per iteration. */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	const char *dir = argc > 2 ? argv[2] : "/tmp/tamper-bench/files";
	char path[256], buf[64] = "0123456789012345678901234567890123456789012345678901234567890\n";
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i % 100);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf)) { perror(path); return 1; }
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
