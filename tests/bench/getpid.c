/* getpid.c: the cost of the cheapest system call, getpid, as a full round trip into the
 * kernel and back (musl's getpid() is the raw syscall; nothing caches it). */
#include <sys/syscall.h>

#include "bench.h"

#define ITERATIONS 10000L

int main(void)
{
	pid_t expected = getpid();
	long wrong = 0;
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++)
		wrong += getpid() != expected;
	uint64_t ticks = bench_counter() - start;
	if (expected <= 0 || wrong != 0)
		bench_fail("getpid", "getpid returned %d first and differed %ld times", (int)expected,
			   wrong);
	else
		bench_report("getpid", ticks, ITERATIONS);
	return bench_exit_status();
}
