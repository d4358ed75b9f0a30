/* stress.c: bounded random system calls against the process server. A worker child makes
 * random calls (numbers 0..459 and a few out of range, arguments from the classes below)
 * and is forked again whenever it dies (signal, exit, stall), until the workers have made
 * a total of `calls` calls. Then the parent checks that the process server's in-use
 * counters in /proc/meminfo are back where they were after the first worker, and that
 * the system still works: fork + exec of /bin/true and /bin/false, a file written and
 * read back, /proc/meminfo readable.
 *
 * Half the calls are drawn from the calls the server implements, half from the whole range.
 *
 * Usage: stress [seed [calls]]; `stress --replay SEED GENERATION` runs one worker again,
 * printing each call first (a stall line names its generation).
 * Defaults: a seed from the clock, 5000 calls. The seed
 * is printed first (`stress: seed N calls M`), so a run can be repeated exactly (the
 * workers are deterministic; only the watchdog's timing may cut a stall at another call).
 *
 * Argument classes: 0/NULL, small ints (0..63), -1, unmapped addresses, kernel addresses
 * (0xffff...), misaligned pointers into the buffer, pointers into the buffer (64 KiB of
 * random bytes), huge lengths, random flag words, bad fds.
 *
 * The worker reports each call before making it by writing its number (2 bytes) to a
 * progress pipe at fd PROGRESS_FD, checked with fstat before each write (a random dup3 or
 * close may take it over; the worker then exits and a new one starts). Its fds 0..2 are
 * /dev/null, so random writes and ioctls never reach the console, and it leads its own
 * process group. The parent kills a worker (and its group) that makes no progress for
 * WATCHDOG_MS (a call that blocks: pause, sigsuspend, a long sleep, a poll with no
 * timeout) and reaps everything, orphans included (it is init in the system test).
 * It tells three kinds of worker without progress apart: stopped by a stop signal
 * (waitpid WUNTRACED; e.g. a clone child whose exit signal, the low byte of the random
 * clone flags, is SIGTSTP, SIGTTIN or SIGTTOU stops its parent when it exits, as on
 * Linux), blocked in a call (/proc state S; the Sel4Thread lines of /proc/<pid>/status
 * name each thread's wait), and stalled (still running: shown twice, pcs included),
 * the only kind that may point at a lost wake-up or reply.
 *
 * Calls excluded, each because it would break the harness rather than test the server:
 * - reboot (142): powers the machine off.
 * - kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal,
 *   pidfd_open, prlimit64, process_vm_readv/writev, ptrace aimed at pid <= 0, pid 1 or
 *   the parent: a signal to the parent (or everyone, -1) ends the test itself; a new
 *   limit on the parent (RLIMIT_NOFILE 0) breaks its final check.
 * - execve/execveat with a path in the buffer: the path argument comes only from the
 *   NULL/small/unmapped/kernel classes, so a real program never replaces a worker (which
 *   would then print or run for ever); execve is still called, with bad pointers.
 * - exit/exit_group are NOT excluded for workers (a worker that exits is replaced); only
 *   the parent must not exit before the quota, and workers cannot make it.
 * - Console settings: not excluded but unreachable, as fds 0..2 are /dev/null.
 * A clone/clone3 that returns 0 in the new task exits at once (same instruction stream,
 * no stack use), as does a worker's fork child. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>

#include "testlib.h"

#define PROGRESS_FD 1000
#define WATCHDOG_MS 400
#define BUFFER_SIZE 65536
#define SYSCALL_RANGE 460

#define NR_CLONE 220
#define NR_CLONE3 435
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#define NR_REBOOT 142
#define NR_KILL 129
#define NR_TKILL 130
#define NR_TGKILL 131
#define NR_RT_SIGQUEUEINFO 138
#define NR_RT_TGSIGQUEUEINFO 240
#define NR_PIDFD_SEND_SIGNAL 424
#define NR_PIDFD_OPEN 434
#define NR_PRLIMIT64 261
#define NR_PROCESS_VM_READV 270
#define NR_PROCESS_VM_WRITEV 271
#define NR_PTRACE 117

static unsigned char buffer[BUFFER_SIZE] __attribute__((aligned(4096)));
static uint64_t random_state;
static pid_t parent_pid;

static uint64_t next_random(void)
{
	/* xorshift64* */
	random_state ^= random_state >> 12;
	random_state ^= random_state << 25;
	random_state ^= random_state >> 27;
	return random_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t bound)
{
	return bound ? next_random() % bound : 0;
}

