/* threads.c: pthreads over clone (create, join through CLONE_CHILD_CLEARTID, TLS), mutexes
 * and condition variables, raw futex operations with their error cases, robust lists,
 * per-thread signals and exit_group from a thread. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "testlib.h"

#define FUTEX_WAIT_OP 0
#define FUTEX_WAKE_OP 1
#define FUTEX_REQUEUE_OP 3
#define FUTEX_CMP_REQUEUE_OP 4
#define FUTEX_WAIT_BITSET_OP 9
#define FUTEX_WAKE_BITSET_OP 10
#define FUTEX_PRIVATE 128
#define FUTEX_CLOCK_REALTIME_FLAG 256

static long futex(volatile int *address, int operation, int value, const struct timespec *timeout,
		  volatile int *second, int value3)
{
	return syscall(SYS_futex, address, operation, value, timeout, second, value3);
}

static long gettid_raw(void)
{
	return syscall(SYS_gettid);
}

static int64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* ---- create and join ---- */

struct identity {
	long tid;
	pid_t pid;
	long value;
};

static void *identify(void *argument)
{
	struct identity *identity = argument;
	identity->tid = gettid_raw();
	identity->pid = getpid();
	return (void *)(identity->value * 2);
}

static void test_threads_create_join(void)
{
	enum { COUNT = 8 };
	pthread_t threads[COUNT];
	struct identity identities[COUNT];
	for (int index = 0; index < COUNT; index++) {
		identities[index] = (struct identity){.value = index + 100};
		CHECK_EQ(pthread_create(&threads[index], NULL, identify, &identities[index]), 0);
	}
	for (int index = 0; index < COUNT; index++) {
		void *result = NULL;
		CHECK_EQ(pthread_join(threads[index], &result), 0);
		CHECK_EQ((long)result, (index + 100) * 2);
		CHECK_EQ(identities[index].pid, getpid());
		CHECK(identities[index].tid != getpid() && identities[index].tid > 0);
		for (int other = 0; other < index; other++)
			CHECK(identities[other].tid != identities[index].tid);
	}
	CHECK_EQ(gettid_raw(), getpid());
}

static volatile int release_thread;

static void *wait_for_release(void *argument)
{
	(void)argument;
	while (!release_thread)
		usleep(1000);
	return (void *)0x1234;
}

static void *finish_at_once(void *argument)
{
	return argument;
}

static void test_threads_join_waits_for_clear_tid(void)
{
	/* join blocks on the tid word until the kernel clears it at thread exit
	 * (CLONE_CHILD_CLEARTID + futex wake); both orders must work */
	release_thread = 0;
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, wait_for_release, NULL), 0);
	pthread_t releaser;
	int64_t start = monotonic_ns();
	struct timespec delay = {0, 50 * 1000 * 1000};
	CHECK_EQ(pthread_create(&releaser, NULL, finish_at_once, NULL), 0);
	nanosleep(&delay, NULL);
	release_thread = 1;
	void *result = NULL;
	CHECK_EQ(pthread_join(thread, &result), 0);
	CHECK(result == (void *)0x1234);
	CHECK(monotonic_ns() - start >= 50000000);
	/* a thread that has long finished */
	CHECK_EQ(pthread_join(releaser, &result), 0);
	CHECK(result == NULL);
	for (int round = 0; round < 50; round++) {
		CHECK_EQ(pthread_create(&thread, NULL, finish_at_once, (void *)(long)round), 0);
		CHECK_EQ(pthread_join(thread, &result), 0);
		CHECK_EQ((long)result, round);
	}
	/* set_tid_address returns the caller's tid */
	CHECK_EQ(syscall(SYS_set_tid_address, NULL), getpid());
}

/* ---- mutex and condition variable ---- */

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *increment_many(void *argument)
{
	long times = (long)argument;
	for (long index = 0; index < times; index++) {
		pthread_mutex_lock(&counter_lock);
		long value = counter;
		if ((index & 63) == 0)
			sched_yield(); /* hold the lock across a yield to force contention */
		counter = value + 1;
		pthread_mutex_unlock(&counter_lock);
	}
	return NULL;
}

