/* time.c: every clock through libc (the vDSO when there is one) and through the raw system
 * call, resolutions, gettimeofday and time, sleeps, interval timers and alarm, monotonicity.
 * EXPECT_REALTIME=<unix seconds> in the environment checks CLOCK_REALTIME against the host. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "testlib.h"

#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

static const struct {
	clockid_t id;
	const char *name;
} clocks[] = {
	{CLOCK_REALTIME, "REALTIME"},
	{CLOCK_MONOTONIC, "MONOTONIC"},
	{CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
	{CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
	{CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
	{CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
	{CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
	{CLOCK_BOOTTIME, "BOOTTIME"},
	{CLOCK_TAI, "TAI"},
};
#define CLOCK_COUNT (sizeof clocks / sizeof clocks[0])

static int64_t nanoseconds(const struct timespec *time)
{
	return (int64_t)time->tv_sec * 1000000000 + time->tv_nsec;
}

static int64_t monotonic_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return nanoseconds(&now);
}

static void test_time_clock_gettime_libc_vs_syscall(void)
{
	for (size_t index = 0; index < CLOCK_COUNT; index++) {
		struct timespec first, raw, last;
		memset(&raw, 0xff, sizeof raw);
		CHECK_MSG(clock_gettime(clocks[index].id, &first) == 0, "libc %s: %s", clocks[index].name,
			  strerror(errno));
		CHECK_MSG(syscall(SYS_clock_gettime, clocks[index].id, &raw) == 0, "syscall %s: %s",
			  clocks[index].name, strerror(errno));
		CHECK_OK(clock_gettime(clocks[index].id, &last));
		CHECK_MSG(raw.tv_nsec >= 0 && raw.tv_nsec < 1000000000 && first.tv_nsec >= 0 &&
				  first.tv_nsec < 1000000000,
			  "%s: nanoseconds out of range", clocks[index].name);
		/* taken back to back, the three readings are in order and close together */
		int64_t a = nanoseconds(&first), b = nanoseconds(&raw), c = nanoseconds(&last);
		CHECK_MSG(a <= b && b <= c,
			  "%s: libc %lld, syscall %lld, libc %lld are out of order", clocks[index].name,
			  (long long)a, (long long)b, (long long)c);
		CHECK_MSG(c - a < 100000000, "%s: libc and syscall readings %lld ns apart",
			  clocks[index].name, (long long)(c - a));
	}
	/* relations between clocks */
	struct timespec monotonic, boot, realtime, tai;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &monotonic));
	CHECK_OK(clock_gettime(CLOCK_BOOTTIME, &boot));
	CHECK(nanoseconds(&boot) >= nanoseconds(&monotonic));
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &realtime));
	CHECK_OK(clock_gettime(CLOCK_TAI, &tai));
	int64_t offset = nanoseconds(&tai) - nanoseconds(&realtime);
	CHECK_MSG(offset >= 0 && offset < 40 * 1000000000LL, "TAI - REALTIME = %lld ns",
		  (long long)offset);
}

static void test_time_invalid_clock_einval(void)
{
	/* 12-15 are unassigned; 16-23 became auxiliary clocks in Linux 6.17 */
	static const clockid_t invalid[] = {12, 15, 1000, 0x7fffffff};
	for (size_t index = 0; index < sizeof invalid / sizeof invalid[0]; index++) {
		struct timespec time;
		CHECK_ERRNO(clock_gettime(invalid[index], &time), EINVAL);
		CHECK_ERRNO(syscall(SYS_clock_gettime, invalid[index], &time), EINVAL);
		CHECK_ERRNO(clock_getres(invalid[index], &time), EINVAL);
		CHECK_ERRNO(syscall(SYS_clock_getres, invalid[index], &time), EINVAL);
	}
	CHECK_ERRNO(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)16), EFAULT);
}

static void test_time_clock_getres(void)
{
	for (size_t index = 0; index < CLOCK_COUNT; index++) {
		struct timespec libc_resolution, raw_resolution;
		memset(&raw_resolution, 0xff, sizeof raw_resolution);
		CHECK_OK(clock_getres(clocks[index].id, &libc_resolution));
		CHECK_EQ(syscall(SYS_clock_getres, clocks[index].id, &raw_resolution), 0);
		CHECK_MSG(nanoseconds(&libc_resolution) == nanoseconds(&raw_resolution),
			  "%s: libc %lld ns, syscall %lld ns", clocks[index].name,
			  (long long)nanoseconds(&libc_resolution),
			  (long long)nanoseconds(&raw_resolution));
		CHECK_MSG(nanoseconds(&libc_resolution) > 0 &&
				  nanoseconds(&libc_resolution) <= 10000000,
			  "%s: resolution %lld ns", clocks[index].name,
			  (long long)nanoseconds(&libc_resolution));
		CHECK_OK(clock_getres(clocks[index].id, NULL)); /* NULL is allowed */
	}
	struct timespec fine, coarse;
	CHECK_OK(clock_getres(CLOCK_MONOTONIC, &fine));
	CHECK_OK(clock_getres(CLOCK_MONOTONIC_COARSE, &coarse));
	CHECK(nanoseconds(&coarse) >= nanoseconds(&fine));
	CHECK(nanoseconds(&fine) <= 1000000); /* high-resolution timers */
}