enum argument_class {
	CLASS_ZERO,
	CLASS_SMALL,
	CLASS_MINUS_ONE,
	CLASS_UNMAPPED,
	CLASS_KERNEL,
	CLASS_MISALIGNED,
	CLASS_BUFFER,
	CLASS_HUGE,
	CLASS_FLAGS,
	CLASS_BAD_FD,
	CLASS_COUNT,
};

static uint64_t argument(enum argument_class class)
{
	static const uint64_t unmapped[] = {0x1000, 0x10000000000ULL, 0xfff0000000ULL,
					    0x0000ffffffff0000ULL, 0x7ffffffff000ULL};
	static const uint64_t kernel[] = {0xffff000000000000ULL, 0xffffff8000000000ULL,
					  0xffffff8000001000ULL, 0xffffffffffff0000ULL,
					  0xfffffffffffff000ULL, 0x8000000000000000ULL};
	static const uint64_t huge[] = {0x7fffffffULL, 0xffffffffULL, 1ULL << 40,
					0x7fffffffffffffffULL, 0xfffffffffffff000ULL, 1ULL << 31};
	static const uint64_t bad_fds[] = {(uint64_t)-1, 100, 1023, 1024, 4096, 1 << 20,
					   0x80000000ULL, (uint64_t)-100};
	switch (class) {
	case CLASS_ZERO:
		return 0;
	case CLASS_SMALL:
		return below(64);
	case CLASS_MINUS_ONE:
		return (uint64_t)-1;
	case CLASS_UNMAPPED:
		return unmapped[below(sizeof unmapped / sizeof *unmapped)] + below(16) * 8;
	case CLASS_KERNEL:
		return kernel[below(sizeof kernel / sizeof *kernel)] + below(4) * 8;
	case CLASS_MISALIGNED:
		return (uint64_t)(uintptr_t)buffer + (below(BUFFER_SIZE - 64) & ~7ULL) + 1 + below(7);
	case CLASS_BUFFER:
		return (uint64_t)(uintptr_t)buffer + (below(BUFFER_SIZE) & ~7ULL);
	case CLASS_HUGE:
		return huge[below(sizeof huge / sizeof *huge)];
	case CLASS_FLAGS:
		return below(2) ? next_random() : (uint64_t)(1u << below(32)) | below(8);
	case CLASS_BAD_FD:
		return bad_fds[below(sizeof bad_fds / sizeof *bad_fds)];
	case CLASS_COUNT:
		break;
	}
	return 0;
}

/* The calls the process server implements (root-task/src/linux/mod.rs), drawn half the
 * time so that most calls reach real code rather than ENOSYS. */
static const uint16_t implemented[] = {
	17,  23,  24,  25,  29,  34,  35,  36,  37,  38,  45,  46,  48,  49,  50,  52,  53,
	56,  57,  59,  61,  62,  63,  64,  65,  66,  67,  68,  72,  73,  78,  79,  80,  88,
	93,  94,  95,  96,  98,  99,  100, 101, 102, 103, 113, 114, 115, 124, 129, 130, 131,
	132, 133, 134, 135, 136, 137, 138, 139, 144, 146, 153, 154, 155, 156, 157, 160, 163,
	164, 165, 166, 169, 172, 173, 174, 175, 176, 177, 178, 179, 214, 215, 220, 221, 222,
	226, 233, 260, 261, 276, 278, 291, 439,
};

static uint64_t syscall_number(void)
{
	static const uint64_t out_of_range[] = {500, 1000, 4096, 0xffffffffULL, (uint64_t)-1,
						1ULL << 32};
	if (below(2) == 0)
		return implemented[below(sizeof implemented / sizeof *implemented)];
	if (below(64) == 0)
		return out_of_range[below(sizeof out_of_range / sizeof *out_of_range)];
	return below(SYSCALL_RANGE);
}

