/* time.c: runs a command and reports the time it took. `time COMMAND [ARG...]`: after the
 * command ends, writes to standard error
 *     real 0.123456 s
 *     user 0.100000 s
 *     sys  0.010000 s
 * real from CLOCK_MONOTONIC around fork..wait4, user and sys from the rusage wait4
 * returns for the child. Exit status: the command's (128+N if killed by signal N), 127 if
 * it was not found, 126 if it could not be run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds_between(const struct timespec *start, const struct timespec *end)
{
	return (double)(end->tv_sec - start->tv_sec) + (end->tv_nsec - start->tv_nsec) / 1e9;
}

static double timeval_seconds(const struct timeval *value)
{
	return (double)value->tv_sec + value->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: time COMMAND [ARG...]\n");
		return 2;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "time: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		execvp(argv[1], &argv[1]);
		int error = errno;
		fprintf(stderr, "time: %s: %s\n", argv[1],
			error == ENOENT ? "not found" : strerror(error));
		_exit(error == ENOENT ? 127 : 126);
	}
	/* Like other shells' time, let the command take the terminal's interrupts. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	int status = 0;
	struct rusage usage;
	memset(&usage, 0, sizeof usage);
	pid_t result;
	do
		result = wait4(child, &status, 0, &usage);
	while (result < 0 && errno == EINTR);
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (result < 0) {
		fprintf(stderr, "time: wait4: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "real %.6f s\nuser %.6f s\nsys  %.6f s\n", seconds_between(&start, &end),
		timeval_seconds(&usage.ru_utime), timeval_seconds(&usage.ru_stime));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
