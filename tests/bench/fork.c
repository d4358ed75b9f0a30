/* fork.c: process creation and teardown: fork, the child exits at once, the parent waits
 * for it. One operation is the whole fork + exit + wait cycle, measured by the parent. */
#include <stdlib.h>
#include <sys/wait.h>

#include "bench.h"

#define ITERATIONS 200L

int main(void)
{
	const char *name = "fork_exit_wait";
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++) {
		pid_t child = fork();
		if (child < 0) {
			bench_fail(name, "fork: %s", strerror(errno));
			return bench_exit_status();
		}
		if (child == 0)
			_exit(7);
		int status = 0;
		if (waitpid(child, &status, 0) != child) {
			bench_fail(name, "waitpid: %s", strerror(errno));
			return bench_exit_status();
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) {
			bench_fail(name, "child ended with status %#x, expected exit 7", status);
			return bench_exit_status();
		}
	}
	bench_report(name, bench_counter() - start, ITERATIONS);
	return bench_exit_status();
}
