/* init.c: the demo's first process. Shows the system at work, one line each: wall-clock
 * time and uptime (clock_gettime through libc, which uses the vDSO when the kernel maps
 * one), whether AT_SYSINFO_EHDR is present and where, the [vvar] and [vdso] lines of
 * /proc/self/maps, and a fork + exec of /bin/echo with its exit status. Then it becomes
 * the interactive shell (`/bin/sh -i`); init exits with the shell's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Makes sure 0, 1 and 2 are open, on the console if the process server left them closed. */
static void open_console(void)
{
	if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	for (int target = 0; target < 3; target++)
		if (fcntl(target, F_GETFD) < 0)
			dup2(fd, target);
	if (fd > 2)
		close(fd);
}

static void show_clocks(void)
{
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME, &now) == 0) {
		struct tm calendar;
		char text[64];
		time_t seconds = now.tv_sec;
		if (gmtime_r(&seconds, &calendar) &&
		    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &calendar) > 0)
			printf("init: wall clock  %s.%03ld UTC\n", text, now.tv_nsec / 1000000);
		else
			printf("init: wall clock  %lld s since 1970 (not a calendar date)\n",
			       (long long)now.tv_sec);
	} else {
		printf("init: wall clock  unavailable: %s\n", strerror(errno));
	}
	struct timespec uptime;
	if (clock_gettime(CLOCK_MONOTONIC, &uptime) == 0)
		printf("init: uptime      %lld.%06ld s\n", (long long)uptime.tv_sec,
		       uptime.tv_nsec / 1000);
	else
		printf("init: uptime      unavailable: %s\n", strerror(errno));
}

static void show_vdso(void)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	if (base)
		printf("init: vDSO        AT_SYSINFO_EHDR = %#lx (libc reads the clocks through it)\n",
		       base);
	else
		printf("init: vDSO        no AT_SYSINFO_EHDR: clock reads are system calls\n");
}

static void show_maps(void)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	if (!maps) {
		printf("init: maps        cannot read /proc/self/maps (%s): no /proc?\n",
		       strerror(errno));
		return;
	}
	char line[512];
	int found = 0;
	while (fgets(line, sizeof line, maps)) {
		if (strstr(line, "[vvar]") || strstr(line, "[vdso]")) {
			printf("init: maps        %s", line);
			if (!strchr(line, '\n'))
				putchar('\n');
			found++;
		}
	}
	fclose(maps);
	if (!found)
		printf("init: maps        no [vvar] or [vdso] line in /proc/self/maps\n");
}

static void show_fork_and_exec(void)
{
	static char *const child_argv[] = { "/bin/echo", "hello", "from", "a", "child",
					    "process", NULL };
	printf("init: fork+exec   /bin/echo hello from a child process\n");
	fflush(stdout);
	pid_t child = fork();
	if (child < 0) {
		printf("init: fork failed: %s\n", strerror(errno));
		return;
	}
	if (child == 0) {
		execve(child_argv[0], child_argv, environ);
		dprintf(2, "init: exec %s: %s\n", child_argv[0], strerror(errno));
		_exit(127);
	}
	int status = 0;
	pid_t result;
	do
		result = wait4(child, &status, 0, NULL);
	while (result < 0 && errno == EINTR);
	if (result < 0)
		printf("init: wait4 failed: %s\n", strerror(errno));
	else if (WIFEXITED(status))
		printf("init: child %d exited with status %d\n", (int)child, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("init: child %d killed by signal %d (%s)\n", (int)child, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	else
		printf("init: child %d: wait status %#x\n", (int)child, status);
}

int main(void)
{
	open_console();
	setenv("PATH", "/bin", 0);
	setenv("HOME", "/", 0);
	show_clocks();
	show_vdso();
	show_maps();
	show_fork_and_exec();
	printf("init: starting /bin/sh (Ctrl-D or `exit` ends the session)\n");
	fflush(stdout);
	static char *const shell_argv[] = { "sh", "-i", NULL };
	execve("/bin/sh", shell_argv, environ);
	fprintf(stderr, "init: exec /bin/sh: %s\n", strerror(errno));
	return 127;
}
