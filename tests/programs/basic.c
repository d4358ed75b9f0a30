/* basic.c: the process server's core, case by case: argv/envp/auxv as Linux builds them,
 * console output, malloc (brk and mmap paths), brk, reading a file, time through libc
 * (the vDSO when present), fork with exit statuses and a SIGSEGV, ENOSYS for an unknown
 * system call, EFAULT for bad pointers.
 *
 * Run with arguments `alpha` `two words` and BASIC_EXPECT_ARGS=1 in the environment, it
 * also checks those exact strings (the system test does; qemu-user runs it bare). */
#include "testlib.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static int saved_argc;
static char **saved_argv;
static char **saved_envp;

static void test_basic_argv(void)
{
	CHECK(saved_argc >= 1);
	CHECK(saved_argv[0] != NULL && saved_argv[0][0] != '\0');
	CHECK(saved_argv[saved_argc] == NULL);
	const char *expect = getenv("BASIC_EXPECT_ARGS");
	if (expect && strcmp(expect, "1") == 0) {
		CHECK_EQ(saved_argc, 3);
		CHECK_STR(saved_argv[1], "alpha");
		CHECK_STR(saved_argv[2], "two words");
	}
}

static void test_basic_envp(void)
{
	/* The environment follows argv's NULL on the initial stack. */
	CHECK(saved_envp == saved_argv + saved_argc + 1);
	extern char **environ;
	CHECK(environ == saved_envp);
	int count = 0;
	for (char **entry = saved_envp; *entry; entry++) {
		CHECK(strchr(*entry, '=') != NULL);
		count++;
	}
	const char *expect = getenv("BASIC_EXPECT_ARGS");
	if (expect && strcmp(expect, "1") == 0)
		CHECK(count >= 1);
}

static void test_basic_auxv(void)
{
	CHECK_EQ(getauxval(AT_PAGESZ), 4096);
	CHECK_EQ(getauxval(AT_CLKTCK), 100);
	CHECK(getauxval(AT_PHDR) != 0);
	CHECK_EQ(getauxval(AT_PHENT), sizeof(Elf64_Phdr));
	CHECK(getauxval(AT_PHNUM) > 0);
	CHECK(getauxval(AT_ENTRY) != 0);
	CHECK_EQ(getauxval(AT_UID), getuid());
	CHECK_EQ(getauxval(AT_EUID), geteuid());
	CHECK_EQ(getauxval(AT_GID), getgid());
	CHECK_EQ(getauxval(AT_EGID), getegid());
	CHECK_EQ(getauxval(AT_SECURE), 0);
	/* FP and ASIMD: every aarch64 Linux reports them. */
	CHECK((getauxval(AT_HWCAP) & 3) == 3);
	const unsigned char *random_bytes = (const unsigned char *)getauxval(AT_RANDOM);
	CHECK(random_bytes != NULL);
	int nonzero = 0;
	for (int index = 0; index < 16; index++)
		nonzero |= random_bytes[index];
	CHECK(nonzero != 0);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	CHECK(execfn != NULL && execfn[0] != '\0');
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
	if (vdso) {
		const unsigned char *header = (const unsigned char *)vdso;
		CHECK(memcmp(header, ELFMAG, SELFMAG) == 0);
		CHECK_EQ(vdso % 4096, 0);
	}
	/* The program headers AT_PHDR names hold a PT_LOAD (musl finds PT_TLS this way). */
	const Elf64_Phdr *phdr = (const Elf64_Phdr *)getauxval(AT_PHDR);
	int loads = 0;
	for (unsigned long index = 0; index < getauxval(AT_PHNUM); index++)
		loads += phdr[index].p_type == PT_LOAD;
	CHECK(loads > 0);
}

static void test_basic_write(void)
{
	CHECK_EQ(write(1, "", 0), 0);
	CHECK_ERRNO(write(99, "x", 1), EBADF);
	CHECK_ERRNO(write(-1, "x", 1), EBADF);
	CHECK_ERRNO(write(1, (const void *)8, 16), EFAULT);
	char buffer[4];
	CHECK_ERRNO(read(99, buffer, sizeof buffer), EBADF);
}

static void test_basic_malloc_1m(void)
{
	size_t size = 1 << 20;
	unsigned char *memory = malloc(size);
	CHECK(memory != NULL);
	for (size_t index = 0; index < size; index++)
		memory[index] = (unsigned char)(index * 7);
	for (size_t index = 0; index < size; index += 4093)
		CHECK_EQ(memory[index], (unsigned char)(index * 7));
	free(memory);
}

static void test_basic_malloc_64m(void)
{
	size_t size = 64u << 20;
	/* musl serves this size with mmap; calloc's memory must read as zeros. */
	unsigned char *memory = calloc(1, size);
	CHECK(memory != NULL);
	for (size_t index = 0; index < size; index += 4096) {
		unsigned value = memory[index];
		CHECK_MSG(value == 0, "byte %zu of fresh memory is %u", index, value);
	}
	for (size_t index = 0; index < size; index += 4096)
		memory[index] = (unsigned char)(index >> 12);
	for (size_t index = 0; index < size; index += 4096) {
		unsigned value = memory[index];
		CHECK_MSG(value == ((index >> 12) & 0xff), "byte %zu is %u", index, value);
	}
	free(memory);
}

