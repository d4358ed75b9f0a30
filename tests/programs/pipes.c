/* pipes.c: pipe2 flags, blocking and non-blocking transfer between processes, EOF, EPIPE and
 * SIGPIPE, atomic writes, ppoll and pselect6 readiness and timeouts, FIONREAD. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/syscall.h>

#include "testlib.h"

static long since_milliseconds(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void close_pair(int pair[2])
{
	close(pair[0]);
	close(pair[1]);
}

static void test_pipes_pipe2_flags(void)
{
	int pair[2];
	CHECK_OK(pipe2(pair, O_CLOEXEC));
	CHECK_EQ(fcntl(pair[0], F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(pair[1], F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(pair[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fcntl(pair[1], F_GETFL) & O_ACCMODE, O_WRONLY);
	char byte;
	CHECK_ERRNO(write(pair[0], "x", 1), EBADF);
	CHECK_ERRNO(read(pair[1], &byte, 1), EBADF);
	close_pair(pair);

	CHECK_OK(pipe2(pair, O_NONBLOCK));
	CHECK_EQ(fcntl(pair[0], F_GETFD), 0);
	CHECK(fcntl(pair[0], F_GETFL) & O_NONBLOCK);
	CHECK_ERRNO(read(pair[0], &byte, 1), EAGAIN);
	/* fill it: the capacity is at least one page, and then writes fail with EAGAIN */
	static char chunk[1024];
	memset(chunk, 'f', sizeof chunk);
	long total = 0;
	for (;;) {
		ssize_t written = write(pair[1], chunk, sizeof chunk);
		if (written < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
		total += written;
		CHECK_MSG(total <= 16 << 20, "pipe took %ld bytes without blocking", total);
	}
	CHECK_MSG(total >= 4096, "capacity %ld", total);
	CHECK_ERRNO(write(pair[1], "x", 1), EAGAIN);
	/* reading makes room */
	static char sink[8192];
	CHECK_EQ(read(pair[0], sink, sizeof sink), (long)sizeof sink);
	CHECK_EQ(write(pair[1], "x", 1), 1);
	close_pair(pair);

	CHECK_ERRNO(pipe2(pair, O_APPEND), EINVAL);
	CHECK_ERRNO(syscall(SYS_pipe2, (void *)16, 0), EFAULT);
}

static void test_pipes_ping_pong(void)
{
	int to_child[2], to_parent[2];
	CHECK_OK(pipe(to_child));
	CHECK_OK(pipe(to_parent));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		uint32_t value;
		while (read(to_child[0], &value, sizeof value) == sizeof value) {
			value = value * 3 + 1;
			if (write(to_parent[1], &value, sizeof value) != sizeof value)
				_exit(1);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	uint32_t value = 1;
	for (int round = 0; round < 1000; round++) {
		uint32_t sent = value + (uint32_t)round;
		CHECK_EQ(write(to_child[1], &sent, sizeof sent), (long)sizeof sent);
		CHECK_EQ(read(to_parent[0], &value, sizeof value), (long)sizeof value);
		CHECK_EQ(value, sent * 3 + 1);
	}
	close(to_child[1]); /* the child sees EOF and exits */
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	close(to_parent[0]);
}

static void test_pipes_eof_when_writers_close(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	int second_writer = dup(pair[1]);
	CHECK(second_writer >= 0);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(pair[0]);
		close(second_writer);
		ssize_t written = write(pair[1], "data", 4);
		_exit(written == 4 ? 0 : 1);
	}
	close(pair[1]);
	char buffer[16];
	CHECK_EQ(read(pair[0], buffer, sizeof buffer), 4);
	CHECK_EQ(waitpid(child, NULL, 0), child);
	/* one writer is left, so no EOF yet: the read would block */
	CHECK_OK(fcntl(pair[0], F_SETFL, O_NONBLOCK));
	CHECK_ERRNO(read(pair[0], buffer, sizeof buffer), EAGAIN);
	CHECK_EQ(write(second_writer, "tail", 4), 4);
	close(second_writer);
	/* the data still comes out before EOF */
	CHECK_EQ(read(pair[0], buffer, sizeof buffer), 4);
	CHECK(memcmp(buffer, "tail", 4) == 0);
	CHECK_EQ(read(pair[0], buffer, sizeof buffer), 0);
	CHECK_EQ(read(pair[0], buffer, sizeof buffer), 0);
	close(pair[0]);
}

