/* glibc.c: a static glibc program (built with aarch64-linux-gnu-gcc, not musl): glibc's
 * startup (it reads MIDR_EL1 with `mrs` because AT_HWCAP has HWCAP_CPUID), the emulated ID
 * register reads, the vDSO as glibc finds it, threads, fork/exec/wait, signals, files,
 * directories and large allocations.
 *
 * `glibc exit <status>` just exits with that status (the exec case runs it). */
#define _GNU_SOURCE
#include "testlib.h"

#include <asm/hwcap.h>
#include <dirent.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

static const char *self_path;

#define READ_ID_REGISTER(name)                                                                \
	({                                                                                    \
		uint64_t tl_value;                                                            \
		__asm__ volatile("mrs %0, " #name : "=r"(tl_value));                          \
		tl_value;                                                                     \
	})

static void test_glibc_startup_printf(void)
{
	const char *version = gnu_get_libc_version();
	CHECK(version != NULL && version[0] == '2');
	char line[64];
	int length = snprintf(line, sizeof line, "%s %d %.2f %s", "glibc", 42, 2.5, version);
	CHECK(length > 0 && (size_t)length < sizeof line);
	CHECK(strncmp(line, "glibc 42 2.50 2.", 16) == 0);
	/* printf through stdout's buffer, with stdout pointed at a pipe so the output can be
	 * read back (and stays off the protocol stream). */
	int pipe_ends[2];
	CHECK_OK(pipe(pipe_ends));
	int saved_stdout = dup(1);
	CHECK(saved_stdout >= 0);
	CHECK_OK(fflush(stdout));
	CHECK_OK(dup2(pipe_ends[1], 1));
	int printed = printf("printf %d %s\n", 7, "ok");
	int flushed = fflush(stdout);
	CHECK_OK(dup2(saved_stdout, 1));
	close(saved_stdout);
	close(pipe_ends[1]);
	CHECK_EQ(printed, 12);
	CHECK_EQ(flushed, 0);
	char echoed[32] = { 0 };
	CHECK_EQ(read(pipe_ends[0], echoed, sizeof echoed - 1), 12);
	close(pipe_ends[0]);
	CHECK_STR(echoed, "printf 7 ok\n");
}

/* The bits of one 4-bit ID register field. */
static unsigned field(uint64_t value, unsigned shift)
{
	return (unsigned)(value >> shift) & 0xf;
}

static void test_glibc_cpuid_registers(void)
{
	unsigned long hwcap = getauxval(AT_HWCAP);
	CHECK(hwcap & HWCAP_CPUID);
	uint64_t midr = READ_ID_REGISTER(midr_el1);
	uint64_t isar0 = READ_ID_REGISTER(id_aa64isar0_el1);
	uint64_t pfr0 = READ_ID_REGISTER(id_aa64pfr0_el1);
	uint64_t mpidr = READ_ID_REGISTER(mpidr_el1);
	uint64_t revidr = READ_ID_REGISTER(revidr_el1);
	CHECK_MSG(midr >> 24 != 0 && midr >> 32 == 0, "MIDR %#llx", (unsigned long long)midr);
	/* Linux hides affinity and revision details. */
	CHECK_EQ(mpidr, 0x80000000);
	CHECK_EQ(revidr, 0);
	/* The visible ID fields agree with AT_HWCAP. */
	CHECK_EQ(field(isar0, 4) >= 1, !!(hwcap & HWCAP_AES));
	CHECK_EQ(field(isar0, 4) >= 2, !!(hwcap & HWCAP_PMULL));
	CHECK_EQ(field(isar0, 8) >= 1, !!(hwcap & HWCAP_SHA1));
	CHECK_EQ(field(isar0, 12) >= 1, !!(hwcap & HWCAP_SHA2));
	CHECK_EQ(field(isar0, 16) >= 1, !!(hwcap & HWCAP_CRC32));
	CHECK_EQ(field(pfr0, 16) != 0xf, !!(hwcap & HWCAP_FP));
	CHECK_EQ(field(pfr0, 20) != 0xf, !!(hwcap & HWCAP_ASIMD));
	/* EL2, EL3 and GIC are hidden (read as 0); EL0 and EL1 read "AArch64 only". */
	CHECK_EQ(pfr0 & 0x0f00ff00, 0);
	CHECK_EQ(pfr0 & 0xff, 0x11);
	if (midr == 0x411fd070) {
		/* Cortex-A57 (QEMU's): the exact user views Linux gives. */
		CHECK_EQ(isar0, 0x11120);
		CHECK_EQ(pfr0, 0x11);
	}
	/* Any destination register, and XZR (the value is discarded, nothing breaks). */
	register uint64_t high __asm__("x28");
	__asm__ volatile("mrs %0, midr_el1" : "=r"(high));
	CHECK_EQ(high, midr);
	__asm__ volatile("mrs xzr, midr_el1");
}

/* dl_iterate_phdr: finds the object whose program headers lie in the vDSO image. */
static int find_vdso(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t image = *(uintptr_t *)data;
	uintptr_t headers = (uintptr_t)info->dlpi_phdr;
	if (headers >= image && headers < image + 4096) {
		*(uintptr_t *)data = 0;
		return 1;
	}
	return 0;
}

static long long nanoseconds(const struct timespec *time)
{
	return (long long)time->tv_sec * 1000000000LL + time->tv_nsec;
}

static void test_glibc_vdso_clocks(void)
{
	SKIP_WITHOUT_VDSO();
	/* glibc registers the vDSO as a loaded object (its clock functions come from it). */
	uintptr_t image = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	CHECK(dl_iterate_phdr(find_vdso, &image) == 1 && image == 0);
	for (int clock = 0; clock < 2; clock++) {
		clockid_t id = clock == 0 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
		struct timespec before, raw, after;
		CHECK_OK(clock_gettime(id, &before));
		CHECK_OK(syscall(SYS_clock_gettime, id, &raw));
		CHECK_OK(clock_gettime(id, &after));
		CHECK(nanoseconds(&before) <= nanoseconds(&raw));
		CHECK(nanoseconds(&raw) <= nanoseconds(&after));
		CHECK(nanoseconds(&after) - nanoseconds(&before) < 1000000000LL);
	}
	struct timeval libc_time, raw_time;
	CHECK_OK(gettimeofday(&libc_time, NULL));
	CHECK_OK(syscall(SYS_gettimeofday, &raw_time, NULL));
	long long difference = (raw_time.tv_sec - libc_time.tv_sec) * 1000000LL +
			       (raw_time.tv_usec - libc_time.tv_usec);
	CHECK_MSG(difference >= 0 && difference < 1000000, "gettimeofday differs by %lld us",
		  difference);
	time_t now = time(NULL);
	CHECK(now >= libc_time.tv_sec && now - libc_time.tv_sec < 2);
	struct timespec resolution;
	CHECK_OK(clock_getres(CLOCK_MONOTONIC, &resolution));
	CHECK(resolution.tv_sec == 0 && resolution.tv_nsec > 0);
}

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t counter_changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int started;

static void *count_up(void *argument)
{
	pthread_mutex_lock(&counter_lock);
	started++;
	pthread_cond_broadcast(&counter_changed);
	pthread_mutex_unlock(&counter_lock);
	for (int index = 0; index < 10000; index++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
	}
	return (void *)((uintptr_t)argument * 2);
}

static void test_glibc_threads(void)
{
	enum { THREADS = 4 };
	pthread_t threads[THREADS];
	for (uintptr_t index = 0; index < THREADS; index++)
		CHECK_EQ(pthread_create(&threads[index], NULL, count_up, (void *)index), 0);
	pthread_mutex_lock(&counter_lock);
	while (started < THREADS)
		pthread_cond_wait(&counter_changed, &counter_lock);
	pthread_mutex_unlock(&counter_lock);
	for (uintptr_t index = 0; index < THREADS; index++) {
		void *result = NULL;
		CHECK_EQ(pthread_join(threads[index], &result), 0);
		CHECK_EQ((uintptr_t)result, index * 2);
	}
	CHECK_EQ(counter, THREADS * 10000);
}

static void test_glibc_fork_exec_wait(void)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		execl(self_path, self_path, "exit", "7", (char *)NULL);
		_exit(99);
	}
	int status = 0;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
	/* A child killed by a signal. */
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		raise(SIGKILL);
		_exit(1);
	}
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static volatile sig_atomic_t handled_signal;
static volatile sig_atomic_t handled_code;

