/* bench.h: timing and the output protocol shared by the benchmark programs.
 *
 * Programs time themselves with the generic timer's virtual count (CNTVCT_EL0), readable
 * at EL0 on Linux and on this system. Under QEMU's `-icount shift=0,sleep=off` guest time
 * advances one nanosecond per instruction, so nanoseconds measured this way are guest
 * instructions, repeatable whatever the host does. Every result is one line written with a
 * single write(2):
 *   BENCH <name> <instructions per operation> <iterations>
 *   BENCH_FAIL <name>: <why>
 * A program exits 0 when every benchmark it ran succeeded, 1 otherwise. */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int bench_failures;

/* The virtual count, after an isb so earlier instructions have retired. */
static inline uint64_t bench_counter(void)
{
	uint64_t value;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(value)::"memory");
	return value;
}

/* The counter's frequency in Hz (62.5 MHz on QEMU virt). */
static inline uint64_t bench_frequency(void)
{
	uint64_t value;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(value));
	return value;
}

/* Counter ticks converted to nanoseconds, which are instructions under icount. */
static inline double bench_instructions(uint64_t ticks)
{
	uint64_t frequency = bench_frequency();
	if (frequency == 0)
		return 0.0;
	return (double)ticks * 1e9 / (double)frequency;
}

static void bench_write_line(const char *line, int length)
{
	if (length < 0)
		return;
	if (length > 255)
		length = 255;
	ssize_t written = write(1, line, (size_t)length);
	(void)written;
}

/* Prints the result of `iterations` operations that took `ticks` counter ticks in all. */
__attribute__((unused)) static void bench_report(const char *name, uint64_t ticks, long iterations)
{
	char line[256];
	double per_operation = iterations > 0 ? bench_instructions(ticks) / (double)iterations : 0;
	int length = snprintf(line, sizeof line, "BENCH %s %.1f %ld\n", name, per_operation,
			      iterations);
	bench_write_line(line, length);
}

__attribute__((format(printf, 2, 3), unused)) static void bench_fail(const char *name,
							      const char *format, ...)
{
	char reason[200];
	char line[256];
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(reason, sizeof reason, format, arguments);
	va_end(arguments);
	for (char *cursor = reason; *cursor; cursor++)
		if (*cursor == '\n')
			*cursor = ' ';
	int length = snprintf(line, sizeof line, "BENCH_FAIL %s: %s\n", name, reason);
	bench_write_line(line, length);
	bench_failures++;
}

/* The exit status: 0 when nothing failed. */
__attribute__((unused)) static int bench_exit_status(void)
{
	return bench_failures == 0 ? 0 : 1;
}

#endif