static volatile int pipe_signals;

static void sigpipe_handler(int signal_number)
{
	(void)signal_number;
	pipe_signals++;
}

static void test_pipes_epipe_and_sigpipe(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	close(pair[0]);
	struct sigaction action = {.sa_handler = sigpipe_handler}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGPIPE, &action, &old));
	pipe_signals = 0;
	CHECK_ERRNO(write(pair[1], "x", 1), EPIPE);
	CHECK_EQ(pipe_signals, 1);
	action.sa_handler = SIG_IGN;
	CHECK_OK(sigaction(SIGPIPE, &action, NULL));
	CHECK_ERRNO(write(pair[1], "x", 1), EPIPE);
	CHECK_OK(sigaction(SIGPIPE, &old, NULL));
	/* with the default action the writer dies of SIGPIPE */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		signal(SIGPIPE, SIG_DFL);
		ssize_t result = write(pair[1], "x", 1);
		_exit(result < 0 ? 2 : 3);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, "status 0x%x", status);
	close(pair[1]);
}

static void test_pipes_large_transfer_across_fork(void)
{
	const long total = 1 << 20;
	int pair[2];
	CHECK_OK(pipe(pair));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(pair[0]);
		static unsigned char chunk[7919]; /* a prime, so chunks straddle pipe pages */
		long sent = 0;
		while (sent < total) {
			long length = total - sent < (long)sizeof chunk ? total - sent : (long)sizeof chunk;
			for (long index = 0; index < length; index++)
				chunk[index] = (unsigned char)((sent + index) * 31 + ((sent + index) >> 11));
			long offset = 0;
			while (offset < length) {
				ssize_t written = write(pair[1], chunk + offset, (size_t)(length - offset));
				if (written <= 0)
					_exit(1);
				offset += written;
			}
			sent += length;
		}
		_exit(0);
	}
	close(pair[1]);
	static unsigned char buffer[65536];
	long received = 0;
	for (;;) {
		ssize_t count = read(pair[0], buffer, sizeof buffer);
		CHECK_MSG(count >= 0, "read failed: %s", strerror(errno));
		if (count == 0)
			break;
		for (long index = 0; index < count; index++) {
			long position = received + index;
			unsigned char expected = (unsigned char)(position * 31 + (position >> 11));
			CHECK_MSG(buffer[index] == expected, "byte %ld is %u, expected %u", position,
				  buffer[index], expected);
		}
		received += count;
	}
	close(pair[0]);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(received, total);
}

static void test_pipes_atomic_small_writes(void)
{
	/* writes of at most PIPE_BUF bytes from several writers never interleave */
	enum { WRITERS = 4, RECORDS = 64, RECORD = 512 };
	int pair[2];
	CHECK_OK(pipe(pair));
	pid_t children[WRITERS];
	for (int writer = 0; writer < WRITERS; writer++) {
		children[writer] = fork();
		CHECK(children[writer] >= 0);
		if (children[writer] == 0) {
			close(pair[0]);
			char record[RECORD];
			memset(record, 'A' + writer, sizeof record);
			for (int index = 0; index < RECORDS; index++)
				if (write(pair[1], record, sizeof record) != RECORD)
					_exit(1);
			_exit(0);
		}
	}
	close(pair[1]);
	int counts[WRITERS] = {0};
	char record[RECORD];
	for (int index = 0; index < WRITERS * RECORDS; index++) {
		size_t have = 0;
		while (have < sizeof record) {
			ssize_t count = read(pair[0], record + have, sizeof record - have);
			CHECK_MSG(count > 0, "short stream after %d records", index);
			have += (size_t)count;
		}
		int writer = record[0] - 'A';
		CHECK_MSG(writer >= 0 && writer < WRITERS, "record starts with %d", record[0]);
		for (int offset = 1; offset < RECORD; offset++)
			CHECK_MSG(record[offset] == record[0], "record %d interleaved at byte %d", index,
				  offset);
		counts[writer]++;
	}
	char extra;
	CHECK_EQ(read(pair[0], &extra, 1), 0);
	close(pair[0]);
	for (int writer = 0; writer < WRITERS; writer++) {
		waitpid(children[writer], NULL, 0);
		CHECK_EQ(counts[writer], RECORDS);
	}
	CHECK_EQ(PIPE_BUF, 4096);
}

