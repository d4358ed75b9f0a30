/* testlib.h: the output protocol and CHECK macros shared by the in-tree C test programs.
 *
 * Each case is a function `static void test_<name>(void)`; RUN(<name>) runs it and prints
 * exactly one line: `TEST_PASS <name>`, `TEST_FAIL <name>: <why>` or `TEST_SKIP <name>: <why>`.
 * A CHECK that fails prints the FAIL line and returns from the case, so a case stops at
 * its first failure. Lines are written with write(2) in one call, so they are unbuffered
 * and never interleave with a child's output. tl_finish() gives the exit status: 0 when
 * nothing failed, 1 otherwise. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *tl_name;   /* the case being run */
static int tl_state;          /* 0 running/passed, 1 failed, 2 skipped */
static int tl_failures;

static void tl_line(const char *kind, const char *reason)
{
	char line[512];
	int length = snprintf(line, sizeof line, "%s %s%s%s", kind, tl_name, reason ? ": " : "",
			      reason ? reason : "");
	if (length < 0)
		return;
	if ((size_t)length > sizeof line - 2)
		length = (int)sizeof line - 2;
	/* A reason must not break the one-line-per-case protocol. */
	for (int index = 0; index < length; index++)
		if (line[index] == '\n')
			line[index] = ' ';
	line[length++] = '\n';
	ssize_t written = write(1, line, (size_t)length);
	(void)written;
}

static void tl_end(int state, const char *kind, const char *format, va_list arguments)
{
	if (tl_state != 0)
		return;
	char reason[400];
	vsnprintf(reason, sizeof reason, format, arguments);
	tl_line(kind, reason);
	tl_state = state;
	if (state == 1)
		tl_failures++;
}

__attribute__((format(printf, 1, 2), unused)) static void tl_fail(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	tl_end(1, "TEST_FAIL", format, arguments);
	va_end(arguments);
}

__attribute__((format(printf, 1, 2), unused)) static void tl_skip(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	tl_end(2, "TEST_SKIP", format, arguments);
	va_end(arguments);
}

static void tl_run(const char *name, void (*function)(void))
{
	tl_name = name;
	tl_state = 0;
	errno = 0;
	function();
	if (tl_state == 0)
		tl_line("TEST_PASS", NULL);
}

/* Runs body() in a forked child and returns its wait status, or -1 if fork or wait
 * failed. The child must report through its exit status or a signal, never by printing. */
__attribute__((unused)) static int tl_in_child(void (*body)(void))
{
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		body();
		_exit(0);
	}
	int status = 0;
	if (waitpid(child, &status, 0) != child)
		return -1;
	return status;
}

static int tl_finish(void)
{
	return tl_failures ? 1 : 0;
}

/* The only reason a case may skip: no vDSO (AT_SYSINFO_EHDR absent), as under qemu-user. */
#define SKIP_WITHOUT_VDSO()                                                                   \
	do {                                                                                  \
		if (getauxval(AT_SYSINFO_EHDR) == 0) {                                        \
			tl_skip("no vDSO (AT_SYSINFO_EHDR absent, e.g. qemu-user)");          \
			return;                                                               \
		}                                                                             \
	} while (0)

#define RUN(name) tl_run(#name, test_##name)

#define FAIL(...)                                                                             \
	do {                                                                                  \
		tl_fail(__VA_ARGS__);                                                         \
		return;                                                                       \
	} while (0)

/* CHECK(condition): fails the case with the line and the condition's text. */
#define CHECK(condition)                                                                      \
	do {                                                                                  \
		if (!(condition))                                                             \
			FAIL("line %d: %s (errno %d %s)", __LINE__, #condition, errno,         \
			     strerror(errno));                                                \
	} while (0)

/* CHECK_MSG(condition, format, ...): fails with a custom reason. */
#define CHECK_MSG(condition, ...)                                                             \
	do {                                                                                  \
		if (!(condition)) {                                                           \
			char tl_reason[320];                                                  \
			snprintf(tl_reason, sizeof tl_reason, __VA_ARGS__);                   \
			FAIL("line %d: %s", __LINE__, tl_reason);                              \
		}                                                                             \
	} while (0)

/* CHECK_EQ(actual, expected): integers, both values printed on failure. */
#define CHECK_EQ(actual, expected)                                                            \
	do {                                                                                  \
		long long tl_actual = (long long)(actual);                                    \
		long long tl_expected = (long long)(expected);                                \
		if (tl_actual != tl_expected)                                                 \
			FAIL("line %d: %s == %lld, expected %s == %lld", __LINE__, #actual,    \
			     tl_actual, #expected, tl_expected);                              \
	} while (0)

/* CHECK_OK(call): the call returned something other than -1; its value is discarded. */
#define CHECK_OK(call)                                                                        \
	do {                                                                                  \
		errno = 0;                                                                    \
		if ((long)(call) == -1L)                                                      \
			FAIL("line %d: %s failed: errno %d %s", __LINE__, #call, errno,        \
			     strerror(errno));                                                \
	} while (0)

/* CHECK_ERRNO(call, error): the call returned -1 with errno == error. */
#define CHECK_ERRNO(call, error)                                                              \
	do {                                                                                  \
		errno = 0;                                                                    \
		long tl_result = (long)(call);                                                \
		int tl_errno = errno;                                                         \
		if (tl_result != -1L || tl_errno != (error))                                  \
			FAIL("line %d: %s returned %ld errno %d (%s), expected -1 errno %s",   \
			     __LINE__, #call, tl_result, tl_errno, strerror(tl_errno), #error);\
	} while (0)

/* CHECK_STR(actual, expected): NUL-terminated strings. */
#define CHECK_STR(actual, expected)                                                           \
	do {                                                                                  \
		const char *tl_actual = (actual);                                             \
		const char *tl_expected = (expected);                                         \
		if (!tl_actual || strcmp(tl_actual, tl_expected) != 0)                        \
			FAIL("line %d: %s is \"%s\", expected \"%s\"", __LINE__, #actual,      \
			     tl_actual ? tl_actual : "(null)", tl_expected);                  \
	} while (0)

#endif