static void on_signal(int signal, siginfo_t *info, void *context)
{
	(void)context;
	handled_signal = signal;
	handled_code = info->si_code;
}

static void test_glibc_signal_handler(void)
{
	/* glibc's sigaction never sets SA_RESTORER on aarch64: the return goes through the
	 * vDSO's __kernel_rt_sigreturn. */
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_sigaction = on_signal;
	action.sa_flags = SA_SIGINFO;
	sigemptyset(&action.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &action, NULL));
	CHECK_OK(raise(SIGUSR1));
	CHECK_EQ(handled_signal, SIGUSR1);
	CHECK_EQ(handled_code, SI_TKILL);
	/* A blocked signal stays pending until unblocked. */
	handled_signal = 0;
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	CHECK_OK(sigprocmask(SIG_BLOCK, &mask, &old));
	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK_EQ(handled_signal, 0);
	CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));
	CHECK_EQ(handled_signal, SIGUSR1);
	CHECK_EQ(handled_code, SI_USER);
	signal(SIGUSR1, SIG_DFL);
}

static void test_glibc_files(void)
{
	char directory[64], path[96];
	snprintf(directory, sizeof directory, "/tmp/glibc-%d", (int)getpid());
	snprintf(path, sizeof path, "%s/data", directory);
	CHECK_OK(mkdir(directory, 0755));
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	static const char text[] = "written by glibc\n";
	CHECK_EQ(write(fd, text, sizeof text - 1), sizeof text - 1);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	char buffer[64] = { 0 };
	CHECK_EQ(read(fd, buffer, sizeof buffer), sizeof text - 1);
	CHECK_STR(buffer, text);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_size, sizeof text - 1);
	CHECK(S_ISREG(status.st_mode));
	CHECK_OK(close(fd));
	CHECK_OK(stat(path, &status));
	CHECK_EQ(status.st_size, sizeof text - 1);
	/* stdio over the same file. */
	FILE *file = fopen(path, "a+");
	CHECK(file != NULL);
	CHECK(fprintf(file, "line %d\n", 2) == 7);
	CHECK_OK(fseek(file, 0, SEEK_SET));
	char line[64];
	CHECK(fgets(line, sizeof line, file) != NULL);
	CHECK_STR(line, text);
	CHECK(fgets(line, sizeof line, file) != NULL);
	CHECK_STR(line, "line 2\n");
	CHECK(fclose(file) == 0);
	/* getdents64 through opendir/readdir. */
	DIR *listing = opendir(directory);
	CHECK(listing != NULL);
	int found = 0, entries = 0;
	struct dirent *entry;
	while ((entry = readdir(listing)) != NULL) {
		entries++;
		if (strcmp(entry->d_name, "data") == 0 && entry->d_type == DT_REG)
			found = 1;
	}
	CHECK_OK(closedir(listing));
	CHECK(found);
	CHECK_EQ(entries, 3);
	CHECK_OK(unlink(path));
	CHECK_ERRNO(stat(path, &status), ENOENT);
	CHECK_OK(rmdir(directory));
}