static void test_pipes_ppoll_readiness_and_timeout(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	struct pollfd entries[2] = {{.fd = pair[0], .events = POLLIN},
				    {.fd = pair[1], .events = POLLOUT}};
	/* nothing to read: only the write end is ready */
	CHECK_EQ(ppoll(entries, 2, &(struct timespec){0, 0}, NULL), 1);
	CHECK_EQ(entries[0].revents, 0);
	CHECK_EQ(entries[1].revents, POLLOUT);
	/* waiting on the read end alone times out */
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK_EQ(ppoll(entries, 1, &(struct timespec){0, 50 * 1000 * 1000}, NULL), 0);
	long waited = since_milliseconds(&start);
	CHECK_MSG(waited >= 50 && waited < 2000, "waited %ld ms for 50", waited);
	/* data arriving from another process wakes it */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		usleep(30000);
		_exit(write(pair[1], "abc", 3) == 3 ? 0 : 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK_EQ(ppoll(entries, 1, &(struct timespec){5, 0}, NULL), 1);
	CHECK_EQ(entries[0].revents, POLLIN);
	CHECK_MSG(since_milliseconds(&start) < 4000, "woke after %ld ms",
		  since_milliseconds(&start));
	waitpid(child, NULL, 0);
	/* writer closed with data left: POLLIN|POLLHUP; reader closed: POLLERR on the writer */
	int writer = pair[1];
	close(pair[0]);
	int other[2];
	CHECK_OK(pipe(other));
	CHECK_EQ(write(other[1], "z", 1), 1);
	close(other[1]);
	struct pollfd hangup = {.fd = other[0], .events = POLLIN};
	CHECK_EQ(poll(&hangup, 1, 0), 1);
	CHECK_EQ(hangup.revents, POLLIN | POLLHUP);
	struct pollfd error = {.fd = writer, .events = POLLOUT};
	CHECK_EQ(poll(&error, 1, 0), 1);
	CHECK(error.revents & POLLERR);
	/* a closed descriptor is POLLNVAL, a negative one is skipped */
	struct pollfd invalid[2] = {{.fd = 999, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
	CHECK_EQ(poll(invalid, 2, 0), 1);
	CHECK_EQ(invalid[0].revents, POLLNVAL);
	CHECK_EQ(invalid[1].revents, 0);
	close(other[0]);
	close(writer);
}

static volatile int interrupted;

static void note_signal(int signal_number)
{
	(void)signal_number;
	interrupted++;
}

static void test_pipes_ppoll_signal_mask(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	struct sigaction action = {.sa_handler = note_signal}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &action, &old));
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &previous);
	interrupted = 0;
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		usleep(30000);
		_exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 1);
	}
	sigset_t during = previous;
	sigdelset(&during, SIGUSR1);
	struct pollfd entry = {.fd = pair[0], .events = POLLIN};
	errno = 0;
	int result = ppoll(&entry, 1, &(struct timespec){5, 0}, &during);
	int saved = errno;
	sigprocmask(SIG_SETMASK, &previous, NULL);
	sigaction(SIGUSR1, &old, NULL);
	waitpid(child, NULL, 0);
	close_pair(pair);
	CHECK_EQ(result, -1);
	CHECK_EQ(saved, EINTR);
	CHECK_EQ(interrupted, 1);
}

/* A ppoll waiting with a temporary mask is stopped and continued (Linux restarts it,
 * the old mask back in place first) and then finds its descriptor ready: the thread's
 * mask afterwards is the one it had before the call. */
