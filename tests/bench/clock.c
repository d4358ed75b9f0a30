/* clock.c: reading the time: clock_gettime (MONOTONIC, REALTIME) through musl, which uses
 * the vDSO when the kernel maps one, and through the raw syscall; gettimeofday and time
 * through musl. Each result is checked for sanity so a broken clock cannot look fast. */
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "bench.h"

#define ITERATIONS 10000L

static int raw_clock_gettime(clockid_t clock, struct timespec *time)
{
	return (int)syscall(SYS_clock_gettime, clock, time);
}

typedef int (*clock_function)(clockid_t, struct timespec *);

/* Times `function(clock)` and checks that it never fails and never goes backwards. */
static void time_clock(const char *name, clock_function function, clockid_t clock)
{
	struct timespec previous;
	struct timespec now;
	if (function(clock, &previous) != 0) {
		bench_fail(name, "clock %d: %s", (int)clock, strerror(errno));
		return;
	}
	long failures = 0;
	long backwards = 0;
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++) {
		failures += function(clock, &now) != 0;
		backwards += now.tv_sec < previous.tv_sec ||
			     (now.tv_sec == previous.tv_sec && now.tv_nsec < previous.tv_nsec);
		previous = now;
	}
	uint64_t ticks = bench_counter() - start;
	if (failures != 0 || backwards != 0)
		bench_fail(name, "%ld calls failed, time went backwards %ld times", failures,
			   backwards);
	else
		bench_report(name, ticks, ITERATIONS);
}

static void time_gettimeofday(void)
{
	struct timeval now;
	long failures = 0;
	gettimeofday(&now, 0);
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++)
		failures += gettimeofday(&now, 0) != 0;
	uint64_t ticks = bench_counter() - start;
	/* Any kernel of this century says the year is past 2001. */
	if (failures != 0 || now.tv_sec < 1000000000)
		bench_fail("gettimeofday", "%ld calls failed, last tv_sec %lld", failures,
			   (long long)now.tv_sec);
	else
		bench_report("gettimeofday", ticks, ITERATIONS);
}

static void time_time(void)
{
	time_t now = time(0);
	long failures = 0;
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++) {
		now = time(0);
		failures += now == (time_t)-1;
	}
	uint64_t ticks = bench_counter() - start;
	if (failures != 0 || now < 1000000000)
		bench_fail("time", "%ld calls failed, last %lld", failures, (long long)now);
	else
		bench_report("time", ticks, ITERATIONS);
}

int main(void)
{
	time_clock("clock_gettime_monotonic_libc", clock_gettime, CLOCK_MONOTONIC);
	time_clock("clock_gettime_monotonic_syscall", raw_clock_gettime, CLOCK_MONOTONIC);
	time_clock("clock_gettime_realtime_libc", clock_gettime, CLOCK_REALTIME);
	time_clock("clock_gettime_realtime_syscall", raw_clock_gettime, CLOCK_REALTIME);
	time_gettimeofday();
	time_time();
	return bench_exit_status();
}
