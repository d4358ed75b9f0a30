/* processes.c: fork, wait, exec (ELF and #! scripts), spawn, process ids and groups,
 * resource limits and accounting. The program re-executes itself in helper modes
 * (argv[1] starting with "--"); those report through their exit status only. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>

#include "testlib.h"

extern char **environ;

static char self[256]; /* absolute path of this program */
static char scratch[64]; /* /tmp/pt-<pid> */

static void find_self(const char *argv0)
{
	ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
	if (length > 0) {
		self[length] = 0;
		return;
	}
	if (!realpath(argv0, self))
		snprintf(self, sizeof self, "%s", argv0);
}

static volatile unsigned long burn_sink;

static void burn_cpu(long milliseconds)
{
	struct timespec start, now;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);

	do {
		for (int index = 0; index < 10000; index++)
			burn_sink += (unsigned long)index * 7;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
		 milliseconds);
}

/* ---- helper modes, run after execve ---- */

static void empty_handler(int signal_number)
{
	(void)signal_number;
}

/* argv: --exec-check <cloexec fd> <inherited fd> <pid before exec>
 * Each failed check exits with its own code so the parent can say which. */
static int mode_exec_check(int argc, char **argv)
{
	if (argc != 5)
		return 10;
	const char *variable = getenv("TEST_EXEC_VARIABLE");
	if (!variable || strcmp(variable, "value with spaces") != 0)
		return 11;
	if (fcntl(atoi(argv[2]), F_GETFD) != -1 || errno != EBADF)
		return 12; /* close-on-exec descriptor survived */
	char byte = 0;
	if (read(atoi(argv[3]), &byte, 1) != 1 || byte != 'K')
		return 13; /* inherited descriptor lost */
	if (getpid() != atoi(argv[4]))
		return 14; /* execve keeps the pid */
	struct sigaction action;
	if (sigaction(SIGUSR1, NULL, &action) != 0 || action.sa_handler != SIG_DFL)
		return 15; /* a caught signal must be reset to default */
	if (sigaction(SIGUSR2, NULL, &action) != 0 || action.sa_handler != SIG_IGN)
		return 16; /* an ignored signal stays ignored */
	sigset_t mask;
	if (sigprocmask(SIG_SETMASK, NULL, &mask) != 0 || !sigismember(&mask, SIGTERM))
		return 17; /* the signal mask is preserved */
	sigset_t pending;
	if (sigpending(&pending) != 0 || !sigismember(&pending, SIGTERM))
		return 18; /* a pending signal stays pending */
	return 0;
}

/* argv (built by the kernel from "#!<self> --script-interpreter"):
 * <self> --script-interpreter <script path> <argument> */
static int mode_script(int argc, char **argv)
{
	if (argc != 4)
		return 20 + (argc > 9 ? 9 : argc);
	if (strcmp(argv[0], self) != 0 && strstr(argv[0], "processes") == NULL)
		return 31;
	if (strstr(argv[2], "/script.sh") == NULL)
		return 32;
	if (strcmp(argv[3], "script-argument") != 0)
		return 33;
	return 0;
}

/* argv: --exit-with <status> */
static int mode_exit_with(int argc, char **argv)
{
	if (argc != 3)
		return 99;
	return atoi(argv[2]);
}

/* argv: --print <text>: writes text to stdout */
static int mode_print(int argc, char **argv)
{
	if (argc != 3)
		return 99;
	size_t length = strlen(argv[2]);
	return write(1, argv[2], length) == (ssize_t)length ? 0 : 98;
}

/* argv: --auxv-ids <uid> <gid>: the auxiliary vector of the new image reports the ids the
 * process had when it called execve (real and effective alike), and AT_SECURE is 0. */