static void test_pipes_ppoll_mask_after_stop_and_continue(void)
{
	int pair[2], started[2];
	CHECK_OK(pipe(pair));
	CHECK_OK(pipe(started));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		sigset_t before, during, after;
		sigemptyset(&before);
		sigaddset(&before, SIGUSR2);
		sigprocmask(SIG_SETMASK, &before, NULL);
		sigemptyset(&during);
		sigaddset(&during, SIGUSR1);
		struct pollfd entry = {.fd = pair[0], .events = POLLIN};
		if (write(started[1], "s", 1) != 1)
			_exit(10);
		int result = ppoll(&entry, 1, NULL, &during);
		sigprocmask(SIG_SETMASK, NULL, &after);
		if (result != 1)
			_exit(11);
		if (!sigismember(&after, SIGUSR2) || sigismember(&after, SIGUSR1))
			_exit(12);
		_exit(0);
	}
	char byte = 0;
	CHECK_EQ(read(started[0], &byte, 1), 1);
	usleep(20000); /* the child waits in ppoll by now */
	CHECK_OK(kill(child, SIGSTOP));
	int status = 0;
	CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
	CHECK(WIFSTOPPED(status));
	CHECK_EQ(write(pair[1], "x", 1), 1);
	CHECK_OK(kill(child, SIGCONT));
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (11: ppoll result, 12: mask not restored)", status);
	close_pair(pair);
	close_pair(started);
}

static long timespec_milliseconds(const struct timespec *time)
{
	return time->tv_sec * 1000 + time->tv_nsec / 1000000;
}

/* ppoll and pselect6 store the time they had left in their timeout when they return
 * (Linux's poll_select_finish; libc passes a copy, so the raw calls show it): 0 after a
 * timeout, the rest after an answer or a signal. A handler ends them with EINTR even
 * with SA_RESTART (-ERESTARTNOHAND). */
static void test_pipes_poll_timeouts_store_time_left(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	struct pollfd entry = {.fd = pair[0], .events = POLLIN};
	struct timespec timeout = {0, 30 * 1000 * 1000};
	CHECK_EQ(syscall(SYS_ppoll, &entry, 1, &timeout, NULL, 8), 0);
	CHECK_MSG(timeout.tv_sec == 0 && timeout.tv_nsec == 0, "left after a timeout: %ld.%09ld",
		  (long)timeout.tv_sec, timeout.tv_nsec);
	struct sigaction action = {.sa_handler = note_signal, .sa_flags = SA_RESTART}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &action, &old));
	for (int round = 0; round < 3; round++) {
		/* 0: answered by a write; 1: ppoll interrupted; 2: pselect6 interrupted */
		pid_t parent = getpid();
		pid_t child = fork();
		CHECK(child >= 0);
		if (child == 0) {
			usleep(150000);
			if (round == 0)
				_exit(write(pair[1], "x", 1) == 1 ? 0 : 1);
			_exit(kill(parent, SIGUSR1) == 0 ? 0 : 1);
		}
		interrupted = 0;
		timeout = (struct timespec){2, 0};
		errno = 0;
		long result;
		if (round < 2) {
			result = syscall(SYS_ppoll, &entry, 1, &timeout, NULL, 8);
		} else {
			fd_set read_set;
			FD_ZERO(&read_set);
			FD_SET(pair[0], &read_set);
			result = syscall(SYS_pselect6, pair[0] + 1, &read_set, NULL, NULL, &timeout,
					 NULL);
		}
		int saved = errno;
		int status;
		CHECK_EQ(waitpid(child, &status, 0), child);
		if (round == 0) {
			CHECK_EQ(result, 1);
			char byte;
			CHECK_EQ(read(pair[0], &byte, 1), 1);
		} else {
			CHECK_EQ(result, -1);
			CHECK_EQ(saved, EINTR);
			CHECK_EQ(interrupted, 1);
		}
		long left = timespec_milliseconds(&timeout);
		CHECK_MSG(left > 0 && left <= 1900, "round %d: %ld ms left of 2000 after >= 150",
			  round, left);
	}
	sigaction(SIGUSR1, &old, NULL);
	close_pair(pair);
}