/* True if the call must not be made (see the exclusions at the top). */
static int excluded(uint64_t number, const uint64_t *arguments)
{
	int target = (int)arguments[0];
	switch (number) {
	case NR_REBOOT:
		return 1;
	case NR_KILL:
	case NR_TKILL:
	case NR_TGKILL:
	case NR_RT_SIGQUEUEINFO:
	case NR_RT_TGSIGQUEUEINFO:
	case NR_PIDFD_OPEN:
	case NR_PRLIMIT64:
	case NR_PROCESS_VM_READV:
	case NR_PROCESS_VM_WRITEV:
		return target <= 0 || target == 1 || target == parent_pid;
	case NR_PTRACE:
	case NR_PIDFD_SEND_SIGNAL: {
		/* ptrace(request, pid, ...); pidfd_send_signal(pidfd, ...) takes a pidfd, but
		 * a pidfd of the parent can only come from pidfd_open, excluded above. */
		int pid = (int)arguments[1];
		return number == NR_PTRACE && (pid <= 0 || pid == 1 || pid == parent_pid);
	}
	default:
		return 0;
	}
}

/* One system call; a clone child (x0 == 0 after clone/clone3) exits at once, before
 * touching its (possibly random) stack. */
static long raw_call(uint64_t number, const uint64_t *arguments)
{
	register uint64_t x0 __asm__("x0") = arguments[0];
	register uint64_t x1 __asm__("x1") = arguments[1];
	register uint64_t x2 __asm__("x2") = arguments[2];
	register uint64_t x3 __asm__("x3") = arguments[3];
	register uint64_t x4 __asm__("x4") = arguments[4];
	register uint64_t x5 __asm__("x5") = arguments[5];
	register uint64_t x8 __asm__("x8") = number;
	register uint64_t is_clone __asm__("x9") = number == NR_CLONE || number == NR_CLONE3;
	__asm__ volatile("svc #0\n\t"
			 "cbz x9, 1f\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x0, #0\n\t"
			 "mov x8, #93\n\t"
			 "svc #0\n\t"
			 "1:"
			 : "+r"(x0)
			 : "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5), "r"(x8), "r"(is_clone)
			 : "memory", "cc");
	return (long)x0;
}

/* Replay mode (`stress --replay SEED GENERATION`): the worker also prints each call to
 * the console before making it, and keeps the console as fds 0..2. */
static int replaying;

static void worker(uint64_t seed, long quota)
{
	struct stat progress;
	if (fstat(PROGRESS_FD, &progress) != 0)
		_exit(3);
	random_state = seed ? seed : 1;
	for (size_t index = 0; index < BUFFER_SIZE; index += 8) {
		uint64_t word = next_random();
		memcpy(buffer + index, &word, 8);
	}
	for (long made = 0; made < quota; made++) {
		uint64_t number = syscall_number();
		uint64_t arguments[6];
		for (int index = 0; index < 6; index++)
			arguments[index] = argument((enum argument_class)below(CLASS_COUNT));
		if ((number == NR_EXECVE || number == NR_EXECVEAT)) {
			/* The path (argument 0 of execve, 1 of execveat) never points into the
			 * buffer. */
			int path = number == NR_EXECVE ? 0 : 1;
			arguments[path] = argument((enum argument_class)below(CLASS_MISALIGNED));
		}
		if (excluded(number, arguments)) {
			made--;
			continue;
		}
		struct stat now;
		if (fstat(PROGRESS_FD, &now) != 0 || now.st_ino != progress.st_ino ||
		    now.st_dev != progress.st_dev)
			_exit(4);
		if (replaying) {
			char line[200];
			int length = snprintf(line, sizeof line,
					      "replay: call %ld: %llu (%#llx, %#llx, %#llx, %#llx, %#llx, "
					      "%#llx)\n",
					      made, (unsigned long long)number,
					      (unsigned long long)arguments[0],
					      (unsigned long long)arguments[1],
					      (unsigned long long)arguments[2],
					      (unsigned long long)arguments[3],
					      (unsigned long long)arguments[4],
					      (unsigned long long)arguments[5]);
			if (write(PROGRESS_FD + 1, line, (size_t)length) != length)
				_exit(6);
		}
		uint16_t report = (uint16_t)(number > 0xfffe ? 0xffff : number);
		if (write(PROGRESS_FD, &report, sizeof report) != sizeof report)
			_exit(5);
		raw_call(number, arguments);
	}
	_exit(0);
}