static int mode_auxv_ids(int argc, char **argv)
{
	if (argc != 4)
		return 99;
	unsigned long uid = strtoul(argv[2], NULL, 10), gid = strtoul(argv[3], NULL, 10);
	if (getauxval(AT_UID) != uid)
		return 21;
	if (getauxval(AT_EUID) != uid)
		return 22;
	if (getauxval(AT_GID) != gid)
		return 23;
	if (getauxval(AT_EGID) != gid)
		return 24;
	if (getauxval(AT_SECURE) != 0)
		return 25;
	if (getuid() != uid || getgid() != gid)
		return 26;
	return 0;
}

/* ---- cases ---- */

static void test_processes_fork_wait4_exit_status(void)
{
	static const int statuses[] = {0, 1, 42, 255, 256 + 7};
	for (size_t index = 0; index < sizeof statuses / sizeof statuses[0]; index++) {
		pid_t child = fork();
		CHECK(child >= 0);
		if (child == 0)
			_exit(statuses[index]);
		int status = -1;
		struct rusage usage;
		memset(&usage, 0xff, sizeof usage);
		CHECK_EQ(wait4(child, &status, 0, &usage), child);
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), statuses[index] & 0xff);
		CHECK(usage.ru_utime.tv_sec >= 0 && usage.ru_utime.tv_usec < 1000000);
	}
	CHECK_ERRNO(wait4(-1, NULL, 0, NULL), ECHILD);
	CHECK_ERRNO(wait4(getpid(), NULL, 0, NULL), ECHILD);
}

static void test_processes_wait_any_child(void)
{
	pid_t children[3];
	for (int index = 0; index < 3; index++) {
		children[index] = fork();
		CHECK(children[index] >= 0);
		if (children[index] == 0)
			_exit(10 + index);
	}
	int seen = 0;
	for (int round = 0; round < 3; round++) {
		int status;
		pid_t reaped = wait4(-1, &status, 0, NULL);
		int which = -1;
		for (int index = 0; index < 3; index++)
			if (children[index] == reaped)
				which = index;
		CHECK_MSG(which >= 0, "wait4(-1) returned %d", (int)reaped);
		CHECK_EQ(WEXITSTATUS(status), 10 + which);
		seen |= 1 << which;
	}
	CHECK_EQ(seen, 7);
}

static void test_processes_wait_killed_by_sigkill(void)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}
	CHECK_OK(kill(child, SIGKILL));
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WTERMSIG(status), SIGKILL);
	CHECK(!WIFEXITED(status));
}

static void segfault_now(void)
{
	*(volatile int *)8 = 1;
}

static void test_processes_wait_killed_by_sigsegv(void)
{
	int status = tl_in_child(segfault_now);
	CHECK(status != -1);
	CHECK_MSG(WIFSIGNALED(status), "status 0x%x", status);
	CHECK_EQ(WTERMSIG(status), SIGSEGV);
}

static void test_processes_wait_wnohang(void)
{
	int gate[2];
	CHECK_OK(pipe(gate));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		char byte;
		close(gate[1]);
		_exit(read(gate[0], &byte, 1) == 0 ? 5 : 6);
	}
	close(gate[0]);
	int status = -1;
	CHECK_EQ(waitpid(child, &status, WNOHANG), 0);
	close(gate[1]); /* EOF releases the child */
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 5);
	CHECK_ERRNO(waitpid(child, &status, WNOHANG), ECHILD);
}

static int shared_global = 1;

static void test_processes_fork_memory_isolation(void)
{
	shared_global = 100;
	int *heap = malloc(4096);
	CHECK(heap != NULL);
	heap[0] = 200;
	heap[1023] = 300;
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		int good = shared_global == 100 && heap[0] == 200 && heap[1023] == 300;
		shared_global = 1;
		heap[0] = 2;
		heap[1023] = 3;
		_exit(good ? 0 : 1);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw wrong values");
	CHECK_EQ(shared_global, 100);
	CHECK_EQ(heap[0], 200);
	CHECK_EQ(heap[1023], 300);
	free(heap);
}