/* A ppoll stopped (SIGSTOP) and continued is restarted (-ERESTARTNOHAND, no handler)
 * with the time it had left stored in its timeout, not the whole timeout again. */
static void test_pipes_ppoll_restart_after_stop_waits_for_rest(void)
{
	int pair[2], started[2];
	CHECK_OK(pipe(pair));
	CHECK_OK(pipe(started));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		struct pollfd entry = {.fd = pair[0], .events = POLLIN};
		struct timespec timeout = {3, 0}, start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		if (write(started[1], "s", 1) != 1)
			_exit(10);
		long result = syscall(SYS_ppoll, &entry, 1, &timeout, NULL, 8);
		long elapsed = since_milliseconds(&start);
		if (result != 0)
			_exit(11);
		if (timeout.tv_sec != 0 || timeout.tv_nsec != 0)
			_exit(12);
		if (elapsed < 2950)
			_exit(13);
		/* 2 s waited, 0.3 s stopped, then the 1 s left: the whole 3 s again would
		 * end past 5 s */
		if (elapsed > 4300)
			_exit(14);
		_exit(0);
	}
	char byte = 0;
	CHECK_EQ(read(started[0], &byte, 1), 1);
	usleep(2000000);
	CHECK_OK(kill(child, SIGSTOP));
	int status = 0;
	CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
	CHECK(WIFSTOPPED(status));
	usleep(300000);
	CHECK_OK(kill(child, SIGCONT));
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (11: not restarted, 12: time left not 0, 13: too short, 14: "
		  "waited the whole timeout again)",
		  status);
	close_pair(pair);
	close_pair(started);
}

/* A stop signal already pending (blocked, then let through by the call's mask) when
 * ppoll or pselect6 starts stops the process; after SIGCONT the call is restarted
 * (Linux's -ERESTARTNOHAND with no handler), not ended with EINTR. */
static void test_pipes_poll_pending_stop_restarts(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* a group of its own whose parent is in another group of the session: not
		 * orphaned, so SIGTSTP stops it (an orphaned group would discard it) */
		if (setpgid(0, 0) != 0)
			_exit(10);
		sigset_t stop, none;
		sigemptyset(&stop);
		sigaddset(&stop, SIGTSTP);
		sigemptyset(&none);
		sigprocmask(SIG_BLOCK, &stop, NULL);
		struct pollfd entry = {.fd = pair[0], .events = POLLIN};
		raise(SIGTSTP);
		struct timespec timeout = {0, 200 * 1000 * 1000};
		if (syscall(SYS_ppoll, &entry, 1, &timeout, &none, 8) != 0)
			_exit(11);
		raise(SIGTSTP);
		fd_set read_set;
		FD_ZERO(&read_set);
		FD_SET(pair[0], &read_set);
		timeout = (struct timespec){0, 200 * 1000 * 1000};
		struct {
			const sigset_t *set;
			size_t size;
		} mask = {&none, 8};
		if (syscall(SYS_pselect6, pair[0] + 1, &read_set, NULL, NULL, &timeout, &mask) != 0)
			_exit(12);
		sigset_t after;
		sigprocmask(SIG_SETMASK, NULL, &after);
		_exit(sigismember(&after, SIGTSTP) ? 0 : 13);
	}
	int status = 0;
	for (int call = 0; call < 2; call++) {
		CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
		CHECK_MSG(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTSTP,
			  "call %d: child status %#x, expected stopped by SIGTSTP", call, status);
		CHECK_OK(kill(child, SIGCONT));
	}
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (10: setpgid; 11: ppoll, 12: pselect6 not restarted; 13: mask "
		  "not restored)",
		  status);
	close_pair(pair);
}