static void test_threads_mutex_contention(void)
{
	enum { THREADS = 4, TIMES = 50000 };
	counter = 0;
	pthread_t threads[THREADS];
	for (int index = 0; index < THREADS; index++)
		CHECK_EQ(pthread_create(&threads[index], NULL, increment_many, (void *)(long)TIMES), 0);
	for (int index = 0; index < THREADS; index++)
		CHECK_EQ(pthread_join(threads[index], NULL), 0);
	CHECK_EQ(counter, THREADS * TIMES);
	CHECK_EQ(pthread_mutex_trylock(&counter_lock), 0);
	CHECK_EQ(pthread_mutex_trylock(&counter_lock), EBUSY);
	pthread_mutex_unlock(&counter_lock);
}

enum { QUEUE_SIZE = 8, ITEMS = 2000 };
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t queue_not_full = PTHREAD_COND_INITIALIZER;
static int queue[QUEUE_SIZE], queue_head, queue_count;

static void *produce(void *argument)
{
	(void)argument;
	for (int item = 1; item <= ITEMS; item++) {
		pthread_mutex_lock(&queue_lock);
		while (queue_count == QUEUE_SIZE)
			pthread_cond_wait(&queue_not_full, &queue_lock);
		queue[(queue_head + queue_count) % QUEUE_SIZE] = item;
		queue_count++;
		pthread_cond_signal(&queue_not_empty);
		pthread_mutex_unlock(&queue_lock);
	}
	return NULL;
}

static void test_threads_condition_variable(void)
{
	queue_head = queue_count = 0;
	pthread_t producer;
	CHECK_EQ(pthread_create(&producer, NULL, produce, NULL), 0);
	long sum = 0;
	int expected = 1;
	for (int received = 0; received < ITEMS; received++) {
		pthread_mutex_lock(&queue_lock);
		while (queue_count == 0)
			pthread_cond_wait(&queue_not_empty, &queue_lock);
		int item = queue[queue_head];
		queue_head = (queue_head + 1) % QUEUE_SIZE;
		queue_count--;
		pthread_cond_signal(&queue_not_full);
		pthread_mutex_unlock(&queue_lock);
		CHECK_EQ(item, expected); /* in order, none lost */
		expected++;
		sum += item;
	}
	CHECK_EQ(pthread_join(producer, NULL), 0);
	CHECK_EQ(sum, (long)ITEMS * (ITEMS + 1) / 2);
	/* a timed wait with nobody signalling times out */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += 30 * 1000 * 1000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&queue_lock);
	int result = pthread_cond_timedwait(&queue_not_empty, &queue_lock, &deadline);
	pthread_mutex_unlock(&queue_lock);
	CHECK_EQ(result, ETIMEDOUT);
}

/* ---- raw futex ---- */

static volatile int futex_word, futex_second, waiters_ready;
static volatile long futex_results[4];

static void *futex_waiter(void *argument)
{
	long index = (long)argument;
	__atomic_add_fetch(&waiters_ready, 1, __ATOMIC_SEQ_CST);
	futex_results[index] = futex(&futex_word, FUTEX_WAIT_OP, 0, NULL, NULL, 0) == 0 ? 0 : -errno;
	return NULL;
}

static void wait_until_ready(int count)
{
	while (__atomic_load_n(&waiters_ready, __ATOMIC_SEQ_CST) < count)
		usleep(1000);
	usleep(100000); /* let them reach FUTEX_WAIT */
}

static void test_threads_futex_wait_wake(void)
{
	futex_word = 0;
	waiters_ready = 0;
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, futex_waiter, (void *)0), 0);
	wait_until_ready(1);
	futex_word = 1;
	CHECK_EQ(futex(&futex_word, FUTEX_WAKE_OP, 1, NULL, NULL, 0), 1);
	CHECK_EQ(pthread_join(thread, NULL), 0);
	CHECK_EQ(futex_results[0], 0);
	/* nobody waiting: wakes nobody */
	CHECK_EQ(futex(&futex_word, FUTEX_WAKE_OP, 1, NULL, NULL, 0), 0);
	/* value mismatch */
	futex_word = 5;
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_OP, 4, NULL, NULL, 0), EAGAIN);
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_OP | FUTEX_PRIVATE, 4, NULL, NULL, 0), EAGAIN);
	/* relative timeout */
	struct timespec timeout = {0, 30 * 1000 * 1000};
	int64_t start = monotonic_ns();
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_OP | FUTEX_PRIVATE, 5, &timeout, NULL, 0),
		    ETIMEDOUT);
	int64_t waited = monotonic_ns() - start;
	CHECK_MSG(waited >= 30000000 && waited < 2000000000LL, "waited %lld ns for 30 ms",
		  (long long)waited);
	/* bad arguments */
	struct timespec bad = {0, 1000000000};
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_OP, 5, &bad, NULL, 0), EINVAL);
	CHECK_ERRNO(futex((volatile int *)((char *)&futex_word + 1), FUTEX_WAIT_OP, 5, NULL, NULL, 0),
		    EINVAL);
	CHECK_ERRNO(futex((volatile int *)16, FUTEX_WAIT_OP, 5, NULL, NULL, 0), EFAULT);
	CHECK_ERRNO(futex(&futex_word, 99, 0, NULL, NULL, 0), ENOSYS);
}