static void test_processes_fork_shares_file_offset(void)
{
	char path[96];
	snprintf(path, sizeof path, "%s/offset", scratch);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "parent;", 7), 7);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(write(fd, "child;", 6) == 6 ? 0 : 1);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 13);
	char buffer[16] = {0};
	CHECK_EQ(pread(fd, buffer, sizeof buffer - 1, 0), 13);
	CHECK_STR(buffer, "parent;child;");
	close(fd);
	unlink(path);
}

/* vfork as posix_spawn and shells use it: clone(CLONE_VM | CLONE_VFORK | SIGCHLD) with the
 * child on the parent's stack. (musl's vfork() on aarch64 is a plain fork.) The child runs
 * only this assembly: it stores `value` at `marker` and exits with status 9, touching no
 * stack. Returns the child's pid or -errno. */
long vfork_store_and_exit(volatile int *marker, int value);
__asm__(".text\n"
	".global vfork_store_and_exit\n.type vfork_store_and_exit, %function\n"
	"vfork_store_and_exit:\n"
	"\tmov x9, x0\n"
	"\tmov w10, w1\n"
	"\tmov x0, #0x4111\n" /* CLONE_VM | CLONE_VFORK | SIGCHLD */
	"\tmov x1, #0\n"
	"\tmov x2, #0\n"
	"\tmov x3, #0\n"
	"\tmov x4, #0\n"
	"\tmov x8, #220\n" /* clone */
	"\tsvc #0\n"
	"\tcbnz x0, 1f\n"
	"\tstr w10, [x9]\n"
	"\tmov x0, #9\n"
	"\tmov x8, #93\n" /* exit */
	"\tsvc #0\n"
	"1:\tret\n");

static volatile int vfork_marker;

static void test_processes_vfork(void)
{
	vfork_marker = 0;
	long child = vfork_store_and_exit(&vfork_marker, 77);
	CHECK_MSG(child > 0, "clone(CLONE_VM|CLONE_VFORK) returned %ld", child);
	/* the parent resumes only after the child exited, and saw its store */
	int marker = vfork_marker;
	int status;
	CHECK_EQ(waitpid((pid_t)child, &status, 0), child);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 9);
	if (marker == 0 && getauxval(AT_SYSINFO_EHDR) == 0) {
		/* qemu-user (which also has no vDSO) turns CLONE_VM|CLONE_VFORK into a fork. */
		tl_skip("vfork child did not share memory: qemu-user emulates vfork with fork");
		return;
	}
	CHECK_EQ(marker, 77);
}

static void test_processes_posix_spawn(void)
{
	pid_t child;
	char *exit_arguments[] = {self, "--exit-with", "7", NULL};
	CHECK_EQ(posix_spawn(&child, self, NULL, NULL, exit_arguments, environ), 0);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 7);

	/* file actions: the child's stdout goes to a file */
	char path[96];
	snprintf(path, sizeof path, "%s/spawned", scratch);
	posix_spawn_file_actions_t actions;
	CHECK_EQ(posix_spawn_file_actions_init(&actions), 0);
	CHECK_EQ(posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC,
						  0644),
		 0);
	char *print_arguments[] = {self, "--print", "spawned output", NULL};
	CHECK_EQ(posix_spawn(&child, self, &actions, NULL, print_arguments, environ), 0);
	posix_spawn_file_actions_destroy(&actions);
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 0);
	char buffer[32] = {0};
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buffer, sizeof buffer - 1), 14);
	close(fd);
	CHECK_STR(buffer, "spawned output");
	unlink(path);

	/* a failed exec is reported to the caller */
	char *missing_arguments[] = {"missing", NULL};
	CHECK_EQ(posix_spawn(&child, "/nonexistent/program", NULL, NULL, missing_arguments,
			     environ),
		 ENOENT);
}

