/* exhaustion.c: limits on processes and descriptors hold, and the system recovers.
 *
 * - RLIMIT_NPROC through getrlimit/setrlimit/prlimit64: a default with soft <= hard,
 *   set and read back, EINVAL for soft > hard, ESRCH for another pid's limits here.
 * - RLIMIT_NPROC enforced for a non-root user (setuid 1000) at fork and at thread
 *   creation with EAGAIN, counting every task of the user; root is exempt, as on Linux.
 * - A fork bomb (every process forks until fork fails) is stopped by the system-wide
 *   task limit with EAGAIN, not by running out of memory; killed, everything is reaped.
 * - RLIMIT_NOFILE: open, dup, pipe give EMFILE at the soft limit.
 * - Afterwards a new program runs (fork + exec), and the process server's counters in
 *   /proc/meminfo (processes, threads, TCBs, VSpaces, page tables, CNodes, frames in use)
 *   are back at their values from before the bomb. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "testlib.h"

/* /proc/meminfo counters ---------------------------------------------------------- */

static long meminfo_value(const char *name)
{
	static char text[4096];
	int descriptor = open("/proc/meminfo", O_RDONLY);
	if (descriptor < 0)
		return -1;
	ssize_t length = read(descriptor, text, sizeof text - 1);
	close(descriptor);
	if (length <= 0)
		return -1;
	text[length] = 0;
	size_t name_length = strlen(name);
	for (char *line = text; line && *line;) {
		if (strncmp(line, name, name_length) == 0 && line[name_length] == ':')
			return strtol(line + name_length + 1, NULL, 10);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* The in-use counts that must come back after every process of a case is gone. */
static const char *const live_counters[] = {
	"Sel4Processes", "Sel4Threads",       "Sel4Tcbs",   "Sel4VSpaces",
	"Sel4PageTables", "Sel4ProcessCNodes", "Sel4Frames",
};
enum { LIVE_COUNTERS = sizeof live_counters / sizeof *live_counters };
static long baseline[LIVE_COUNTERS];

static void read_live(long *values)
{
	for (int index = 0; index < LIVE_COUNTERS; index++)
		values[index] = meminfo_value(live_counters[index]);
}

static void reap_everything(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* RLIMIT_NPROC -------------------------------------------------------------------- */

static void test_exhaustion_nproc_get_set(void)
{
	struct rlimit original;
	CHECK_OK(getrlimit(RLIMIT_NPROC, &original));
	CHECK(original.rlim_cur <= original.rlim_max);
	CHECK(original.rlim_cur > 16);
	struct rlimit lower = {.rlim_cur = 40, .rlim_max = 50};
	CHECK_OK(setrlimit(RLIMIT_NPROC, &lower));
	struct rlimit back;
	CHECK_OK(getrlimit(RLIMIT_NPROC, &back));
	CHECK_EQ(back.rlim_cur, 40);
	CHECK_EQ(back.rlim_max, 50);
	struct rlimit inverted = {.rlim_cur = 60, .rlim_max = 50};
	CHECK_ERRNO(setrlimit(RLIMIT_NPROC, &inverted), EINVAL);
	/* The raw calls: getrlimit/setrlimit (163/164) and prlimit64 on our own pid. */
	struct rlimit raw;
	CHECK_OK(syscall(SYS_getrlimit, RLIMIT_NPROC, &raw));
	CHECK_EQ(raw.rlim_cur, 40);
	struct rlimit raw_set = {.rlim_cur = 45, .rlim_max = 50};
	CHECK_OK(syscall(SYS_setrlimit, RLIMIT_NPROC, &raw_set));
	struct rlimit through_prlimit;
	CHECK_OK(prlimit(getpid(), RLIMIT_NPROC, NULL, &through_prlimit));
	CHECK_EQ(through_prlimit.rlim_cur, 45);
	/* Root may raise the hard limit again. */
	CHECK_OK(setrlimit(RLIMIT_NPROC, &original));
	CHECK_OK(getrlimit(RLIMIT_NPROC, &back));
	CHECK_EQ(back.rlim_cur, original.rlim_cur);
	CHECK_EQ(back.rlim_max, original.rlim_max);
	/* A child inherits the limit. */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		struct rlimit inherited;
		_exit(getrlimit(RLIMIT_NPROC, &inherited) == 0 &&
				      inherited.rlim_cur == original.rlim_cur
			      ? 0
			      : 1);
	}
	int status = 0;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(status, 0);
}

static void *thread_body(void *argument)
{
	return argument;
}

/* Child: exit 0 if user 1000 under RLIMIT_NPROC 5 gets exactly 4 more tasks, then
 * EAGAIN from fork and from pthread_create; 10+ codes say where it failed. */
static void nproc_as_user(void)
{
	struct rlimit five = {.rlim_cur = 5, .rlim_max = 5};
	if (setrlimit(RLIMIT_NPROC, &five) != 0)
		_exit(10);
	if (setuid(1000) != 0 || getuid() != 1000 || geteuid() != 1000)
		_exit(11);
	/* Back to root is refused now. */
	if (setuid(0) == 0 || errno != EPERM)
		_exit(12);
	struct rlimit six = {.rlim_cur = 6, .rlim_max = 6};
	if (setrlimit(RLIMIT_NPROC, &six) == 0 || errno != EPERM)
		_exit(13);
	pid_t children[8];
	int made = 0;
	for (; made < 8; made++) {
		pid_t child = fork();
		if (child == 0) {
			pause();
			_exit(0);
		}
		if (child < 0)
			break;
		children[made] = child;
	}
	int fork_errno = errno;
	int made_at_limit = made;
	pthread_t thread;
	int thread_error = pthread_create(&thread, NULL, thread_body, NULL);
	if (thread_error == 0)
		pthread_join(thread, NULL);
	/* After one child is reaped, a fork works again. */
	int refork_ok = 0;
	if (made > 0) {
		kill(children[made - 1], SIGKILL);
		waitpid(children[made - 1], NULL, 0);
		made--;
		pid_t again = fork();
		if (again == 0)
			_exit(0);
		if (again > 0 && waitpid(again, NULL, 0) == again)
			refork_ok = 1;
	}
	for (int index = 0; index < made; index++) {
		kill(children[index], SIGKILL);
		waitpid(children[index], NULL, 0);
	}
	if (made_at_limit != 4)
		_exit(20 + made_at_limit);
	if (fork_errno != EAGAIN)
		_exit(30);
	if (thread_error != EAGAIN)
		_exit(31);
	if (!refork_ok)
		_exit(32);
	_exit(0);
}

static void test_exhaustion_nproc_enforced(void)
{
	/* qemu-user runs these in a user namespace mapping only uid 0: no uid 1000. */
	SKIP_WITHOUT_VDSO();
	int status = tl_in_child(nproc_as_user);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (exit 10-13: setup, 20+n: %s, 30: fork errno, 31: "
		  "pthread_create, 32: fork after a reap)",
		  status, "made n children, expected 4");
}

static void nproc_root_exempt(void)
{
	struct rlimit two = {.rlim_cur = 2, .rlim_max = 2};
	if (setrlimit(RLIMIT_NPROC, &two) != 0)
		_exit(10);
	pid_t children[4];
	for (int index = 0; index < 4; index++) {
		children[index] = fork();
		if (children[index] == 0)
			_exit(0);
		if (children[index] < 0)
			_exit(20 + index);
	}
	for (int index = 0; index < 4; index++)
		waitpid(children[index], NULL, 0);
	_exit(0);
}

static void test_exhaustion_nproc_root_exempt(void)
{
	/* In qemu-user's user namespace, "root" is not exempt from the host user's count. */
	SKIP_WITHOUT_VDSO();
	int status = tl_in_child(nproc_root_exempt);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}

/* Fork bomb ------------------------------------------------------------------------ */

static int bomb_reports[2];

/* Every bomb process forks until fork fails, reports its errno (one byte) and waits to
 * be killed. */
static void bomb(void)
{
	for (;;) {
		pid_t child = fork();
		if (child < 0) {
			char code = (char)errno;
			ssize_t written = write(bomb_reports[1], &code, 1);
			(void)written;
			for (;;)
				pause();
		}
	}
}

static void test_exhaustion_fork_bomb(void)
{
	/* Not on a host kernel (qemu-user): a real fork bomb against the host user's limit. */
	SKIP_WITHOUT_VDSO();
	reap_everything();
	read_live(baseline);
	CHECK_MSG(baseline[0] > 0, "no Sel4Processes in /proc/meminfo");
	CHECK_OK(pipe2(bomb_reports, O_CLOEXEC));
	pid_t leader = fork();
	CHECK(leader >= 0);
	if (leader == 0) {
		setpgid(0, 0);
		close(bomb_reports[0]);
		bomb();
	}
	setpgid(leader, leader);
	close(bomb_reports[1]);
	/* Collect reports: the first may take long (the bomb grows to the limit first; on a
	 * loaded host, tens of seconds), then until none comes for two seconds. */
	long reports = 0, again = 0, other = 0;
	int other_errno = 0;
	for (;;) {
		struct pollfd entry = {.fd = bomb_reports[0], .events = POLLIN};
		int ready = poll(&entry, 1, reports == 0 ? 90000 : 2000);
		if (ready <= 0)
			break;
		char codes[256];
		ssize_t got = read(bomb_reports[0], codes, sizeof codes);
		if (got <= 0)
			break;
		for (ssize_t index = 0; index < got; index++) {
			reports++;
			if (codes[index] == EAGAIN)
				again++;
			else {
				other++;
				other_errno = codes[index];
			}
		}
	}
	long processes_at_peak = meminfo_value("Sel4Processes");
	long memory_free = meminfo_value("MemFree");
	kill(-leader, SIGKILL);
	close(bomb_reports[0]);
	/* Every bomb process is our child or, orphaned, init's: reap until no process of
	 * the bomb is left (we are init in the system test). */
	int status = 0;
	CHECK_EQ(waitpid(leader, &status, 0), leader);
	long processes = -1;
	for (int round = 0; round < 200; round++) {
		reap_everything();
		processes = meminfo_value("Sel4Processes");
		if (processes <= baseline[0])
			break;
		struct timespec pause_time = {0, 20 * 1000 * 1000};
		nanosleep(&pause_time, NULL);
	}
	char line[200];
	int length = snprintf(line, sizeof line,
			      "exhaustion: fork bomb: %ld processes at the peak, %ld fork "
			      "failures (%ld EAGAIN), MemFree %ld kB\n",
			      processes_at_peak, reports, again, memory_free);
	ssize_t written = write(1, line, (size_t)length);
	(void)written;
	CHECK_MSG(reports > 0, "no bomb process saw fork fail");
	CHECK_MSG(other == 0, "%ld fork failures with errno %d, not EAGAIN", other, other_errno);
	CHECK_MSG(processes_at_peak > 100, "only %ld processes at the peak", processes_at_peak);
	CHECK_EQ(processes, baseline[0]);
	long now[LIVE_COUNTERS];
	read_live(now);
	for (int index = 0; index < LIVE_COUNTERS; index++)
		CHECK_MSG(now[index] == baseline[index], "%s %ld before the bomb, %ld after",
			  live_counters[index], baseline[index], now[index]);
}

/* Descriptors ------------------------------------------------------------------------ */

static void test_exhaustion_emfile(void)
{
	struct rlimit original;
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &original));
	CHECK(original.rlim_cur <= original.rlim_max);
	struct rlimit small = {.rlim_cur = 32, .rlim_max = original.rlim_max};
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &small));
	int opened[64];
	int count = 0;
	for (; count < 64; count++) {
		opened[count] = open("/dev/null", O_RDONLY);
		if (opened[count] < 0)
			break;
	}
	int open_errno = errno;
	/* The lowest fds are ours from before; every fd below 32 is now in use. */
	int highest = count > 0 ? opened[count - 1] : -1;
	errno = 0;
	int duplicate = dup(0);
	int dup_errno = errno;
	int pipe_ends[2];
	errno = 0;
	int piped = pipe(pipe_ends);
	int pipe_errno = errno;
	errno = 0;
	int duplicate_high = fcntl(0, F_DUPFD, 40);
	int dupfd_errno = errno;
	for (int index = 0; index < count; index++)
		close(opened[index]);
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &original));
	CHECK_MSG(count < 64 && open_errno == EMFILE, "open: %d opened, errno %d", count,
		  open_errno);
	CHECK_EQ(highest, 31);
	CHECK_MSG(duplicate == -1 && dup_errno == EMFILE, "dup: %d errno %d", duplicate,
		  dup_errno);
	CHECK_MSG(piped == -1 && pipe_errno == EMFILE, "pipe: %d errno %d", piped, pipe_errno);
	CHECK_MSG(duplicate_high == -1 && dupfd_errno == EINVAL,
		  "F_DUPFD 40 above the limit: %d errno %d", duplicate_high, dupfd_errno);
	/* And the descriptors are usable again. */
	int again = open("/dev/null", O_RDONLY);
	CHECK(again >= 0);
	close(again);
}

/* Recovery --------------------------------------------------------------------------- */

static void test_exhaustion_system_recovers(void)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		char *arguments[] = {"/bin/true", NULL};
		char *environment[] = {NULL};
		execve("/bin/true", arguments, environment);
		_exit(127);
	}
	int status = 0;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "/bin/true: status %#x",
		  status);
}

int main(void)
{
	RUN(exhaustion_nproc_get_set);
	RUN(exhaustion_nproc_enforced);
	RUN(exhaustion_nproc_root_exempt);
	RUN(exhaustion_fork_bomb);
	RUN(exhaustion_emfile);
	RUN(exhaustion_system_recovers);
	return tl_finish();
}