static void test_time_gettimeofday_vs_time(void)
{
	struct timeval before, raw;
	struct timespec realtime;
	time_t seconds_before = time(NULL);
	CHECK_OK(gettimeofday(&before, NULL));
	CHECK_EQ(syscall(SYS_gettimeofday, &raw, NULL), 0);
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &realtime));
	time_t seconds_after = time(NULL);
	CHECK(before.tv_usec >= 0 && before.tv_usec < 1000000);
	CHECK(seconds_before <= before.tv_sec && before.tv_sec <= seconds_after);
	int64_t microseconds_before = (int64_t)before.tv_sec * 1000000 + before.tv_usec;
	int64_t microseconds_raw = (int64_t)raw.tv_sec * 1000000 + raw.tv_usec;
	int64_t microseconds_realtime = nanoseconds(&realtime) / 1000;
	CHECK_MSG(microseconds_before <= microseconds_raw &&
			  microseconds_raw <= microseconds_realtime + 1 &&
			  microseconds_realtime - microseconds_before < 100000,
		  "gettimeofday %lld, syscall %lld, clock_gettime %lld us",
		  (long long)microseconds_before, (long long)microseconds_raw,
		  (long long)microseconds_realtime);
	time_t stored = 0;
	CHECK_EQ(time(&stored), stored);
	CHECK(stored >= seconds_after);
	struct timezone zone;
	CHECK_OK(gettimeofday(NULL, &zone)); /* NULL tv is allowed */
	CHECK_ERRNO(syscall(SYS_gettimeofday, (void *)16, NULL), EFAULT);
}

static void test_time_nanosleep_20ms(void)
{
	int64_t start = monotonic_now();
	struct timespec request = {0, 20 * 1000 * 1000}, remaining = {9, 9};
	CHECK_OK(nanosleep(&request, &remaining));
	int64_t slept = monotonic_now() - start;
	CHECK_MSG(slept >= 20000000 && slept < 2000000000LL, "slept %lld ns for 20 ms",
		  (long long)slept);
	struct timespec bad = {0, 1000000000};
	CHECK_ERRNO(nanosleep(&bad, NULL), EINVAL);
	struct timespec negative = {-1, 0};
	CHECK_ERRNO(nanosleep(&negative, NULL), EINVAL);
	struct timespec zero = {0, 0};
	CHECK_OK(nanosleep(&zero, NULL));
}

static volatile int alarms;

static void alarm_handler(int signal_number)
{
	(void)signal_number;
	alarms++;
}

static void test_time_nanosleep_interrupted_remaining(void)
{
	struct sigaction action = {.sa_handler = alarm_handler}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGALRM, &action, &old));
	alarms = 0;
	struct itimerval timer = {.it_value = {0, 50000}};
	CHECK_OK(setitimer(ITIMER_REAL, &timer, NULL));
	struct timespec request = {2, 0}, remaining = {0, 0};
	errno = 0;
	int result = nanosleep(&request, &remaining);
	int saved = errno;
	sigaction(SIGALRM, &old, NULL);
	CHECK_EQ(result, -1);
	CHECK_EQ(saved, EINTR);
	CHECK_EQ(alarms, 1);
	int64_t left = nanoseconds(&remaining);
	CHECK_MSG(left > 0 && left < 1960000000LL, "remaining %lld ns of 2 s after ~50 ms",
		  (long long)left);
}