static void test_processes_execve_self(void)
{
	int close_on_exec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(close_on_exec >= 0);
	int inherited[2];
	CHECK_OK(pipe(inherited));
	CHECK_EQ(write(inherited[1], "K", 1), 1);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		signal(SIGUSR1, empty_handler);
		signal(SIGUSR2, SIG_IGN);
		sigset_t mask;
		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		kill(getpid(), SIGTERM); /* stays pending across exec */
		char numbers[3][16];
		snprintf(numbers[0], sizeof numbers[0], "%d", close_on_exec);
		snprintf(numbers[1], sizeof numbers[1], "%d", inherited[0]);
		snprintf(numbers[2], sizeof numbers[2], "%d", (int)getpid());
		char *arguments[] = {self, "--exec-check", numbers[0], numbers[1], numbers[2], NULL};
		char *environment[] = {"TEST_EXEC_VARIABLE=value with spaces", "OTHER=1", NULL};
		execve(self, arguments, environment);
		_exit(127);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "exec'd child status 0x%x (exit codes: 11 env, 12 cloexec fd open, 13 inherited "
		  "fd lost, 14 pid changed, 15 handler not reset, 16 SIG_IGN lost, 17 mask lost, "
		  "18 pending lost, 127 execve failed)",
		  status);
	close(close_on_exec);
	close(inherited[0]);
	close(inherited[1]);
}

static void test_processes_execve_script(void)
{
	char path[96];
	snprintf(path, sizeof path, "%s/script.sh", scratch);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	CHECK(fd >= 0);
	char header[320];
	int length = snprintf(header, sizeof header, "#!%s --script-interpreter\nignored body\n",
			      self);
	CHECK_EQ(write(fd, header, (size_t)length), length);
	close(fd);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		char *arguments[] = {"script-name", "script-argument", NULL};
		execve(path, arguments, environ);
		_exit(127);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "script child status 0x%x (2x: wrong argc x, 31 argv[0], 32 script path, 33 "
		  "argument, 127 execve failed)",
		  status);
	unlink(path);
}

static void test_processes_execve_errors(void)
{
	char *arguments[] = {"x", NULL};
	CHECK_ERRNO(execve("/nonexistent/binary", arguments, environ), ENOENT);
	char path[96];
	snprintf(path, sizeof path, "%s/not-executable", scratch);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "\x7f" "ELF garbage that is not a valid header", 39), 39);
	close(fd);
	CHECK_ERRNO(execve(path, arguments, environ), EACCES);
	CHECK_OK(chmod(path, 0755));
	CHECK_ERRNO(execve(path, arguments, environ), ENOEXEC);
	CHECK_ERRNO(execve(scratch, arguments, environ), EACCES);
	CHECK_ERRNO(syscall(SYS_execve, (void *)16, arguments, environ), EFAULT);
	unlink(path);
}

static void test_processes_ids(void)
{
	pid_t pid = getpid();
	CHECK(pid > 0);
	CHECK_EQ(syscall(SYS_getpid), pid);
	CHECK_EQ(syscall(SYS_gettid), pid); /* the main thread's tid is the pid */
	/* pid 1 (the program run as init) has no parent: getppid() is 0, as on Linux */
	CHECK(pid == 1 ? getppid() == 0 : getppid() > 0 && getppid() != pid);
	int report[2];
	CHECK_OK(pipe(report));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		pid_t ids[3] = {getpid(), getppid(), (pid_t)syscall(SYS_gettid)};
		_exit(write(report[1], ids, sizeof ids) == sizeof ids ? 0 : 1);
	}
	pid_t ids[3];
	CHECK_EQ(read(report[0], ids, sizeof ids), (long)sizeof ids);
	CHECK_EQ(ids[0], child);
	CHECK_EQ(ids[1], pid);
	CHECK_EQ(ids[2], child);
	waitpid(child, NULL, 0);
	close(report[0]);
	close(report[1]);
}

/* Child body: becomes a session leader; exit code says which check failed. */
static void session_child(void)
{
	pid_t pid = getpid();
	if (getsid(0) == pid)
		_exit(1); /* a fresh child is not a session leader */
	if (setsid() != pid)
		_exit(2);
	if (getsid(0) != pid || getpgid(0) != pid || getpgrp() != pid)
		_exit(3);
	if (setsid() != -1 || errno != EPERM)
		_exit(4); /* a group leader cannot start another session */
	if (setpgid(0, 0) != -1 || errno != EPERM)
		_exit(5); /* nor change its own group */
	_exit(0);
}