static void run_requeue(int operation)
{
	futex_word = 0;
	futex_second = 0;
	waiters_ready = 0;
	pthread_t threads[3];
	for (long index = 0; index < 3; index++) {
		futex_results[index] = 1;
		CHECK_EQ(pthread_create(&threads[index], NULL, futex_waiter, (void *)index), 0);
	}
	wait_until_ready(3);
	if (operation == FUTEX_CMP_REQUEUE_OP) {
		/* the compare value is wrong: nothing happens */
		CHECK_ERRNO(futex(&futex_word, FUTEX_CMP_REQUEUE_OP, 1, (struct timespec *)INT_MAX,
				  &futex_second, 7),
			    EAGAIN);
	}
	/* wake one, move the rest to the second word; returns woken + moved */
	CHECK_EQ(futex(&futex_word, operation, 1, (struct timespec *)INT_MAX, &futex_second, 0), 3);
	usleep(50000);
	int finished = 0;
	for (int index = 0; index < 3; index++)
		finished += futex_results[index] == 0;
	CHECK_EQ(finished, 1);
	CHECK_EQ(futex(&futex_word, FUTEX_WAKE_OP, INT_MAX, NULL, NULL, 0), 0);
	CHECK_EQ(futex(&futex_second, FUTEX_WAKE_OP, INT_MAX, NULL, NULL, 0), 2);
	for (int index = 0; index < 3; index++) {
		CHECK_EQ(pthread_join(threads[index], NULL), 0);
		CHECK_EQ(futex_results[index], 0);
	}
}

static void test_threads_futex_requeue(void)
{
	run_requeue(FUTEX_REQUEUE_OP);
}

static void test_threads_futex_cmp_requeue(void)
{
	run_requeue(FUTEX_CMP_REQUEUE_OP);
}

static void *bitset_waiter(void *argument)
{
	(void)argument;
	__atomic_add_fetch(&waiters_ready, 1, __ATOMIC_SEQ_CST);
	futex_results[0] =
		futex(&futex_word, FUTEX_WAIT_BITSET_OP, 0, NULL, NULL, 0x2) == 0 ? 0 : -errno;
	return NULL;
}

static void test_threads_futex_wait_bitset(void)
{
	/* an absolute CLOCK_MONOTONIC deadline */
	futex_word = 0;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 40 * 1000 * 1000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_BITSET_OP, 0, &deadline, NULL, -1), ETIMEDOUT);
	int64_t late = monotonic_ns() - ((int64_t)deadline.tv_sec * 1000000000 + deadline.tv_nsec);
	CHECK_MSG(late >= 0 && late < 2000000000LL, "woke %lld ns after the deadline", (long long)late);
	/* an absolute CLOCK_REALTIME deadline */
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	wall.tv_nsec += 20 * 1000 * 1000;
	if (wall.tv_nsec >= 1000000000) {
		wall.tv_sec++;
		wall.tv_nsec -= 1000000000;
	}
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_BITSET_OP | FUTEX_CLOCK_REALTIME_FLAG, 0, &wall,
			  NULL, -1),
		    ETIMEDOUT);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	CHECK(now.tv_sec > wall.tv_sec || (now.tv_sec == wall.tv_sec && now.tv_nsec >= wall.tv_nsec));
	CHECK_ERRNO(futex(&futex_word, FUTEX_WAIT_BITSET_OP, 0, NULL, NULL, 0), EINVAL);
	/* a wake with a disjoint bitset passes the waiter by */
	waiters_ready = 0;
	futex_results[0] = 1;
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, bitset_waiter, NULL), 0);
	wait_until_ready(1);
	CHECK_EQ(futex(&futex_word, FUTEX_WAKE_BITSET_OP, 1, NULL, NULL, 0x1), 0);
	CHECK_EQ(futex_results[0], 1);
	CHECK_EQ(futex(&futex_word, FUTEX_WAKE_BITSET_OP, 1, NULL, NULL, 0x6), 1);
	CHECK_EQ(pthread_join(thread, NULL), 0);
	CHECK_EQ(futex_results[0], 0);
}