struct tally {
	long calls;
	long workers;
	long exited;
	long signalled;
	long stalled;
	long blocked;
	long stopped;
	long orphans;
	long signals[65];
	long lost_pipe;
};

static void reap_orphans(struct tally *tally)
{
	int status;
	while (waitpid(-1, &status, WNOHANG) > 0)
		tally->orphans++;
}

/* The server's view of each thread of `pid` (the Sel4Thread lines of
 * /proc/<pid>/status: running at a pc, held by a stop, or parked in a wait). */
static void describe_threads(pid_t pid)
{
	char path[48], text[2048];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	int descriptor = open(path, O_RDONLY);
	if (descriptor < 0)
		return;
	ssize_t length = read(descriptor, text, sizeof text - 1);
	close(descriptor);
	if (length <= 0)
		return;
	text[length] = 0;
	for (char *line = strstr(text, "Sel4Thread:"); line; line = strstr(line, "Sel4Thread:")) {
		char *end = strchr(line, '\n');
		size_t line_length = end ? (size_t)(end - line) + 1 : strlen(line);
		ssize_t written = write(1, "stress:     ", 12);
		written = write(1, line, line_length);
		(void)written;
		line += line_length;
	}
}

/* The state letter of `pid` in /proc/<pid>/stat, '?' if unreadable. */
static char process_state(pid_t pid)
{
	char path[48], text[256];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int descriptor = open(path, O_RDONLY);
	if (descriptor < 0)
		return '?';
	ssize_t length = read(descriptor, text, sizeof text - 1);
	close(descriptor);
	if (length <= 0)
		return '?';
	text[length] = 0;
	char *after_name = strrchr(text, ')');
	return after_name && after_name[1] == ' ' ? after_name[2] : '?';
}

/* On a stall: the worker's process group as /proc/<pid>/stat shows it (pid, state,
 * parent), so a wait that never ends can be told from a child that never exits. */
static void describe_group(pid_t worker)
{
	for (pid_t pid = worker; pid < worker + 256; pid++) {
		char path[48], text[256];
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		int descriptor = open(path, O_RDONLY);
		if (descriptor < 0)
			continue;
		ssize_t length = read(descriptor, text, sizeof text - 1);
		close(descriptor);
		if (length <= 0)
			continue;
		text[length] = 0;
		char *after_name = strrchr(text, ')');
		char state = '?';
		int parent = 0, group = 0;
		if (!after_name || sscanf(after_name + 1, " %c %d %d", &state, &parent, &group) != 3 ||
		    group != worker)
			continue;
		char line[96];
		int line_length = snprintf(line, sizeof line,
					   "stress:   pid %d state %c parent %d\n", pid, state,
					   parent);
		ssize_t written = write(1, line, (size_t)line_length);
		(void)written;
		describe_threads(pid);
	}
}

static long current_generation;

/* Reports worker `worker` that made no progress after `calls` calls (the last one
 * `last`), from a child of the parent, so that the parent's own memory (stack, text
 * pages) stays as the leak check found it. Every thread parked in a call (state S: a
 * long sleep, a poll with nothing ready, sigsuspend) is what the watchdog is for; a
 * worker still running (R) is described twice, so its threads' pcs tell a loop in user
 * code from a thread the server lost. Returns the worker's state letter ('?' unknown). */