static void group_grandchild(pid_t group)
{
	if (getpgid(0) != group)
		_exit(4); /* inherits the parent's group */
	if (setpgid(0, 0) != 0 || getpgid(0) != getpid())
		_exit(5);
	if (setpgid(0, group) != 0 || getpgid(0) != group)
		_exit(6); /* may move into another group of its session */
	_exit(0);
}

static void group_child(void)
{
	pid_t pid = getpid();
	if (getpgid(0) != getpgid(getppid()))
		_exit(1); /* inherits the parent's group */
	if (setpgid(0, 0) != 0 || getpgid(0) != pid)
		_exit(2);
	if (getsid(0) != getsid(getppid()))
		_exit(3); /* still in the parent's session */
	pid_t grandchild = fork();
	if (grandchild == 0)
		group_grandchild(pid);
	int status;
	if (waitpid(grandchild, &status, 0) != grandchild || !WIFEXITED(status))
		_exit(7);
	_exit(WEXITSTATUS(status));
}

static void test_processes_setpgid_getpgid_setsid(void)
{
	int status = tl_in_child(session_child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "session child status 0x%x",
		  status);
	status = tl_in_child(group_child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "group child status 0x%x",
		  status);
	CHECK_EQ(getpgid(0), getpgrp());
	CHECK(getsid(0) >= 0); /* 0 only under Linux's pid 1, which has no session */
	CHECK_EQ(getsid(getpid()), getsid(0));
	CHECK_ERRNO(getpgid(999999), ESRCH);
	CHECK_ERRNO(getsid(999999), ESRCH);
	CHECK_ERRNO(setpgid(0, -1), EINVAL);
}

static void test_processes_waitid(void)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(3);
	siginfo_t info;
	memset(&info, 0, sizeof info);
	CHECK_OK(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT));
	CHECK_EQ(info.si_signo, SIGCHLD);
	CHECK_EQ(info.si_pid, child);
	CHECK_EQ(info.si_code, CLD_EXITED);
	CHECK_EQ(info.si_status, 3);
	CHECK_EQ(info.si_uid, getuid());
	/* WNOWAIT left it waitable */
	memset(&info, 0, sizeof info);
	CHECK_OK(waitid(P_ALL, 0, &info, WEXITED));
	CHECK_EQ(info.si_pid, child);
	CHECK_EQ(info.si_status, 3);
	CHECK_ERRNO(waitid(P_PID, (id_t)child, &info, WEXITED), ECHILD);

	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}
	memset(&info, 0xff, sizeof info);
	CHECK_OK(waitid(P_PID, (id_t)child, &info, WEXITED | WNOHANG));
	CHECK_EQ(info.si_pid, 0); /* nothing to report yet */
	kill(child, SIGKILL);
	memset(&info, 0, sizeof info);
	CHECK_OK(waitid(P_PID, (id_t)child, &info, WEXITED));
	CHECK_EQ(info.si_code, CLD_KILLED);
	CHECK_EQ(info.si_status, SIGKILL);
	CHECK_ERRNO(waitid(P_PID, (id_t)getpid(), &info, 0), EINVAL);
}

static void test_processes_sigchld_ignored_autoreaps(void)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
	CHECK_OK(sigaction(SIGCHLD, &ignore, &old));
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	int status;
	/* With SIGCHLD ignored the child is reaped by the system; wait blocks until then. */
	errno = 0;
	pid_t result = waitpid(child, &status, 0);
	int saved = errno;
	sigaction(SIGCHLD, &old, NULL);
	CHECK(child >= 0);
	CHECK_MSG(result == -1 && saved == ECHILD, "waitpid returned %d errno %d", (int)result,
		  saved);
}