static void test_pipes_pselect6_readiness_and_timeout(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	fd_set read_set, write_set;
	FD_ZERO(&read_set);
	FD_ZERO(&write_set);
	FD_SET(pair[0], &read_set);
	FD_SET(pair[1], &write_set);
	int highest = pair[0] > pair[1] ? pair[0] : pair[1];
	CHECK_EQ(pselect(highest + 1, &read_set, &write_set, NULL, &(struct timespec){0, 0}, NULL),
		 1);
	CHECK(!FD_ISSET(pair[0], &read_set));
	CHECK(FD_ISSET(pair[1], &write_set));
	FD_ZERO(&read_set);
	FD_SET(pair[0], &read_set);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK_EQ(pselect(pair[0] + 1, &read_set, NULL, NULL, &(struct timespec){0, 40000000}, NULL),
		 0);
	long waited = since_milliseconds(&start);
	CHECK_MSG(waited >= 40 && waited < 2000, "waited %ld ms for 40", waited);
	CHECK(!FD_ISSET(pair[0], &read_set));
	CHECK_EQ(write(pair[1], "q", 1), 1);
	FD_SET(pair[0], &read_set);
	CHECK_EQ(pselect(pair[0] + 1, &read_set, NULL, NULL, &(struct timespec){1, 0}, NULL), 1);
	CHECK(FD_ISSET(pair[0], &read_set));
	/* select() takes a timeval and goes through pselect6 on aarch64 */
	struct timeval tv = {0, 0};
	FD_SET(pair[0], &read_set);
	CHECK_EQ(select(pair[0] + 1, &read_set, NULL, NULL, &tv), 1);
	/* a closed descriptor (within the table: Linux ignores bits beyond it) is EBADF */
	int closed = dup(pair[0]);
	CHECK(closed >= 0);
	close(closed);
	FD_ZERO(&read_set);
	FD_SET(closed, &read_set);
	CHECK_ERRNO(pselect(closed + 1, &read_set, NULL, NULL, &(struct timespec){0, 0}, NULL),
		    EBADF);
	CHECK_ERRNO(pselect(-1, NULL, NULL, NULL, &(struct timespec){0, 0}, NULL), EINVAL);
	close_pair(pair);
}

static void test_pipes_fionread(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	int available = -1;
	CHECK_OK(ioctl(pair[0], FIONREAD, &available));
	CHECK_EQ(available, 0);
	static char data[123];
	memset(data, 'n', sizeof data);
	CHECK_EQ(write(pair[1], data, sizeof data), 123);
	CHECK_OK(ioctl(pair[0], FIONREAD, &available));
	CHECK_EQ(available, 123);
	char buffer[23];
	CHECK_EQ(read(pair[0], buffer, sizeof buffer), 23);
	CHECK_OK(ioctl(pair[0], FIONREAD, &available));
	CHECK_EQ(available, 100);
	close_pair(pair);
}

static void test_pipes_read_returns_available(void)
{
	int pair[2];
	CHECK_OK(pipe(pair));
	CHECK_EQ(write(pair[1], "12345", 5), 5);
	CHECK_EQ(write(pair[1], "678", 3), 3);
	char buffer[64] = {0};
	/* a read takes what is there rather than waiting to fill the buffer */
	CHECK_EQ(read(pair[0], buffer, sizeof buffer), 8);
	CHECK_STR(buffer, "12345678");
	CHECK_EQ(read(pair[0], buffer, 0), 0);
	close_pair(pair);
}

int main(void)
{
	RUN(pipes_pipe2_flags);
	RUN(pipes_ping_pong);
	RUN(pipes_eof_when_writers_close);
	RUN(pipes_epipe_and_sigpipe);
	RUN(pipes_large_transfer_across_fork);
	RUN(pipes_atomic_small_writes);
	RUN(pipes_ppoll_readiness_and_timeout);
	RUN(pipes_ppoll_signal_mask);
	RUN(pipes_ppoll_mask_after_stop_and_continue);
	RUN(pipes_poll_timeouts_store_time_left);
	RUN(pipes_ppoll_restart_after_stop_waits_for_rest);
	RUN(pipes_poll_pending_stop_restarts);
	RUN(pipes_pselect6_readiness_and_timeout);
	RUN(pipes_fionread);
	RUN(pipes_read_returns_available);
	return tl_finish();
}
