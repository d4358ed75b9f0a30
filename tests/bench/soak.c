/* soak.c: 10,000 cycles of fork + execve of a tiny static program (nop) + exit + wait,
 * one operation being the whole cycle, with a leak check: on this system the process
 * server's counters in /proc/meminfo (the Sel4* lines, MemFree) after the cycles must
 * equal those after a warm-up cycle (the lines that follow from a free list may differ
 * only if a free list grew; tests/programs/soak.c says why), or the benchmark fails:
 *   BENCH_FAIL soak_fork_execve_exit_wait: counters changed: <name old->new>...
 * On Linux there are no Sel4* lines and MemFree follows the page cache, so only the
 * cost is reported. The program's path is argv[1], /bench/nop by default. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "bench.h"

#define ITERATIONS 10000L
#define MAX_COUNTERS 48

struct counters {
	int count;
	char names[MAX_COUNTERS][32];
	unsigned long long values[MAX_COUNTERS];
};

/* Static, so that reading them never grows our own stack into a new page. */
static struct counters before, after;
static char text[4096];

/* Whether a line may differ because a free list grew (see root-task/src/linux/procfs.rs):
 * the free lists themselves and the memory and slot lines that follow from them. */
static int follows_free_lists(const char *name)
{
	static const char *const names[] = {"MemFree",         "MemAvailable",
					    "Sel4UntypedFree", "Sel4CapSlotsFree",
					    "Sel4CapSlotsUsed", "Sel4CSpaceLeaves",
					    "Sel4WindowPageTables"};
	for (size_t index = 0; index < sizeof names / sizeof *names; index++)
		if (strcmp(name, names[index]) == 0)
			return 1;
	size_t length = strlen(name);
	return strncmp(name, "Sel4", 4) == 0 && length > 4 && strcmp(name + length - 4, "Free") == 0;
}

/* A free list: Sel4FramesFree, Sel4TcbsFree, Sel4VSpacesFree, ... */
static int is_free_list(const char *name)
{
	return follows_free_lists(name) && strncmp(name, "Sel4", 4) == 0 &&
	       strcmp(name, "Sel4UntypedFree") != 0 && strcmp(name, "Sel4CapSlotsFree") != 0 &&
	       strcmp(name + strlen(name) - 4, "Free") == 0;
}

/* The Sel4* lines and MemFree; returns how many Sel4* lines there were. */
static int read_counters(struct counters *counters)
{
	counters->count = 0;
	int descriptor = open("/proc/meminfo", O_RDONLY);
	if (descriptor < 0)
		return 0;
	ssize_t length = read(descriptor, text, sizeof text - 1);
	close(descriptor);
	if (length <= 0)
		return 0;
	text[length] = 0;
	int server_lines = 0;
	for (char *line = text; line && *line && counters->count < MAX_COUNTERS;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *name = counters->names[counters->count];
		unsigned long long value = 0;
		if (sscanf(line, "%31[^:]: %llu", name, &value) == 2 &&
		    (strncmp(name, "Sel4", 4) == 0 || strcmp(name, "MemFree") == 0)) {
			counters->values[counters->count++] = value;
			if (strncmp(name, "Sel4", 4) == 0)
				server_lines++;
		}
		line = next;
	}
	return server_lines;
}

static int cycle(const char *program, char **child_argv, char **child_envp, const char *name)
{
	pid_t child = fork();
	if (child < 0) {
		bench_fail(name, "fork: %s", strerror(errno));
		return -1;
	}
	if (child == 0) {
		execve(program, child_argv, child_envp);
		_exit(127);
	}
	int status = 0;
	if (waitpid(child, &status, 0) != child) {
		bench_fail(name, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_fail(name, "%s ended with status %#x, expected exit 0", program, status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = "soak_fork_execve_exit_wait";
	const char *program = argc > 1 ? argv[1] : "/bench/nop";
	char *child_argv[] = {(char *)program, 0};
	char *child_envp[] = {0};
	if (cycle(program, child_argv, child_envp, name) != 0)
		return bench_exit_status();
	/* Read into `after` once too, so its pages are ours before the first count. */
	read_counters(&after);
	int server_lines = read_counters(&before);
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++)
		if (cycle(program, child_argv, child_envp, name) != 0)
			return bench_exit_status();
	uint64_t ticks = bench_counter() - start;
	if (server_lines > 0) {
		read_counters(&after);
		char differences[200] = "";
		size_t used = 0;
		int changed = after.count != before.count;
		int free_lists_grew = 0;
		for (int index = 0; index < before.count && index < after.count; index++)
			if (is_free_list(before.names[index]) &&
			    after.values[index] > before.values[index])
				free_lists_grew = 1;
		for (int index = 0; index < before.count && index < after.count; index++) {
			if (strcmp(before.names[index], after.names[index]) == 0 &&
			    (before.values[index] == after.values[index] ||
			     (free_lists_grew && follows_free_lists(before.names[index]))))
				continue;
			changed = 1;
			int written = snprintf(differences + used, sizeof differences - used,
					       " %s %llu->%llu", before.names[index],
					       before.values[index], after.values[index]);
			if (written > 0 && (size_t)written < sizeof differences - used)
				used += (size_t)written;
		}
		if (changed) {
			bench_fail(name, "counters changed after %ld cycles:%s", ITERATIONS,
				   differences);
			return bench_exit_status();
		}
	}
	bench_report(name, ticks, ITERATIONS);
	return bench_exit_status();
}