static void test_processes_uname(void)
{
	struct utsname name;
	CHECK_OK(uname(&name));
	CHECK_STR(name.sysname, "Linux");
	CHECK_STR(name.machine, "aarch64");
	CHECK(name.release[0] >= '1' && name.release[0] <= '9');
	CHECK(name.nodename[0] != 0);
	CHECK_ERRNO(syscall(SYS_uname, (void *)16), EFAULT);
}

static void test_processes_sysinfo(void)
{
	struct sysinfo information;
	memset(&information, 0, sizeof information);
	CHECK_OK(sysinfo(&information));
	CHECK(information.uptime >= 0);
	CHECK(information.mem_unit >= 1);
	CHECK(information.totalram > 0);
	CHECK(information.freeram <= information.totalram);
	CHECK(information.procs >= 1);
	struct timespec boot;
	CHECK_OK(clock_gettime(CLOCK_BOOTTIME, &boot));
	/* uptime is unsigned: compared as signed so the first second of boot does not wrap */
	CHECK_MSG((long)information.uptime <= boot.tv_sec + 1 &&
			  (long)information.uptime >= boot.tv_sec - 1,
		  "uptime %ld, CLOCK_BOOTTIME %lld", information.uptime, (long long)boot.tv_sec);
}

/* One CPU: CPU 0 in the affinity mask, the raw call's byte count, Linux's errors. */
static void test_processes_sched_affinity(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CHECK_OK(sched_getaffinity(0, sizeof set, &set));
	CHECK(CPU_ISSET(0, &set));
	CHECK(CPU_COUNT(&set) >= 1);
	unsigned long mask[4] = {0, ~0UL, ~0UL, ~0UL};
	long copied = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
	CHECK_MSG(copied >= 8 && copied <= (long)sizeof mask && copied % 8 == 0,
		  "sched_getaffinity copied %ld bytes", copied);
	CHECK(mask[0] & 1);
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, mask), EINVAL);
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 7, mask), EINVAL);
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof mask, (void *)16), EFAULT);
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, -1, sizeof mask, mask), ESRCH);
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0x3fffffff, sizeof mask, mask), ESRCH);
	CHECK_OK(sched_getaffinity(getpid(), sizeof set, &set));
	CHECK_OK(sched_setaffinity(0, sizeof set, &set));
	cpu_set_t none;
	CPU_ZERO(&none);
	CHECK_ERRNO(sched_setaffinity(0, sizeof none, &none), EINVAL);
}

static void test_processes_getrusage_times(void)
{
	struct tms before;
	clock_t ticks_before = times(&before);
	CHECK(ticks_before != (clock_t)-1);
	burn_cpu(60);
	struct rusage usage;
	CHECK_OK(getrusage(RUSAGE_SELF, &usage));
	long cpu_microseconds = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L +
				usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
	CHECK_MSG(cpu_microseconds >= 50000, "RUSAGE_SELF cpu %ld us after burning 60 ms",
		  cpu_microseconds);
	CHECK(usage.ru_maxrss > 0); /* KiB */
	CHECK(usage.ru_minflt > 0); /* at least the stack and data pages */
	struct rusage thread_usage;
	CHECK_OK(getrusage(RUSAGE_THREAD, &thread_usage));
	CHECK(thread_usage.ru_utime.tv_sec * 1000000L + thread_usage.ru_utime.tv_usec >= 40000);
	CHECK(thread_usage.ru_maxrss >= usage.ru_maxrss); /* the process's peak, as on Linux */
	CHECK_ERRNO(syscall(SYS_getrusage, RUSAGE_SELF, (void *)16), EFAULT);
	struct tms after;
	clock_t ticks_after = times(&after);
	long hertz = sysconf(_SC_CLK_TCK);
	CHECK_EQ(hertz, 100);
	CHECK_MSG(ticks_after - ticks_before >= 5, "elapsed ticks %ld", (long)(ticks_after - ticks_before));
	CHECK_MSG((after.tms_utime + after.tms_stime) - (before.tms_utime + before.tms_stime) >= 4,
		  "tms cpu ticks %ld -> %ld", (long)(before.tms_utime + before.tms_stime),
		  (long)(after.tms_utime + after.tms_stime));
	/* a waited-for child's time appears in RUSAGE_CHILDREN and tms_cutime */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		burn_cpu(60);
		_exit(0);
	}
	CHECK_EQ(waitpid(child, NULL, 0), child);
	CHECK_OK(getrusage(RUSAGE_CHILDREN, &usage));
	cpu_microseconds = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L +
			   usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
	CHECK_MSG(cpu_microseconds >= 50000, "RUSAGE_CHILDREN cpu %ld us", cpu_microseconds);
	CHECK_OK(times(&after));
	CHECK_MSG(after.tms_cutime + after.tms_cstime >= 4, "tms_cutime+cstime %ld",
		  (long)(after.tms_cutime + after.tms_cstime));
	/* wait4 reports the reaped child's own usage */
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		burn_cpu(30);
		_exit(0);
	}
	struct rusage child_usage;
	CHECK_EQ(wait4(child, NULL, 0, &child_usage), child);
	cpu_microseconds = (child_usage.ru_utime.tv_sec + child_usage.ru_stime.tv_sec) * 1000000L +
			   child_usage.ru_utime.tv_usec + child_usage.ru_stime.tv_usec;
	CHECK_MSG(cpu_microseconds >= 25000 && cpu_microseconds < 1000000, "wait4 rusage cpu %ld us",
		  cpu_microseconds);
	CHECK_ERRNO(getrusage(42, &usage), EINVAL);
}

