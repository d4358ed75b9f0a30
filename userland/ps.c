/* ps.c: lists processes from /proc. For each /proc/<pid>/stat: pid, parent pid, state and
 * command (its /proc/<pid>/cmdline, or the stat's name in brackets when that is empty or
 * missing). Tolerates a minimal /proc: entries that vanish or cannot be read are skipped,
 * and a /proc that lists no numeric directories falls back to /proc/self. Exit status 1
 * if /proc cannot be read at all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads a whole small file; returns its length, or -1. */
static ssize_t read_small_file(const char *path, char *buffer, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t length = 0;
	while (length < size - 1) {
		ssize_t count = read(fd, buffer + length, size - 1 - length);
		if (count < 0 && errno == EINTR)
			continue;
		if (count <= 0)
			break;
		length += (size_t)count;
	}
	close(fd);
	buffer[length] = 0;
	return (ssize_t)length;
}

/* Prints one process; entry is a /proc directory name ("123" or "self"). Returns 1 if
 * a line was printed. */
static int show_process(const char *entry)
{
	char path[64], stat_text[1024];
	snprintf(path, sizeof path, "/proc/%s/stat", entry);
	if (read_small_file(path, stat_text, sizeof stat_text) <= 0)
		return 0;
	/* "pid (comm) state ppid ...": comm may contain spaces and parentheses, so the name
	 * ends at the last ')'. */
	char *open_paren = strchr(stat_text, '(');
	char *close_paren = strrchr(stat_text, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return 0;
	*close_paren = 0;
	const char *name = open_paren + 1;
	long pid = strtol(stat_text, NULL, 10);
	char state = '?';
	long parent = 0;
	if (sscanf(close_paren + 1, " %c %ld", &state, &parent) < 1)
		return 0;

	char command[512];
	snprintf(path, sizeof path, "/proc/%s/cmdline", entry);
	ssize_t length = read_small_file(path, command, sizeof command);
	if (length > 0) {
		/* Arguments are NUL-separated; show them space-separated. */
		for (ssize_t index = 0; index < length; index++)
			if (command[index] == 0)
				command[index] = ' ';
		while (length > 0 && command[length - 1] == ' ')
			command[--length] = 0;
	}
	if (length <= 0)
		snprintf(command, sizeof command, "[%s]", name);
	printf("%5ld %5ld %c     %s\n", pid, parent, state, command);
	return 1;
}

static int compare_pids(const void *left, const void *right)
{
	long a = *(const long *)left, b = *(const long *)right;
	return (a > b) - (a < b);
}

int main(void)
{
	DIR *proc = opendir("/proc");
	if (!proc) {
		fprintf(stderr, "ps: /proc: %s (is /proc mounted?)\n", strerror(errno));
		return 1;
	}
	long *pids = NULL;
	size_t count = 0, capacity = 0;
	struct dirent *entry;
	while ((entry = readdir(proc))) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' || *end)
			continue;
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 64;
			long *grown = realloc(pids, capacity * sizeof *pids);
			if (!grown)
				break;
			pids = grown;
		}
		pids[count++] = pid;
	}
	closedir(proc);
	qsort(pids, count, sizeof *pids, compare_pids);

	printf("  PID  PPID STATE COMMAND\n");
	int shown = 0;
	for (size_t index = 0; index < count; index++) {
		char name[24];
		snprintf(name, sizeof name, "%ld", pids[index]);
		shown += show_process(name);
	}
	free(pids);
	if (!shown && !show_process("self")) {
		fprintf(stderr, "ps: /proc lists no processes and has no /proc/self/stat\n");
		return 1;
	}
	return 0;
}