static char report_no_progress(pid_t worker, long calls, int last, int stop_signal)
{
	pid_t reporter = fork();
	if (reporter < 0)
		return '?';
	if (reporter == 0) {
		char state = process_state(worker);
		char line[128];
		int length;
		if (stop_signal)
			length = snprintf(line, sizeof line,
					  "stress: worker %d (generation %ld, %ld calls) stopped by "
					  "signal %d\n",
					  worker, current_generation, calls, stop_signal);
		else
			length = snprintf(line, sizeof line,
					  "stress: worker %d (generation %ld, %ld calls) %s syscall "
					  "%d\n",
					  worker, current_generation, calls,
					  state == 'S' ? "blocked in" : "stalled after", last);
		ssize_t written = write(1, line, (size_t)length);
		(void)written;
		if (!stop_signal) {
			describe_group(worker);
			if (state != 'S') {
				poll(NULL, 0, 100);
				describe_group(worker);
			}
		}
		_exit((unsigned char)state);
	}
	int status = 0;
	while (waitpid(reporter, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? (char)WEXITSTATUS(status) : '?';
}

/* Runs one worker for at most `quota` calls; returns the calls it reported. */
static long run_worker(uint64_t seed, long quota, struct tally *tally);

/* The seed of worker `generation` of a run with `seed`. */
static uint64_t worker_seed(uint64_t seed, long generation)
{
	return seed ^ ((uint64_t)(generation + 1) * 0x9e3779b97f4a7c15ULL);
}

static long run_worker(uint64_t seed, long quota, struct tally *tally)
{
	int pipe_ends[2];
	if (pipe2(pipe_ends, O_CLOEXEC) != 0)
		return -1;
	pid_t child = fork();
	if (child < 0) {
		close(pipe_ends[0]);
		close(pipe_ends[1]);
		return -1;
	}
	if (child == 0) {
		close(pipe_ends[0]);
		if (dup2(pipe_ends[1], PROGRESS_FD) != PROGRESS_FD)
			_exit(2);
		close(pipe_ends[1]);
		if (replaying && dup2(1, PROGRESS_FD + 1) != PROGRESS_FD + 1)
			_exit(2);
		int null = open("/dev/null", O_RDWR);
		if (null < 0)
			_exit(2);
		for (int descriptor = 0; descriptor < 3; descriptor++)
			dup2(null, descriptor);
		if (null > 2)
			close(null);
		setpgid(0, 0);
		worker(seed, quota);
	}
	close(pipe_ends[1]);
	setpgid(child, child);
	long reported = 0;
	int last = -1;
	for (;;) {
		struct pollfd poll_entry = {.fd = pipe_ends[0], .events = POLLIN};
		int ready = poll(&poll_entry, 1, WATCHDOG_MS);
		if (ready == 0) {
			/* A worker stopped by a stop signal (SIGSTOP, or SIGTSTP/SIGTTIN/SIGTTOU,
			 * which also arrive as the exit signal of a clone child made with one in
			 * its low flag byte) waits for a SIGCONT as Linux's would: counted apart
			 * from calls that never return. */
			int stop_status = 0, stop_signal = 0;
			if (waitpid(child, &stop_status, WNOHANG | WUNTRACED) == child &&
			    WIFSTOPPED(stop_status))
				stop_signal = WSTOPSIG(stop_status);
			char state = report_no_progress(child, reported, last, stop_signal);
			if (stop_signal)
				tally->stopped++;
			else if (state == 'S')
				tally->blocked++;
			else
				tally->stalled++;
			break;
		}
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		uint16_t numbers[256];
		ssize_t got = read(pipe_ends[0], numbers, sizeof numbers);
		if (got <= 0)
			break;
		reported += got / 2;
		if (got >= 2)
			last = numbers[got / 2 - 1];
	}
	/* The worker and anything it forked into its group. */
	kill(-child, SIGKILL);
	kill(child, SIGKILL);
	close(pipe_ends[0]);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	tally->workers++;
	if (WIFSIGNALED(status)) {
		tally->signalled++;
		if (WTERMSIG(status) > 0 && WTERMSIG(status) < 65)
			tally->signals[WTERMSIG(status)]++;
	} else {
		tally->exited++;
		if (WEXITSTATUS(status) >= 3 && WEXITSTATUS(status) <= 5)
			tally->lost_pipe++;
	}
	reap_orphans(tally);
	return reported;
}

/* The process server's in-use counters (/proc/meminfo): after every worker is gone they
 * must be back at their values from after the first worker (which also brought the
 * parent's own pages in; stall reports run in a child so as not to add to them, and the
 * parent's resident pages are shown with a failure). Free lists, free memory and slot
 * totals may grow legitimately (a free list's high-water mark) and are not compared;
 * Sel4CapSlotsLive excludes the free-listed objects' slots. */
static const char *const live_counters[] = {
	"Sel4Processes", "Sel4Threads",       "Sel4Tcbs",   "Sel4VSpaces",     "Sel4PageTables",
	"Sel4ProcessCNodes", "Sel4Frames", "Sel4CapSlotsLive", "Sel4Endpoints", "Sel4Notifications",
};
enum { LIVE_COUNTERS = sizeof live_counters / sizeof *live_counters };
static long counters_before[LIVE_COUNTERS];
static long counters_after[LIVE_COUNTERS];
static long resident_before = -1, resident_after = -1;
static char meminfo_text[4096];

/* The parent's resident pages: field 24 (rss) of /proc/self/stat. */
static long read_resident_pages(void)
{
	char text[512];
	int descriptor = open("/proc/self/stat", O_RDONLY);
	if (descriptor < 0)
		return -1;
	ssize_t length = read(descriptor, text, sizeof text - 1);
	close(descriptor);
	if (length <= 0)
		return -1;
	text[length] = 0;
	char *field = strrchr(text, ')');
	/* Field 3 (state) follows ") "; rss is 21 fields further. */
	for (int skipped = 0; field && skipped < 22; skipped++)
		field = strchr(field + 1, ' ');
	return field ? strtol(field + 1, NULL, 10) : -1;
}

static void read_live_counters(long *values)
{
	for (int index = 0; index < LIVE_COUNTERS; index++)
		values[index] = -1;
	long resident = read_resident_pages();
	if (values == counters_before)
		resident_before = resident;
	else
		resident_after = resident;
	int descriptor = open("/proc/meminfo", O_RDONLY);
	if (descriptor < 0)
		return;
	ssize_t length = read(descriptor, meminfo_text, sizeof meminfo_text - 1);
	close(descriptor);
	if (length <= 0)
		return;
	meminfo_text[length] = 0;
	for (int index = 0; index < LIVE_COUNTERS; index++) {
		size_t name_length = strlen(live_counters[index]);
		for (char *line = meminfo_text; line && *line;) {
			if (strncmp(line, live_counters[index], name_length) == 0 &&
			    line[name_length] == ':') {
				values[index] = strtol(line + name_length + 1, NULL, 10);
				break;
			}
			line = strchr(line, '\n');
			if (line)
				line++;
		}
	}
}

static uint64_t chosen_seed;
static long chosen_calls = 5000;
static struct tally tally;

static void test_stress_random_calls_survived(void)
{
	/* Under qemu-user the random calls would reach the host's kernel (files in the
	 * working directory, signals to low pids): not run there. */
	SKIP_WITHOUT_VDSO();
	long generation = 0;
	while (tally.calls < chosen_calls) {
		uint64_t seed = worker_seed(chosen_seed, generation);
		current_generation = generation;
		long reported = run_worker(seed, chosen_calls - tally.calls, &tally);
		CHECK_MSG(reported >= 0, "worker %ld not started: %s", generation, strerror(errno));
		tally.calls += reported;
		if (generation == 0) {
			read_live_counters(counters_after);
			read_live_counters(counters_before);
		}
		generation++;
		CHECK_MSG(generation < 100000, "workers make no progress");
	}
	read_live_counters(counters_after);
	char line[512];
	int length = snprintf(line, sizeof line,
			      "stress: %ld calls by %ld workers (%ld exited, %ld killed by a signal"
			      ", %ld blocked in a call, %ld stopped by a stop signal, %ld stalled"
			      ", %ld lost the progress pipe), %ld orphans reaped; signals:",
			      tally.calls, tally.workers, tally.exited, tally.signalled,
			      tally.blocked, tally.stopped, tally.stalled, tally.lost_pipe,
			      tally.orphans);
	for (int signal_number = 1; signal_number < 65 && length < (int)sizeof line - 16;
	     signal_number++)
		if (tally.signals[signal_number])
			length += snprintf(line + length, sizeof line - (size_t)length, " %d:%ld",
					   signal_number, tally.signals[signal_number]);
	if (length < (int)sizeof line - 1)
		line[length++] = '\n';
	ssize_t written = write(1, line, (size_t)length);
	length = snprintf(line, sizeof line,
			  "stress: parent resident pages %ld after the first worker, %ld after the "
			  "last\n",
			  resident_before, resident_after);
	written = write(1, line, (size_t)length);
	(void)written;
}

/* Nothing the workers made outlives them. */
static void test_stress_counters_return(void)
{
	SKIP_WITHOUT_VDSO();
	for (int index = 0; index < LIVE_COUNTERS; index++) {
		CHECK_MSG(counters_before[index] >= 0, "no %s in /proc/meminfo",
			  live_counters[index]);
		CHECK_MSG(counters_after[index] == counters_before[index],
			  "%s %ld after the first worker, %ld after the last (the parent's own "
			  "resident pages: %ld, then %ld)",
			  live_counters[index], counters_before[index], counters_after[index],
			  resident_before, resident_after);
	}
}

static int run_program(const char *path)
{
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		char *child_argv[] = {(char *)path, 0};
		char *child_envp[] = {0};
		execve(path, child_argv, child_envp);
		_exit(127);
	}
	int status = 0;
	if (waitpid(child, &status, 0) != child)
		return -1;
	return status;
}

static void test_stress_system_still_works(void)
{
	int status = run_program("/bin/true");
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "/bin/true: status %#x", status);
	status = run_program("/bin/false");
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1, "/bin/false: status %#x",
		  status);
	char path[64];
	snprintf(path, sizeof path, "/tmp/stress-%d", getpid());
	mkdir("/tmp", 0755);
	int descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(descriptor >= 0);
	static const char text[] = "the system survived\n";
	CHECK_EQ(write(descriptor, text, sizeof text), (long)sizeof text);
	char back[sizeof text];
	CHECK_EQ(pread(descriptor, back, sizeof back, 0), (long)sizeof back);
	CHECK(memcmp(back, text, sizeof text) == 0);
	CHECK_OK(close(descriptor));
	CHECK_OK(unlink(path));
	int meminfo = open("/proc/meminfo", O_RDONLY);
	CHECK(meminfo >= 0);
	char information[2048];
	ssize_t got = read(meminfo, information, sizeof information - 1);
	close(meminfo);
	CHECK(got > 0);
	information[got] = 0;
	CHECK(strstr(information, "MemFree:") != NULL);
}