/* ---- TLS ---- */

static __thread long tls_initialized = 42;
static __thread long tls_zeroed;
static __thread char tls_buffer[100] = "initial";

struct tls_report {
	long initial, initial_zero;
	char initial_text[16];
	void *address;
	long after;
};

static void *tls_worker(void *argument)
{
	struct tls_report *report = argument;
	report->initial = tls_initialized;
	report->initial_zero = tls_zeroed;
	snprintf(report->initial_text, sizeof report->initial_text, "%s", tls_buffer);
	report->address = (void *)&tls_initialized;
	tls_initialized = (long)(uintptr_t)report;
	tls_zeroed = 7;
	usleep(20000); /* overlap with the other threads */
	report->after = tls_initialized == (long)(uintptr_t)report && tls_zeroed == 7;
	return NULL;
}

static void test_threads_tls_distinct(void)
{
	tls_initialized = -1;
	tls_zeroed = -1;
	strcpy(tls_buffer, "changed by main");
	enum { COUNT = 4 };
	pthread_t threads[COUNT];
	struct tls_report reports[COUNT];
	for (int index = 0; index < COUNT; index++)
		CHECK_EQ(pthread_create(&threads[index], NULL, tls_worker, &reports[index]), 0);
	for (int index = 0; index < COUNT; index++)
		CHECK_EQ(pthread_join(threads[index], NULL), 0);
	for (int index = 0; index < COUNT; index++) {
		/* each thread starts from the PT_TLS image, not from main's values */
		CHECK_EQ(reports[index].initial, 42);
		CHECK_EQ(reports[index].initial_zero, 0);
		CHECK_STR(reports[index].initial_text, "initial");
		CHECK_EQ(reports[index].after, 1);
		CHECK(reports[index].address != (void *)&tls_initialized);
		for (int other = 0; other < index; other++)
			CHECK(reports[other].address != reports[index].address);
	}
	CHECK_EQ(tls_initialized, -1);
	CHECK_EQ(tls_zeroed, -1);
	/* tpidr_el0 points at this thread's TLS block, which musl reaches by a fixed offset */
	uintptr_t thread_pointer;
	__asm__("mrs %0, tpidr_el0" : "=r"(thread_pointer));
	CHECK(thread_pointer != 0);
	CHECK((uintptr_t)&tls_initialized - thread_pointer < 4096);
}

/* ---- robust list ---- */

struct robust_list_head_raw {
	void *next;
	long futex_offset;
	void *pending;
};

static pthread_mutex_t robust_mutex;

static void *lock_and_die(void *argument)
{
	(void)argument;
	pthread_mutex_lock(&robust_mutex);
	return NULL; /* exits holding the lock */
}

