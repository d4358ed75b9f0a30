/* init.c: the benchmark suite's init (pid 1): reports instructions since boot, runs each
 * benchmark program in /bench in a fixed order (fork + execve + wait), then powers off.
 *
 * Under `-icount shift=0,sleep=off` the virtual counter starts at zero at reset and counts
 * one nanosecond per instruction, so its value when init starts is the number of
 * instructions from reset to the first user program:
 *   BENCH_BOOT <instructions since boot>
 * A program that does not exit 0 adds `BENCH_PROGRAM_FAIL <program>: <why>`; the last line
 * is `BENCH_DONE`. The environment variable BENCH_PROGRAMS, when set, names the programs
 * to run instead of the full list, separated by spaces (this system's boot configuration
 * sets it for a partial run; Linux's init environment never has it). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"

static const char *const programs[] = {
	"getpid", "clock", "fork", "exec", "pipe", "fault", "mmap", "file", "soak",
};

static void print(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void print(const char *format, ...)
{
	char line[256];
	va_list arguments;
	va_start(arguments, format);
	int length = vsnprintf(line, sizeof line, format, arguments);
	va_end(arguments);
	if (length >= (int)sizeof line)
		length = (int)sizeof line - 1;
	bench_write_line(line, length);
}

/* Linux opens /dev/console for init when the initramfs has it; otherwise mount devtmpfs
 * and open it here, so the results reach the serial console either way. */
static void ensure_console(void)
{
	if (fcntl(1, F_GETFD) >= 0)
		return;
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
	int console = open("/dev/console", O_RDWR);
	if (console < 0)
		return;
	for (int descriptor = 0; descriptor < 3; descriptor++)
		if (console != descriptor)
			dup2(console, descriptor);
	if (console > 2)
		close(console);
}

static void run(const char *program)
{
	char path[64];
	snprintf(path, sizeof path, "/bench/%s", program);
	char *argv[] = {path, 0};
	char *envp[] = {"PATH=/bench", 0};
	pid_t child = fork();
	if (child < 0) {
		print("BENCH_PROGRAM_FAIL %s: fork: %s\n", program, strerror(errno));
		return;
	}
	if (child == 0) {
		execve(path, argv, envp);
		print("BENCH_PROGRAM_FAIL %s: execve %s: %s\n", program, path, strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			print("BENCH_PROGRAM_FAIL %s: waitpid: %s\n", program, strerror(errno));
			return;
		}
	if (WIFSIGNALED(status))
		print("BENCH_PROGRAM_FAIL %s: killed by signal %d\n", program, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		print("BENCH_PROGRAM_FAIL %s: exit status %d\n", program, WEXITSTATUS(status));
}

int main(void)
{
	uint64_t boot_ticks = bench_counter();
	ensure_console();
	print("BENCH_BOOT %.0f\n", bench_instructions(boot_ticks));
	mkdir("/tmp", 01777);
	const char *chosen = getenv("BENCH_PROGRAMS");
	if (chosen) {
		char list[256];
		snprintf(list, sizeof list, "%s", chosen);
		char *saved = 0;
		for (char *name = strtok_r(list, " ", &saved); name; name = strtok_r(0, " ", &saved))
			run(name);
	} else {
		for (size_t index = 0; index < sizeof programs / sizeof programs[0]; index++)
			run(programs[index]);
	}
	print("BENCH_DONE\n");
	sync();
	reboot(RB_POWER_OFF);
	/* Not reached on Linux; elsewhere, exiting init ends the run too. */
	return 0;
}