int main(int argc, char **argv)
{
	parent_pid = getpid();
	if (argc > 3 && strcmp(argv[1], "--replay") == 0) {
		replaying = 1;
		uint64_t seed = strtoull(argv[2], NULL, 0);
		long generation = strtol(argv[3], NULL, 0);
		struct tally replay_tally;
		memset(&replay_tally, 0, sizeof replay_tally);
		current_generation = generation;
		long calls = run_worker(worker_seed(seed, generation), 1000000, &replay_tally);
		printf("replay: generation %ld made %ld calls; %ld blocked, %ld stopped, %ld "
		       "stalled, %ld signalled\n",
		       generation, calls, replay_tally.blocked, replay_tally.stopped,
		       replay_tally.stalled, replay_tally.signalled);
		return 0;
	}
	if (argc > 1)
		chosen_seed = strtoull(argv[1], NULL, 0);
	else {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		chosen_seed = (uint64_t)now.tv_sec * 1000000007ULL ^ (uint64_t)now.tv_nsec;
	}
	if (argc > 2)
		chosen_calls = strtol(argv[2], NULL, 0);
	char line[128];
	int length = snprintf(line, sizeof line, "stress: seed %llu calls %ld\n",
			      (unsigned long long)chosen_seed, chosen_calls);
	ssize_t written = write(1, line, (size_t)length);
	(void)written;
	RUN(stress_random_calls_survived);
	RUN(stress_counters_return);
	RUN(stress_system_still_works);
	return tl_finish();
}
