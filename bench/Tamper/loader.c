#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
/* bench/Tamper/run.sh: loader OBJ|- PREFIX|- CMD ARGS...: loads and attaches the programs of OBJ (none with -) as the agent
 * does (a sensor_X program is left out when the object has tamper_X, which does both parts: agent/Sensor/KernelSensor.cs),
 * runs CMD, waits, and prints the run count and average run time of the programs whose name starts with PREFIX
 * (BPF_STATS_RUN_TIME while it runs; with - no statistics are kept, as in production: they cost two clock reads a run). */
int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	int stats = -1;
	if (strcmp(argv[1], "-") != 0) {
		obj = bpf_object__open_file(argv[1], NULL);
		if (!obj) { perror("open"); return 1; }
		bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "scratch"), libbpf_num_possible_cpus());
		struct bpf_program *q;
		bpf_object__for_each_program(q, obj) {
			const char *name = bpf_program__name(q);
			char folded[128];
			if (strncmp(name, "sensor_", 7) == 0 && snprintf(folded, sizeof(folded), "tamper_%s", name + 7) < (int)sizeof(folded)
			    && bpf_object__find_program_by_name(obj, folded))
				bpf_program__set_autoload(q, false);
		}
		if (bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
		struct bpf_program *p;
		bpf_object__for_each_program(p, obj) {
			if (!bpf_program__autoload(p))
				continue;
			if (!bpf_program__attach(p)) { fprintf(stderr, "attach %s failed\n", bpf_program__name(p)); return 1; }
		}
		if (strcmp(argv[2], "-") != 0)
			stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	}
	pid_t pid = fork();
	if (pid == 0) { execv(argv[3], argv + 3); _exit(127); }
	int status;
	waitpid(pid, &status, 0);
	if (obj && stats >= 0) {
		struct bpf_program *p;
		unsigned long long cnt = 0, ns = 0;
		bpf_object__for_each_program(p, obj) {
			if (strncmp(bpf_program__name(p), argv[2], strlen(argv[2])) != 0) continue;
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);
			bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
			if (info.run_cnt)
				fprintf(stderr, "  %s: %llu runs, %.0f ns each\n", bpf_program__name(p), info.run_cnt, (double)info.run_time_ns / info.run_cnt);
			cnt += info.run_cnt; ns += info.run_time_ns;
		}
		fprintf(stderr, "  %s*: %llu runs, %llu ns in all\n", argv[2], cnt, ns);
	}
	if (stats >= 0) close(stats);
	return WEXITSTATUS(status);
}