static void test_time_clock_nanosleep_abstime(void)
{
	struct timespec target;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &target));
	target.tv_nsec += 30 * 1000 * 1000;
	if (target.tv_nsec >= 1000000000) {
		target.tv_nsec -= 1000000000;
		target.tv_sec++;
	}
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL), 0);
	int64_t now = monotonic_now();
	CHECK_MSG(now >= nanoseconds(&target), "woke %lld ns early",
		  (long long)(nanoseconds(&target) - now));
	CHECK_MSG(now - nanoseconds(&target) < 2000000000LL, "woke %lld ns late",
		  (long long)(now - nanoseconds(&target)));
	/* a time in the past returns at once */
	struct timespec past = {0, 1};
	int64_t start = monotonic_now();
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
	CHECK(monotonic_now() - start < 100000000);
	/* relative, on CLOCK_REALTIME */
	struct timespec relative = {0, 10 * 1000 * 1000};
	start = monotonic_now();
	CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, 0, &relative, NULL), 0);
	CHECK(monotonic_now() - start >= 10000000);
	/* clock_nanosleep returns the error number rather than setting errno */
	CHECK_EQ(clock_nanosleep(1000, 0, &relative, NULL), EINVAL);
	CHECK_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &relative, NULL), EINVAL);
	struct timespec bad = {0, -1};
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
}

static void test_time_setitimer_sigalrm(void)
{
	struct sigaction action = {.sa_handler = alarm_handler}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGALRM, &action, &old));
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &previous);
	alarms = 0;
	struct itimerval timer = {.it_value = {0, 30000}, .it_interval = {0, 20000}}, current;
	int64_t start = monotonic_now();
	CHECK_OK(setitimer(ITIMER_REAL, &timer, NULL));
	CHECK_OK(getitimer(ITIMER_REAL, &current));
	CHECK_EQ(current.it_interval.tv_usec, 20000);
	CHECK(current.it_value.tv_sec == 0 && current.it_value.tv_usec <= 30000);
	sigset_t wait_mask = previous;
	sigdelset(&wait_mask, SIGALRM);
	while (alarms < 3)
		sigsuspend(&wait_mask);
	int64_t elapsed = monotonic_now() - start;
	struct itimerval off = {{0, 0}, {0, 0}};
	CHECK_OK(setitimer(ITIMER_REAL, &off, &current));
	sigprocmask(SIG_SETMASK, &previous, NULL);
	sigaction(SIGALRM, &old, NULL);
	/* 30 ms, then 20 ms apart: the third at 70 ms at the earliest */
	CHECK_MSG(elapsed >= 70000000 && elapsed < 3000000000LL, "three SIGALRMs took %lld ns",
		  (long long)elapsed);
	CHECK_EQ(current.it_interval.tv_usec, 20000); /* the old value was still armed */
	CHECK_OK(getitimer(ITIMER_REAL, &current));
	CHECK(current.it_value.tv_sec == 0 && current.it_value.tv_usec == 0);
	struct itimerval bad = {.it_value = {0, 1000000}};
	CHECK_ERRNO(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
}

static void test_time_alarm(void)
{
	struct sigaction action = {.sa_handler = alarm_handler}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGALRM, &action, &old));
	CHECK_EQ(alarm(5), 0);
	unsigned int left = alarm(1);
	CHECK_MSG(left >= 4 && left <= 5, "alarm(1) returned %u after alarm(5)", left);
	alarms = 0;
	int64_t start = monotonic_now();
	while (alarms == 0 && monotonic_now() - start < 5000000000LL)
		pause();
	int64_t elapsed = monotonic_now() - start;
	CHECK_EQ(alarm(0), 0);
	sigaction(SIGALRM, &old, NULL);
	CHECK_EQ(alarms, 1);
	CHECK_MSG(elapsed >= 900000000 && elapsed < 3000000000LL, "alarm(1) fired after %lld ns",
		  (long long)elapsed);
	/* cancelling returns what was left */
	CHECK_EQ(alarm(10), 0);
	left = alarm(0);
	CHECK_MSG(left >= 9 && left <= 10, "alarm(0) returned %u", left);
}

static void test_time_monotonic_never_backwards(void)
{
	static const struct {
		clockid_t id;
		const char *name;
		long calls;
	} checked[] = {
		{CLOCK_MONOTONIC, "MONOTONIC", 1000000},
		{CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW", 200000},
		{CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE", 200000},
		{CLOCK_BOOTTIME, "BOOTTIME", 200000},
	};
	for (size_t index = 0; index < sizeof checked / sizeof checked[0]; index++) {
		struct timespec now;
		clock_gettime(checked[index].id, &now);
		int64_t previous = nanoseconds(&now), first = previous;
		for (long call = 0; call < checked[index].calls; call++) {
			clock_gettime(checked[index].id, &now);
			int64_t current = nanoseconds(&now);
			CHECK_MSG(current >= previous, "%s went back %lld ns at call %ld",
				  checked[index].name, (long long)(previous - current), call);
			previous = current;
		}
		CHECK_MSG(previous > first || checked[index].id == CLOCK_MONOTONIC_COARSE,
			  "%s did not advance", checked[index].name);
	}
}

static void test_time_realtime_epoch(void)
{
	struct timespec now;
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &now));
	/* wall-clock time, not time since boot: after 2024-01-01 */
	CHECK_MSG(now.tv_sec > 1704067200, "CLOCK_REALTIME is %lld", (long long)now.tv_sec);
	const char *expected = getenv("EXPECT_REALTIME");
	if (expected) {
		long long host = strtoll(expected, NULL, 10);
		long long difference = (long long)now.tv_sec - host;
		/* the host value is taken before boot, so allow for boot time */
		CHECK_MSG(difference >= -5 && difference <= 120,
			  "CLOCK_REALTIME %lld, host said %lld (%+lld s)", (long long)now.tv_sec, host,
			  difference);
	}
}