static void test_basic_brk(void)
{
	char *start = (char *)syscall(SYS_brk, 0);
	CHECK(start != NULL);
	char *grown = (char *)syscall(SYS_brk, start + 3 * 4096);
	CHECK(grown == start + 3 * 4096);
	for (int index = 0; index < 3 * 4096; index++)
		CHECK_EQ(start[index], 0);
	memset(start, 0x5a, 3 * 4096);
	CHECK_EQ(start[3 * 4096 - 1], 0x5a);
	char *shrunk = (char *)syscall(SYS_brk, start);
	CHECK(shrunk == start);
	/* A break below the start is refused: the break stays. */
	CHECK((char *)syscall(SYS_brk, (char *)4096) == start);
}

static void test_basic_mmap(void)
{
	unsigned char *page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	CHECK_EQ(page[5000], 0);
	page[5000] = 9;
	CHECK_OK(mprotect(page, 4096, PROT_READ));
	CHECK_EQ(page[0], 0);
	CHECK_OK(munmap(page, 3 * 4096));
	CHECK_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0),
		    EINVAL);
	CHECK_ERRNO(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERRNO(munmap((void *)4097, 4096), EINVAL);
}

static void test_basic_file_read(void)
{
	const char *self = saved_argv[0];
	int fd = open(self, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	unsigned char magic[4];
	CHECK_EQ(read(fd, magic, 4), 4);
	CHECK(memcmp(magic, ELFMAG, 4) == 0);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK(S_ISREG(status.st_mode));
	CHECK(status.st_size > 4);
	CHECK_EQ(lseek(fd, 0, SEEK_END), status.st_size);
	CHECK_EQ(lseek(fd, 1, SEEK_SET), 1);
	CHECK_EQ(read(fd, magic, 3), 3);
	CHECK(memcmp(magic, "ELF", 3) == 0);
	/* A file-backed private mapping sees the same bytes. */
	unsigned char *mapped = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(mapped != MAP_FAILED);
	CHECK(memcmp(mapped, ELFMAG, 4) == 0);
	CHECK_OK(munmap(mapped, 4096));
	CHECK_OK(close(fd));
	CHECK_ERRNO(close(fd), EBADF);
	CHECK_ERRNO(open("/no/such/file", O_RDONLY), ENOENT);
	struct stat root;
	CHECK_OK(stat("/", &root));
	CHECK(S_ISDIR(root.st_mode));
}

static void test_basic_clock(void)
{
	struct timespec first, second, raw;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &first));
	CHECK_OK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &raw));
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &second));
	long long a = first.tv_sec * 1000000000LL + first.tv_nsec;
	long long b = raw.tv_sec * 1000000000LL + raw.tv_nsec;
	long long c = second.tv_sec * 1000000000LL + second.tv_nsec;
	CHECK(a <= b && b <= c);
	struct timespec now;
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &now));
	CHECK_MSG(now.tv_sec > 1704067200, "CLOCK_REALTIME %lld is before 2024", (long long)now.tv_sec);
	CHECK_ERRNO(clock_gettime(12345, &now), EINVAL);
}

static void crash(void)
{
	*(volatile int *)16 = 1;
}

static void exit_42(void)
{
	_exit(42);
}

static void test_basic_fork(void)
{
	int status = tl_in_child(exit_42);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 42);
	status = tl_in_child(crash);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x", status);
	CHECK_ERRNO(waitpid(-1, &status, WNOHANG), ECHILD);
	/* The child's memory is a copy: its writes do not reach the parent. */
	static volatile int shared_value = 1;
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		shared_value = 2;
		_exit(shared_value == 2 ? 0 : 1);
	}
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(shared_value, 1);
}

static void test_basic_unknown_syscall(void)
{
	CHECK_ERRNO(syscall(1000), ENOSYS);
}

static void test_basic_ids(void)
{
	CHECK(getpid() > 0);
	CHECK_EQ(syscall(SYS_gettid), getpid());
	struct utsname name;
	CHECK_OK(uname(&name));
	CHECK_STR(name.sysname, "Linux");
	CHECK_STR(name.machine, "aarch64");
	unsigned char bytes[32] = {0};
	CHECK_EQ(syscall(SYS_getrandom, bytes, sizeof bytes, 0), sizeof bytes);
	int nonzero = 0;
	for (unsigned index = 0; index < sizeof bytes; index++)
		nonzero |= bytes[index];
	CHECK(nonzero);
}

int main(int argc, char **argv, char **envp)
{
	saved_argc = argc;
	saved_argv = argv;
	saved_envp = envp;
	RUN(basic_argv);
	RUN(basic_envp);
	RUN(basic_auxv);
	RUN(basic_write);
	RUN(basic_malloc_1m);
	RUN(basic_malloc_64m);
	RUN(basic_brk);
	RUN(basic_mmap);
	RUN(basic_file_read);
	RUN(basic_clock);
	RUN(basic_fork);
	RUN(basic_unknown_syscall);
	RUN(basic_ids);
	return tl_finish();
}