static void test_threads_set_robust_list(void)
{
	struct robust_list_head_raw head = {.next = &head, .futex_offset = 0, .pending = NULL};
	/* the raw calls; the previous registration is put back afterwards */
	errno = 0;
	long probe = syscall(SYS_set_robust_list, &head, sizeof head - 1);
	if (probe == -1 && errno == ENOSYS && getauxval(AT_SYSINFO_EHDR) == 0) {
		tl_skip("set_robust_list is ENOSYS: qemu-user does not implement robust lists");
		return;
	}
	CHECK_MSG(probe == -1 && errno == EINVAL, "bad length: %ld errno %d", probe, errno);
	void *saved = NULL;
	size_t saved_length = 0;
	CHECK_EQ(syscall(SYS_get_robust_list, 0, &saved, &saved_length), 0);
	CHECK_EQ(syscall(SYS_set_robust_list, &head, sizeof head), 0);
	void *current = NULL;
	size_t length = 0;
	CHECK_EQ(syscall(SYS_get_robust_list, 0, &current, &length), 0);
	CHECK(current == &head);
	CHECK_EQ(length, sizeof head);
	CHECK_EQ(syscall(SYS_set_robust_list, saved, saved_length ? saved_length : sizeof head), 0);
	CHECK_ERRNO(syscall(SYS_get_robust_list, 999999, &current, &length), ESRCH);
	/* the kernel walks the list when a thread dies holding a robust mutex */
	pthread_mutexattr_t attributes;
	pthread_mutexattr_init(&attributes);
	CHECK_EQ(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST), 0);
	CHECK_EQ(pthread_mutex_init(&robust_mutex, &attributes), 0);
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, lock_and_die, NULL), 0);
	CHECK_EQ(pthread_join(thread, NULL), 0);
	CHECK_EQ(pthread_mutex_lock(&robust_mutex), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&robust_mutex), 0);
	CHECK_EQ(pthread_mutex_unlock(&robust_mutex), 0);
	CHECK_EQ(pthread_mutex_lock(&robust_mutex), 0);
	pthread_mutex_unlock(&robust_mutex);
	/* a process that dies holding a shared robust mutex: only the kernel can release it */
	pthread_mutex_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	CHECK_EQ(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED), 0);
	CHECK_EQ(pthread_mutex_init(shared, &attributes), 0);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(pthread_mutex_lock(shared) == 0 ? 0 : 1); /* _exit: no userspace cleanup */
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(pthread_mutex_lock(shared), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(shared), 0);
	CHECK_EQ(pthread_mutex_unlock(shared), 0);
	munmap(shared, sizeof *shared);
}

/* ---- signals and exit ---- */

static volatile long signalled_tid;

static void note_tid(int signal_number)
{
	(void)signal_number;
	signalled_tid = gettid_raw();
}

static volatile long worker_tid;
static volatile int worker_stop;

static void *signal_target(void *argument)
{
	(void)argument;
	worker_tid = gettid_raw();
	while (!worker_stop)
		usleep(1000);
	return NULL;
}

static void test_threads_signal_to_thread(void)
{
	struct sigaction action = {.sa_handler = note_tid}, old;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &action, &old));
	worker_tid = 0;
	worker_stop = 0;
	signalled_tid = 0;
	pthread_t thread;
	CHECK_EQ(pthread_create(&thread, NULL, signal_target, NULL), 0);
	while (!worker_tid)
		usleep(1000);
	CHECK_EQ(pthread_kill(thread, SIGUSR1), 0);
	for (int spins = 0; spins < 2000 && !signalled_tid; spins++)
		usleep(1000);
	CHECK_EQ(signalled_tid, worker_tid);
	signalled_tid = 0;
	CHECK_EQ(syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1), 0);
	for (int spins = 0; spins < 2000 && !signalled_tid; spins++)
		usleep(1000);
	CHECK_EQ(signalled_tid, worker_tid);
	CHECK_ERRNO(syscall(SYS_tgkill, getpid() + 100000, worker_tid, SIGUSR1), ESRCH);
	worker_stop = 1;
	CHECK_EQ(pthread_join(thread, NULL), 0);
	sigaction(SIGUSR1, &old, NULL);
}

static void *exit_whole_process(void *argument)
{
	(void)argument;
	usleep(20000);
	exit(3);
}

static void exit_from_thread_child(void)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, exit_whole_process, NULL) != 0)
		_exit(1);
	for (;;)
		pause(); /* killed by the other thread's exit_group */
}

static void test_threads_exit_group_from_thread(void)
{
	int status = tl_in_child(exit_from_thread_child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status 0x%x", status);
}

int main(void)
{
	RUN(threads_create_join);
	RUN(threads_join_waits_for_clear_tid);
	RUN(threads_mutex_contention);
	RUN(threads_condition_variable);
	RUN(threads_futex_wait_wake);
	RUN(threads_futex_requeue);
	RUN(threads_futex_cmp_requeue);
	RUN(threads_futex_wait_bitset);
	RUN(threads_tls_distinct);
	RUN(threads_set_robust_list);
	RUN(threads_signal_to_thread);
	RUN(threads_exit_group_from_thread);
	return tl_finish();
}
