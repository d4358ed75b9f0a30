/* exec.c: starting a program: fork, the child execs a tiny static program (nop), which
 * exits 0; the parent waits. One operation is the whole cycle. The program's path is
 * argv[1], /bench/nop by default. */
#include <stdlib.h>
#include <sys/wait.h>

#include "bench.h"

#define ITERATIONS 100L

int main(int argc, char **argv)
{
	const char *name = "fork_execve_exit_wait";
	const char *program = argc > 1 ? argv[1] : "/bench/nop";
	char *child_argv[] = {(char *)program, 0};
	char *child_envp[] = {0};
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++) {
		pid_t child = fork();
		if (child < 0) {
			bench_fail(name, "fork: %s", strerror(errno));
			return bench_exit_status();
		}
		if (child == 0) {
			execve(program, child_argv, child_envp);
			_exit(127);
		}
		int status = 0;
		if (waitpid(child, &status, 0) != child) {
			bench_fail(name, "waitpid: %s", strerror(errno));
			return bench_exit_status();
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			bench_fail(name,
				   "%s ended with status %#x, expected exit 0 (127: execve failed)",
				   program, status);
			return bench_exit_status();
		}
	}
	bench_report(name, bench_counter() - start, ITERATIONS);
	return bench_exit_status();
}