static volatile unsigned long spin_sink;

static void test_time_cpu_clocks_advance(void)
{
	struct timespec process_before, thread_before, process_after, thread_after;
	CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process_before));
	CHECK_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &thread_before));
	int64_t start = monotonic_now();
	while (monotonic_now() - start < 50000000)
		for (int index = 0; index < 1000; index++)
			spin_sink += (unsigned long)index;
	CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process_after));
	CHECK_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &thread_after));
	int64_t process_used = nanoseconds(&process_after) - nanoseconds(&process_before);
	int64_t thread_used = nanoseconds(&thread_after) - nanoseconds(&thread_before);
	/* spinning for 50 ms of wall time; allow for sharing the CPU */
	CHECK_MSG(process_used >= 10000000, "process CPU time advanced %lld ns",
		  (long long)process_used);
	CHECK_MSG(thread_used >= 10000000, "thread CPU time advanced %lld ns", (long long)thread_used);
	CHECK(process_used <= monotonic_now() - start + 10000000);
	/* sleeping uses no CPU time */
	CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process_before));
	usleep(100000);
	CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process_after));
	process_used = nanoseconds(&process_after) - nanoseconds(&process_before);
	CHECK_MSG(process_used < 50000000, "a 100 ms sleep used %lld ns of CPU",
		  (long long)process_used);
}

static volatile int spinner_stop;

static void *spinner(void *argument)
{
	(void)argument;
	while (!spinner_stop)
		spin_sink++;
	return NULL;
}

static int64_t read_clock(clockid_t clock)
{
	struct timespec now = {-1, -1};
	if (clock_gettime(clock, &now) != 0)
		return -1;
	return nanoseconds(&now);
}

/* clock_getcpuclockid/pthread_getcpuclockid ids (Linux's negative encoding) and
 * clock_nanosleep on CPU-time clocks */