/* /proc/self/stat fields 10 (minflt) and 14, 15 (utime, stime) agree with times() */
static void test_processes_proc_stat_cpu_times(void)
{
	SKIP_WITHOUT_VDSO(); /* qemu-user fakes /proc/self/stat with these fields 0 */
	burn_cpu(50);
	struct tms now;
	CHECK(times(&now) != (clock_t)-1);
	char stat[512];
	int fd = open("/proc/self/stat", O_RDONLY);
	CHECK(fd >= 0);
	ssize_t length = read(fd, stat, sizeof stat - 1);
	close(fd);
	CHECK(length > 0);
	stat[length > 0 ? length : 0] = 0;
	const char *fields = strrchr(stat, ')');
	unsigned long minflt = 0, utime = 0, stime = 0;
	CHECK(fields && sscanf(fields + 1, " %*c %*d %*d %*d %*d %*d %*u %lu %*u %*u %*u %lu %lu",
			       &minflt, &utime, &stime) == 3);
	CHECK_MSG(minflt > 0 && utime + stime >= (unsigned long)(now.tms_utime + now.tms_stime) &&
			  utime + stime >= 4,
		  "stat minflt %lu utime %lu stime %lu, times %ld", minflt, utime, stime,
		  (long)(now.tms_utime + now.tms_stime));
}

static void limited_descriptors_child(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		_exit(1);
	struct rlimit lower = {.rlim_cur = 16, .rlim_max = limit.rlim_max};
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &lower, NULL) != 0)
		_exit(2);
	struct rlimit check;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &check) != 0 || check.rlim_cur != 16 ||
	    check.rlim_max != limit.rlim_max)
		_exit(3);
	int last = -1;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			if (errno != EMFILE)
				_exit(4);
			break;
		}
		last = fd;
	}
	if (last != 15)
		_exit(5); /* descriptors 0..15 allowed, 16 refused */
	if (dup2(0, 16) != -1 || errno != EBADF)
		_exit(6);
	/* the soft limit may not exceed the hard limit */
	struct rlimit too_high = {.rlim_cur = 32, .rlim_max = 16};
	if (setrlimit(RLIMIT_NOFILE, &too_high) != -1 || errno != EINVAL)
		_exit(7);
	_exit(0);
}

static void test_processes_prlimit64_nofile(void)
{
	struct rlimit limit;
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &limit));
	CHECK(limit.rlim_cur >= 64 && limit.rlim_cur <= limit.rlim_max);
	int status = tl_in_child(limited_descriptors_child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	struct rlimit after;
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &after));
	CHECK_EQ(after.rlim_cur, limit.rlim_cur); /* the child's limit was its own */
}