static void test_glibc_large_malloc(void)
{
	/* Above glibc's mmap threshold: each is its own mapping, returned by free. */
	enum { COUNT = 4 };
	size_t sizes[COUNT] = { 256 << 10, 1 << 20, 8 << 20, 32 << 20 };
	unsigned char *blocks[COUNT];
	for (int index = 0; index < COUNT; index++) {
		blocks[index] = malloc(sizes[index]);
		CHECK(blocks[index] != NULL);
		memset(blocks[index], index + 1, sizes[index]);
	}
	for (int index = 0; index < COUNT; index++) {
		CHECK_EQ(blocks[index][0], index + 1);
		CHECK_EQ(blocks[index][sizes[index] - 1], index + 1);
		free(blocks[index]);
	}
	/* realloc growth (mremap under glibc) keeps the contents. */
	unsigned char *grown = malloc(1 << 20);
	CHECK(grown != NULL);
	memset(grown, 0x5a, 1 << 20);
	grown = realloc(grown, 16 << 20);
	CHECK(grown != NULL);
	CHECK_EQ(grown[(1 << 20) - 1], 0x5a);
	grown[(16 << 20) - 1] = 1;
	free(grown);
	/* Many small blocks from the heap (brk). */
	void *small[1000];
	for (int index = 0; index < 1000; index++) {
		small[index] = malloc(64 + index);
		CHECK(small[index] != NULL);
	}
	for (int index = 0; index < 1000; index++)
		free(small[index]);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	self_path = argv[0];
	RUN(glibc_startup_printf);
	RUN(glibc_cpuid_registers);
	RUN(glibc_vdso_clocks);
	RUN(glibc_threads);
	RUN(glibc_fork_exec_wait);
	RUN(glibc_signal_handler);
	RUN(glibc_files);
	RUN(glibc_large_malloc);
	return tl_finish();
}
