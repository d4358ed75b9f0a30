/* pipe.c: a pipe ping-pong between two processes: the parent writes one byte, the child
 * reads it and writes it back through a second pipe, the parent reads it. One operation
 * is a round trip: two writes, two reads and two switches between the processes. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "bench.h"

#define ITERATIONS 5000L

static int transfer(int from, int to)
{
	unsigned char byte;
	if (read(from, &byte, 1) != 1)
		return -1;
	byte++;
	return write(to, &byte, 1) == 1 ? 0 : -1;
}

int main(void)
{
	const char *name = "pipe_pingpong";
	int to_child[2];
	int to_parent[2];
	if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
		bench_fail(name, "pipe: %s", strerror(errno));
		return bench_exit_status();
	}
	pid_t child = fork();
	if (child < 0) {
		bench_fail(name, "fork: %s", strerror(errno));
		return bench_exit_status();
	}
	if (child == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		/* One extra round for the warm-up; the loop ends when the parent closes. */
		for (long round = 0; round <= ITERATIONS; round++)
			if (transfer(to_child[0], to_parent[1]) != 0)
				_exit(3);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	unsigned char byte = 0;
	long wrong = 0;
	uint64_t start = 0;
	for (long round = 0; round <= ITERATIONS; round++) {
		/* Round 0 warms up both processes; timing starts after it. */
		if (round == 1)
			start = bench_counter();
		unsigned char sent = (unsigned char)round;
		if (write(to_child[1], &sent, 1) != 1 || read(to_parent[0], &byte, 1) != 1) {
			bench_fail(name, "round %ld: %s", round, strerror(errno));
			kill(child, 9);
			waitpid(child, 0, 0);
			return bench_exit_status();
		}
		wrong += byte != (unsigned char)(sent + 1);
	}
	uint64_t ticks = bench_counter() - start;
	int status = 0;
	waitpid(child, &status, 0);
	if (wrong != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_fail(name, "%ld wrong bytes, child status %#x", wrong, status);
	else
		bench_report(name, ticks, ITERATIONS);
	return bench_exit_status();
}