static void test_time_cpu_clock_ids_and_sleeps(void)
{
	clockid_t own, by_pid, self_thread, other_thread;
	CHECK_EQ(clock_getcpuclockid(0, &own), 0);
	CHECK_EQ(clock_getcpuclockid(getpid(), &by_pid), 0);
	CHECK(own < 0 && by_pid < 0);
	int64_t a = read_clock(CLOCK_PROCESS_CPUTIME_ID), b = read_clock(by_pid), c = read_clock(own);
	CHECK_MSG(a >= 0 && a <= b && b <= c, "process clocks %lld %lld %lld", (long long)a,
		  (long long)b, (long long)c);
	/* no such process: EINVAL from the kernel (glibc and newer musl say ESRCH) */
	CHECK(clock_getcpuclockid(4000000, &by_pid) != 0);
	struct timespec time;
	CHECK_ERRNO(syscall(SYS_clock_getres, (clockid_t)((-4000000 - 1) * 8 + 2), &time), EINVAL);
	CHECK_EQ(pthread_getcpuclockid(pthread_self(), &self_thread), 0);
	a = read_clock(CLOCK_THREAD_CPUTIME_ID);
	b = read_clock(self_thread);
	CHECK_MSG(a >= 0 && a <= b, "thread clocks %lld %lld", (long long)a, (long long)b);
	struct timespec resolution;
	CHECK_OK(clock_getres(self_thread, &resolution));
	/* kind 3 does not exist; 0 (user + system) and 1 (user) do */
	CHECK_ERRNO(syscall(SYS_clock_gettime, (clockid_t)(-8 | 3), &time), EINVAL);
	CHECK_EQ(syscall(SYS_clock_gettime, (clockid_t)(-8 | 0), &time), 0);
	CHECK_EQ(syscall(SYS_clock_getres, (clockid_t)(-8 | 1), &time), 0);
	/* a thread that spins: its clock advances, and sleeps on CPU clocks end */
	spinner_stop = 0;
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, spinner, NULL), 0);
	CHECK_EQ(pthread_getcpuclockid(thread, &other_thread), 0);
	struct timespec twenty = {0, 20 * 1000 * 1000};
	int64_t before = read_clock(other_thread);
	CHECK_EQ(clock_nanosleep(other_thread, 0, &twenty, NULL), 0);
	int64_t after = read_clock(other_thread);
	CHECK_MSG(after - before >= 20000000, "spinner's clock advanced %lld ns in a 20 ms CPU sleep",
		  (long long)(after - before));
	before = read_clock(CLOCK_PROCESS_CPUTIME_ID);
	CHECK_EQ(clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &twenty, NULL), 0);
	after = read_clock(CLOCK_PROCESS_CPUTIME_ID);
	CHECK_MSG(after - before >= 20000000, "process clock advanced %lld ns in a 20 ms CPU sleep",
		  (long long)(after - before));
	struct timespec target;
	CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &target));
	target.tv_nsec += 10 * 1000 * 1000;
	if (target.tv_nsec >= 1000000000) {
		target.tv_nsec -= 1000000000;
		target.tv_sec++;
	}
	CHECK_EQ(clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &target, NULL), 0);
	CHECK(read_clock(CLOCK_PROCESS_CPUTIME_ID) >= nanoseconds(&target));
	spinner_stop = 1;
	CHECK_EQ(pthread_join(thread, NULL), 0);
	/* the caller's own thread clock can never advance while it sleeps: EINVAL */
	CHECK_EQ(clock_nanosleep(self_thread, 0, &twenty, NULL), EINVAL);
	/* a thread clock of another process is not the caller's to read */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		while (1)
			spin_sink++;
	}
	clockid_t child_clock;
	CHECK_EQ(clock_getcpuclockid(child, &child_clock), 0);
	usleep(50000);
	int64_t child_used = read_clock(child_clock);
	CHECK_MSG(child_used > 0, "child's process clock reads %lld", (long long)child_used);
	clockid_t foreign_thread = (clockid_t)((-child - 1) * 8 + 6);
	CHECK_ERRNO(syscall(SYS_clock_gettime, foreign_thread, &time), EINVAL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK_ERRNO(syscall(SYS_clock_gettime, child_clock, &time), EINVAL);
}

/* a zombie's process CPU clock reads its final time until it is reaped (Linux keeps the
 * task, and so its clock, until release_task), then EINVAL */
static void test_time_zombie_cpu_clock(void)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		int64_t start = monotonic_now();
		while (monotonic_now() - start < 30000000)
			spin_sink++;
		_exit(0);
	}
	clockid_t child_clock;
	CHECK_EQ(clock_getcpuclockid(child, &child_clock), 0);
	siginfo_t info;
	memset(&info, 0, sizeof info);
	CHECK_OK(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT));
	CHECK_EQ(info.si_pid, child);
	struct timespec first, second, resolution;
	CHECK_OK(syscall(SYS_clock_gettime, child_clock, &first));
	CHECK_MSG(nanoseconds(&first) > 0, "zombie's process clock reads %lld ns",
		  (long long)nanoseconds(&first));
	CHECK_OK(syscall(SYS_clock_getres, child_clock, &resolution));
	usleep(20000);
	CHECK_OK(syscall(SYS_clock_gettime, child_clock, &second));
	CHECK_MSG(nanoseconds(&second) == nanoseconds(&first),
		  "zombie's clock moved from %lld to %lld ns", (long long)nanoseconds(&first),
		  (long long)nanoseconds(&second));
	CHECK_EQ(waitpid(child, NULL, 0), child);
	CHECK_ERRNO(syscall(SYS_clock_gettime, child_clock, &second), EINVAL);
}

int main(void)
{
	RUN(time_clock_gettime_libc_vs_syscall);
	RUN(time_invalid_clock_einval);
	RUN(time_clock_getres);
	RUN(time_gettimeofday_vs_time);
	RUN(time_nanosleep_20ms);
	RUN(time_nanosleep_interrupted_remaining);
	RUN(time_clock_nanosleep_abstime);
	RUN(time_setitimer_sigalrm);
	RUN(time_alarm);
	RUN(time_monotonic_never_backwards);
	RUN(time_realtime_epoch);
	RUN(time_cpu_clocks_advance);
	RUN(time_cpu_clock_ids_and_sleeps);
	RUN(time_zombie_cpu_clock);
	return tl_finish();
}