static void test_processes_umask(void)
{
	mode_t original = umask(077);
	CHECK_EQ(umask(027), 077);
	CHECK_EQ(umask(077), 027);
	char path[96];
	snprintf(path, sizeof path, "%s/masked", scratch);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	CHECK(fd >= 0);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	close(fd);
	unlink(path);
	CHECK_EQ(status.st_mode & 0777, 0600);
	CHECK_EQ(umask(original), 077);
}

static void test_processes_uid_family(void)
{
	CHECK_EQ(getuid(), syscall(SYS_getuid));
	CHECK_EQ(geteuid(), syscall(SYS_geteuid));
	CHECK_EQ(getgid(), syscall(SYS_getgid));
	CHECK_EQ(getegid(), syscall(SYS_getegid));
	char path[96];
	snprintf(path, sizeof path, "%s/owned", scratch);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	close(fd);
	unlink(path);
	CHECK_EQ(status.st_uid, geteuid());
	CHECK_EQ(status.st_gid, getegid());
}

/* setgid + setuid, then execve: the new image's auxv carries the new ids, not root's. */
static void test_processes_exec_credentials_in_auxv(void)
{
	/* qemu-user runs the programs in a user namespace that maps only uid and gid 0:
	 * setuid(1000) would fail with EINVAL there. */
	SKIP_WITHOUT_VDSO();
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		if (setgid(2000) != 0)
			_exit(31);
		if (setuid(1000) != 0)
			_exit(32);
		char *arguments[] = {self, "--auxv-ids", "1000", "2000", NULL};
		execve(self, arguments, environ);
		_exit(127);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "exec'd child status 0x%x (21 AT_UID, 22 AT_EUID, 23 AT_GID, 24 AT_EGID, 25 "
		  "AT_SECURE, 26 getuid/getgid, 31 setgid, 32 setuid, 127 execve failed)",
		  status);
}

int main(int argc, char **argv)
{
	find_self(argv[0]);
	if (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--exec-check") == 0)
			return mode_exec_check(argc, argv);
		if (strcmp(argv[1], "--script-interpreter") == 0)
			return mode_script(argc, argv);
		if (strcmp(argv[1], "--exit-with") == 0)
			return mode_exit_with(argc, argv);
		if (strcmp(argv[1], "--print") == 0)
			return mode_print(argc, argv);
		if (strcmp(argv[1], "--auxv-ids") == 0)
			return mode_auxv_ids(argc, argv);
		return 100;
	}
	snprintf(scratch, sizeof scratch, "/tmp/pt-%d", (int)getpid());
	if (mkdir(scratch, 0755) != 0) {
		tl_name = "processes_setup";
		tl_fail("mkdir %s: %s", scratch, strerror(errno));
		return 1;
	}
	RUN(processes_fork_wait4_exit_status);
	RUN(processes_wait_any_child);
	RUN(processes_wait_killed_by_sigkill);
	RUN(processes_wait_killed_by_sigsegv);
	RUN(processes_wait_wnohang);
	RUN(processes_fork_memory_isolation);
	RUN(processes_fork_shares_file_offset);
	RUN(processes_vfork);
	RUN(processes_posix_spawn);
	RUN(processes_execve_self);
	RUN(processes_execve_script);
	RUN(processes_execve_errors);
	RUN(processes_ids);
	RUN(processes_setpgid_getpgid_setsid);
	RUN(processes_waitid);
	RUN(processes_sigchld_ignored_autoreaps);
	RUN(processes_uname);
	RUN(processes_sysinfo);
	RUN(processes_sched_affinity);
	RUN(processes_getrusage_times);
	RUN(processes_proc_stat_cpu_times);
	RUN(processes_prlimit64_nofile);
	RUN(processes_umask);
	RUN(processes_uid_family);
	RUN(processes_exec_credentials_in_auxv);
	rmdir(scratch);
	return tl_finish();
}
