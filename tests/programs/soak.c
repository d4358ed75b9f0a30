/* soak.c: N cycles of fork + execve of a small static program + exit + wait, with the
 * process server's counters in /proc/meminfo read after a warm-up cycle and again after
 * the N cycles: every counter must be back where it was (no slot, object, frame or byte
 * of untyped memory lost per cycle).
 *
 * Usage: soak [cycles [program]]   (default 500 cycles of /bin/true).
 *
 * Compared: every /proc/meminfo line except MemTotal (a constant). The server's only
 * caches are its free lists (frames, TCBs, VSpaces, page tables and CNodes of an exited
 * process come back at the next fork); the warm-up cycle fills them. One may still grow
 * when a cycle needs more at once than the warm-up did (a randomized stack straddling one
 * more page table); only then may the lines that follow from a free list differ (the
 * lists, MemFree/MemAvailable, Sel4UntypedFree, Sel4CapSlotsFree/Used, Sel4CSpaceLeaves,
 * Sel4WindowPageTables), while every in-use count and Sel4CapSlotsLive must be equal
 * (see root-task/src/linux/procfs.rs). Under Linux
 * (qemu-user) the Sel4* lines are absent and MemFree moves with the page cache, so the
 * comparison needs the Sel4 lines and is skipped without a vDSO. */
#include <fcntl.h>
#include <signal.h>

#include "testlib.h"

#define MAX_COUNTERS 48

struct counter {
	char name[32];
	unsigned long long value;
};

struct counters {
	int count;
	struct counter entries[MAX_COUNTERS];
};

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

static int read_counters(struct counters *counters)
{
	char text[4096];
	int descriptor = open("/proc/meminfo", O_RDONLY);
	if (descriptor < 0)
		return -1;
	ssize_t length = 0;
	for (;;) {
		ssize_t got = read(descriptor, text + length, sizeof text - 1 - (size_t)length);
		if (got <= 0)
			break;
		length += got;
	}
	close(descriptor);
	if (length <= 0)
		return -1;
	text[length] = 0;
	counters->count = 0;
	char *line = text;
	while (line && *line && counters->count < MAX_COUNTERS) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		struct counter *entry = &counters->entries[counters->count];
		if (sscanf(line, "%31[^:]: %llu", entry->name, &entry->value) == 2 &&
		    strcmp(entry->name, "MemTotal") != 0)
			counters->count++;
		line = next;
	}
	return 0;
}

static int run_cycle(const char *program)
{
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		char *arguments[] = {(char *)program, NULL};
		char *environment[] = {NULL};
		execve(program, arguments, environment);
		_exit(127);
	}
	int status = 0;
	if (waitpid(child, &status, 0) != child)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : status;
}

static long counter_value(const struct counters *counters, const char *name)
{
	for (int index = 0; index < counters->count; index++)
		if (strcmp(counters->entries[index].name, name) == 0)
			return (long)counters->entries[index].value;
	return -1;
}

static long cycles = 500;
static const char *program = "/bin/true";

static void test_soak_fork_exec_counters_return(void)
{
	SKIP_WITHOUT_VDSO();
	/* Static, so that no new stack page of ours shows up in the counters. */
	static struct counters before, during, after;
	CHECK_EQ(run_cycle(program), 0);
	/* `during` and `after` are read into once first, so that their pages are already
	 * ours (a first touch of a .bss page adds a frame). */
	CHECK_OK(read_counters(&during));
	CHECK_OK(read_counters(&after));
	CHECK_OK(read_counters(&before));
	int has_server_counters = 0;
	for (int index = 0; index < before.count; index++)
		if (strncmp(before.entries[index].name, "Sel4", 4) == 0)
			has_server_counters = 1;
	CHECK_MSG(has_server_counters, "/proc/meminfo has no Sel4* counters");
	/* The counters are live: a child that exists shows up in them. */
	pid_t sleeper = fork();
	CHECK(sleeper >= 0);
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	int read_during = read_counters(&during);
	kill(sleeper, SIGKILL);
	CHECK_EQ(waitpid(sleeper, NULL, 0), sleeper);
	CHECK_OK(read_during);
	CHECK_EQ(counter_value(&during, "Sel4Processes"), counter_value(&before, "Sel4Processes") + 1);
	CHECK_EQ(counter_value(&during, "Sel4Tcbs"), counter_value(&before, "Sel4Tcbs") + 1);
	CHECK_EQ(counter_value(&during, "Sel4VSpaces"), counter_value(&before, "Sel4VSpaces") + 1);
	CHECK_MSG(counter_value(&during, "Sel4Frames") > counter_value(&before, "Sel4Frames"),
		  "Sel4Frames %ld with a child, %ld without", counter_value(&during, "Sel4Frames"),
		  counter_value(&before, "Sel4Frames"));
	for (long cycle = 0; cycle < cycles; cycle++) {
		int result = run_cycle(program);
		CHECK_MSG(result == 0, "cycle %ld: %s: status %#x", cycle, program, result);
	}
	CHECK_OK(read_counters(&after));
	CHECK_EQ(after.count, before.count);
	int free_lists_grew = 0;
	for (int index = 0; index < before.count; index++)
		if (is_free_list(before.entries[index].name) &&
		    after.entries[index].value > before.entries[index].value)
			free_lists_grew = 1;
	char differences[300] = "";
	size_t used = 0;
	for (int index = 0; index < before.count; index++) {
		struct counter *old = &before.entries[index];
		struct counter *new = &after.entries[index];
		if (free_lists_grew && follows_free_lists(old->name))
			continue;
		if (strcmp(old->name, new->name) != 0 || old->value != new->value) {
			int written = snprintf(differences + used, sizeof differences - used,
					       " %s %llu->%llu", old->name, old->value, new->value);
			if (written > 0 && (size_t)written < sizeof differences - used)
				used += (size_t)written;
		}
	}
	CHECK_MSG(used == 0, "after %ld cycles:%s", cycles, differences);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cycles = strtol(argv[1], NULL, 0);
	if (argc > 2)
		program = argv[2];
	RUN(soak_fork_exec_counters_return);
	return tl_finish();
}
