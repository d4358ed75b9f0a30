/* memory.c: brk, mmap (anonymous, shared, fixed, file-backed), munmap, mprotect, mremap,
 * madvise, demand paging, the signals a bad access raises (address and code checked),
 * shared memory and futexes across fork, and running out of memory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "testlib.h"

#define PAGE 4096UL

static char scratch[64];

/* ---- fault catching: the handler records the siginfo and jumps back ---- */

static sigjmp_buf fault_jump;
static volatile int fault_signal, fault_code;
static void *volatile fault_address;

static void fault_handler(int signal_number, siginfo_t *info, void *context)
{
	(void)context;
	fault_signal = signal_number;
	fault_code = info->si_code;
	fault_address = info->si_addr;
	siglongjmp(fault_jump, 1);
}

enum access { ACCESS_READ, ACCESS_WRITE };

/* Performs one access; returns the signal it raised, or 0. */
static int probe(volatile char *address, enum access kind)
{
	struct sigaction action = {.sa_sigaction = fault_handler, .sa_flags = SA_SIGINFO},
			 old_segv, old_bus;
	sigemptyset(&action.sa_mask);
	sigaction(SIGSEGV, &action, &old_segv);
	sigaction(SIGBUS, &action, &old_bus);
	fault_signal = 0;
	fault_code = 0;
	fault_address = NULL;
	if (sigsetjmp(fault_jump, 1) == 0) {
		if (kind == ACCESS_WRITE)
			*address = 0x5a;
		else
			(void)*address;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return fault_signal;
}

#define CHECK_FAULT(address, kind, signal_number, code)                                      \
	do {                                                                                 \
		volatile char *tl_where = (volatile char *)(address);                        \
		CHECK_EQ(probe(tl_where, kind), signal_number);                               \
		CHECK_MSG(fault_address == (void *)tl_where, "si_addr %p, expected %p",       \
			  fault_address, (void *)tl_where);                                  \
		CHECK_EQ(fault_code, code);                                                  \
	} while (0)

static char *map_anonymous(size_t length)
{
	void *address = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	return address == MAP_FAILED ? NULL : address;
}

/* ---- cases ---- */

static void test_memory_brk_grow_shrink(void)
{
	uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
	CHECK(start != 0);
	uintptr_t grown = (uintptr_t)syscall(SYS_brk, start + 64 * PAGE);
	CHECK_EQ(grown, start + 64 * PAGE);
	CHECK_EQ((uintptr_t)syscall(SYS_brk, 0), grown);
	/* new break memory reads as zero and is writable */
	char *base = (char *)((start + PAGE - 1) & ~(PAGE - 1));
	for (char *page = base; page + PAGE <= (char *)grown; page += PAGE) {
		CHECK_MSG(page[0] == 0 && page[PAGE - 1] == 0, "break page %p not zero", page);
		page[0] = 1;
		page[PAGE - 1] = 2;
	}
	/* shrinking releases the pages above the new break */
	uintptr_t shrunk = (uintptr_t)syscall(SYS_brk, (uintptr_t)base + 2 * PAGE);
	CHECK_EQ(shrunk, (uintptr_t)base + 2 * PAGE);
	CHECK_EQ(base[PAGE], 1); /* below the break: kept */
	/* growing again gives zeroed memory, not the old contents */
	CHECK_EQ((uintptr_t)syscall(SYS_brk, (uintptr_t)base + 16 * PAGE),
		 (uintptr_t)base + 16 * PAGE);
	CHECK_EQ(base[8 * PAGE], 0);
	/* a break below the start is refused: brk returns the current break */
	CHECK_EQ((uintptr_t)syscall(SYS_brk, start - 64 * PAGE), (uintptr_t)base + 16 * PAGE);
	/* shrinking unmapped the pages above the break */
	CHECK_EQ((uintptr_t)syscall(SYS_brk, (uintptr_t)base + 2 * PAGE), (uintptr_t)base + 2 * PAGE);
	int faulted = probe(base + 8 * PAGE, ACCESS_READ);
	void *address = fault_address;
	int code = fault_code;
	CHECK_EQ((uintptr_t)syscall(SYS_brk, start), start);
	if (faulted == 0 && getauxval(AT_SYSINFO_EHDR) == 0) {
		/* qemu-user (which also has no vDSO) keeps the pages when the break shrinks */
		tl_skip("memory above a shrunk break still mapped: qemu-user does not unmap it");
		return;
	}
	CHECK_EQ(faulted, SIGSEGV);
	CHECK(address == (void *)(base + 8 * PAGE));
	CHECK_EQ(code, SEGV_MAPERR);
}

static void test_memory_mmap_anonymous_private(void)
{
	size_t length = 16 * PAGE;
	unsigned char *region = (unsigned char *)map_anonymous(length);
	CHECK(region != NULL);
	CHECK_EQ((uintptr_t)region % PAGE, 0);
	for (size_t index = 0; index < length; index += 512)
		CHECK_MSG(region[index] == 0, "byte %zu is %u", index, region[index]);
	for (size_t index = 0; index < length; index++)
		region[index] = (unsigned char)(index * 13);
	for (size_t index = 0; index < length; index++)
		CHECK_MSG(region[index] == (unsigned char)(index * 13), "byte %zu wrong", index);
	/* a second mapping does not overlap the first */
	unsigned char *other = (unsigned char *)map_anonymous(length);
	CHECK(other != NULL);
	CHECK(other + length <= region || other >= region + length);
	CHECK_OK(munmap(other, length));
	CHECK_OK(munmap(region, length));
}

static void test_memory_mmap_shared_and_private_across_fork(void)
{
	volatile int *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				    -1, 0);
	CHECK(shared != MAP_FAILED);
	volatile int *private = (volatile int *)map_anonymous(PAGE);
	CHECK(private != NULL);
	shared[0] = 1;
	private[0] = 1;
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		int saw = shared[0] == 1 && private[0] == 1;
		shared[0] = 42;
		shared[1023] = 43;
		private[0] = 99;
		_exit(saw ? 0 : 1);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(shared[0], 42);
	CHECK_EQ(shared[1023], 43);
	CHECK_EQ(private[0], 1); /* copy-on-write kept the parent's page */
	/* and the other direction */
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* wait until the parent writes */
		for (int spins = 0; spins < 2000 && shared[0] != 7; spins++)
			usleep(1000);
		_exit(shared[0] == 7 && private[0] == 1 ? 0 : 1);
	}
	private[0] = 2;
	shared[0] = 7;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 0);
	munmap((void *)shared, PAGE);
	munmap((void *)private, PAGE);
}

static void test_memory_map_fixed_replaces(void)
{
	char *region = map_anonymous(4 * PAGE);
	CHECK(region != NULL);
	memset(region, 'A', 4 * PAGE);
	char *replaced = mmap(region + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(replaced == region + PAGE);
	CHECK_EQ(region[0], 'A');
	CHECK_EQ(region[PAGE - 1], 'A');
	CHECK_EQ(region[PAGE], 0);
	CHECK_EQ(region[3 * PAGE - 1], 0);
	CHECK_EQ(region[3 * PAGE], 'A');
	CHECK_EQ(region[4 * PAGE - 1], 'A');
	CHECK_OK(munmap(region, 4 * PAGE));
}

static int make_file(const char *name, const char *content, size_t length, char *path,
		     size_t path_size)
{
	snprintf(path, path_size, "%s/%s", scratch, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, content, length) != (ssize_t)length) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_memory_file_private_mapping(void)
{
	static char content[2 * 4096 + 100];
	for (size_t index = 0; index < sizeof content; index++)
		content[index] = (char)('a' + index % 26);
	content[4096] = '#';
	char path[96];
	int fd = make_file("private", content, sizeof content, path, sizeof path);
	CHECK(fd >= 0);
	char *mapping = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(mapping != MAP_FAILED);
	CHECK(memcmp(mapping, content, sizeof content) == 0);
	/* the rest of the last page reads as zero */
	for (size_t index = sizeof content; index < 3 * PAGE; index++)
		CHECK_MSG(mapping[index] == 0, "byte %zu past EOF is %d", index, mapping[index]);
	/* a private write is not written back to the file */
	mapping[0] = 'Z';
	char byte = 0;
	CHECK_EQ(pread(fd, &byte, 1, 0), 1);
	CHECK_EQ(byte, 'a');
	CHECK_EQ(mapping[0], 'Z');
	/* a mapping at an offset starts at that page */
	char *second = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
	CHECK(second != MAP_FAILED);
	CHECK_EQ(second[0], '#');
	CHECK_EQ(second[1], content[4097]);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);
	munmap(second, PAGE);
	munmap(mapping, 3 * PAGE);
	close(fd);
	unlink(path);
}

static void test_memory_file_shared_mapping(void)
{
	static char content[2 * 4096 + 100];
	for (size_t index = 0; index < sizeof content; index++)
		content[index] = (char)('A' + index % 26);
	char path[96];
	int fd = make_file("shared", content, sizeof content, path, sizeof path);
	CHECK(fd >= 0);
	char *mapping = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(mapping != MAP_FAILED);
	CHECK(memcmp(mapping, content, sizeof content) == 0);
	/* a write through the mapping is what read() sees, and write() what the mapping
	 * sees */
	mapping[10] = 'm';
	char byte = 0;
	CHECK_EQ(pread(fd, &byte, 1, 10), 1);
	CHECK_EQ(byte, 'm');
	CHECK_EQ(pwrite(fd, "w", 1, PAGE + 20), 1);
	CHECK_EQ(mapping[PAGE + 20], 'w');
	/* a second mapping of the file shares the pages */
	char *second = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(second != MAP_FAILED);
	CHECK_EQ(second[10], 'm');
	mapping[11] = 'n';
	CHECK_EQ(second[11], 'n');
	CHECK_OK(mprotect(mapping, PAGE, PROT_READ | PROT_WRITE));
	/* a child's write to a page first touched after fork reaches the parent and the file */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		mapping[2 * PAGE + 7] = 'c';
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(mapping[2 * PAGE + 7], 'c');
	/* bytes past the end of the file are not written back, and the file does not grow */
	mapping[2 * PAGE + 200] = 'x';
	CHECK_OK(msync(mapping, 3 * PAGE, MS_SYNC));
	CHECK_ERRNO(msync(mapping + 1, PAGE, MS_SYNC), EINVAL);
	CHECK_ERRNO(msync(mapping, PAGE, MS_SYNC | MS_ASYNC), EINVAL);
	struct stat status_buffer;
	CHECK_OK(fstat(fd, &status_buffer));
	CHECK_EQ(status_buffer.st_size, (off_t)sizeof content);
	CHECK_OK(munmap(second, PAGE));
	CHECK_OK(munmap(mapping, 3 * PAGE));
	close(fd);
	/* after munmap and close the file holds the mapping's writes */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	static char after[sizeof content + 16];
	CHECK_EQ(read(fd, after, sizeof after), (ssize_t)sizeof content);
	CHECK_EQ(after[10], 'm');
	CHECK_EQ(after[11], 'n');
	CHECK_EQ(after[PAGE + 20], 'w');
	CHECK_EQ(after[2 * PAGE + 7], 'c');
	CHECK_EQ(after[12], content[12]);
	close(fd);
	unlink(path);
}

static void test_memory_munmap_then_access_sigsegv(void)
{
	char *region = map_anonymous(3 * PAGE);
	CHECK(region != NULL);
	region[PAGE] = 1;
	CHECK_OK(munmap(region + PAGE, PAGE)); /* a hole in the middle */
	CHECK_EQ(probe(region, ACCESS_WRITE), 0);
	CHECK_EQ(probe(region + 2 * PAGE, ACCESS_WRITE), 0);
	CHECK_FAULT(region + PAGE + 123, ACCESS_READ, SIGSEGV, SEGV_MAPERR);
	CHECK_FAULT(region + PAGE, ACCESS_WRITE, SIGSEGV, SEGV_MAPERR);
	CHECK_OK(munmap(region, 3 * PAGE)); /* unmapping a range with a hole is fine */
	CHECK_FAULT(region + 2 * PAGE + 8, ACCESS_READ, SIGSEGV, SEGV_MAPERR);
	CHECK_ERRNO(munmap(region + 1, PAGE), EINVAL);
	CHECK_ERRNO(munmap(region, 0), EINVAL);
}

static void test_memory_mprotect_readonly_write_sigsegv(void)
{
	char *region = map_anonymous(2 * PAGE);
	CHECK(region != NULL);
	region[PAGE + 17] = 'r';
	CHECK_OK(mprotect(region + PAGE, PAGE, PROT_READ));
	CHECK_EQ(probe(region + PAGE + 17, ACCESS_READ), 0);
	CHECK_EQ(region[PAGE + 17], 'r');
	CHECK_FAULT(region + PAGE + 17, ACCESS_WRITE, SIGSEGV, SEGV_ACCERR);
	CHECK_EQ(region[PAGE + 17], 'r');
	CHECK_EQ(probe(region + 5, ACCESS_WRITE), 0); /* the first page is still writable */
	CHECK_OK(mprotect(region + PAGE, PAGE, PROT_NONE));
	CHECK_FAULT(region + PAGE + 1, ACCESS_READ, SIGSEGV, SEGV_ACCERR);
	CHECK_OK(mprotect(region + PAGE, PAGE, PROT_READ | PROT_WRITE));
	CHECK_EQ(probe(region + PAGE + 17, ACCESS_WRITE), 0);
	CHECK_EQ(region[PAGE + 17], 0x5a);
	/* raw, because musl's mprotect rounds the address down */
	CHECK_ERRNO(syscall(SYS_mprotect, region + 1, PAGE, PROT_READ), EINVAL);
	munmap(region, 2 * PAGE);
}

static void test_memory_mremap_grow_move(void)
{
	unsigned char *region = (unsigned char *)map_anonymous(3 * PAGE);
	CHECK(region != NULL);
	for (size_t index = 0; index < 2 * PAGE; index++)
		region[index] = (unsigned char)(index * 7);
	/* a separate mapping right above blocks growth in place, so the grow has to move */
	unsigned char *blocker = region + 2 * PAGE;
	CHECK_OK(mprotect(blocker, PAGE, PROT_READ));
	CHECK_ERRNO(mremap(region, 2 * PAGE, 8 * PAGE, 0), ENOMEM);
	unsigned char *moved = mremap(region, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
	CHECK(moved != MAP_FAILED);
	CHECK(moved != region);
	for (size_t index = 0; index < 2 * PAGE; index++)
		CHECK_MSG(moved[index] == (unsigned char)(index * 7), "byte %zu lost in move", index);
	for (size_t index = 2 * PAGE; index < 8 * PAGE; index += 256)
		CHECK_MSG(moved[index] == 0, "grown byte %zu not zero", index);
	moved[8 * PAGE - 1] = 1;
	CHECK_FAULT(region, ACCESS_READ, SIGSEGV, SEGV_MAPERR); /* the old range is gone */
	/* shrink in place */
	CHECK(mremap(moved, 8 * PAGE, 4 * PAGE, 0) == moved);
	CHECK_FAULT(moved + 5 * PAGE, ACCESS_READ, SIGSEGV, SEGV_MAPERR);
	/* move to a chosen address */
	unsigned char *target = (unsigned char *)map_anonymous(4 * PAGE);
	CHECK(target != NULL);
	unsigned char *fixed = mremap(moved, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
				      target);
	CHECK(fixed == target);
	CHECK_EQ(fixed[PAGE + 1], (unsigned char)((PAGE + 1) * 7));
	CHECK_ERRNO(mremap(fixed + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE), EINVAL);
	CHECK_ERRNO(mremap(fixed, PAGE, PAGE, MREMAP_FIXED, target + 8 * PAGE), EINVAL);
	munmap(fixed, 4 * PAGE);
	munmap(blocker, PAGE);
}

static void test_memory_mremap_duplicates_a_shared_mapping(void)
{
	/* a zero old size on a shared mapping makes a second view of the same pages */
	volatile char *shared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	shared[0] = 5;
	volatile char *view = mremap((void *)shared, 0, 2 * PAGE, MREMAP_MAYMOVE);
	if (view == MAP_FAILED && getauxval(AT_SYSINFO_EHDR) == 0) {
		tl_skip("qemu-user refuses mremap of a zero old size (Linux 6.1 does it)");
		munmap((void *)shared, 2 * PAGE);
		return;
	}
	CHECK(view != MAP_FAILED);
	CHECK(view != shared);
	CHECK_EQ(view[0], 5);
	view[PAGE + 3] = 7; /* a page neither view had touched */
	CHECK_EQ(shared[PAGE + 3], 7);
	CHECK_ERRNO(mremap((void *)shared, 0, PAGE, 0), ENOMEM);
	char *private = map_anonymous(PAGE);
	CHECK(private != NULL);
	CHECK_ERRNO(mremap(private, 0, PAGE, MREMAP_MAYMOVE), EINVAL);
	/* the pages outlive the first view */
	CHECK_OK(munmap((void *)shared, 2 * PAGE));
	CHECK_EQ(view[PAGE + 3], 7);
	munmap((void *)view, 2 * PAGE);
	munmap(private, PAGE);
}

static void test_memory_madvise_dontneed_zeroes(void)
{
	char *region = map_anonymous(4 * PAGE);
	CHECK(region != NULL);
	memset(region, 'Q', 4 * PAGE);
	CHECK_OK(madvise(region + PAGE, 2 * PAGE, MADV_DONTNEED));
	CHECK_EQ(region[0], 'Q');
	CHECK_EQ(region[PAGE - 1], 'Q');
	CHECK_EQ(region[PAGE], 0);
	CHECK_EQ(region[2 * PAGE + 100], 0);
	CHECK_EQ(region[3 * PAGE], 'Q');
	region[PAGE] = 'n'; /* still mapped and writable */
	CHECK_EQ(region[PAGE], 'n');
	CHECK_ERRNO(madvise(region + 1, PAGE, MADV_DONTNEED), EINVAL);
	munmap(region, 4 * PAGE);
}

static void test_memory_touch_1000_pages(void)
{
	size_t pages = 1000;
	uint32_t *region = (uint32_t *)map_anonymous(pages * PAGE);
	CHECK(region != NULL);
	size_t words = PAGE / sizeof(uint32_t);
	for (size_t page = 0; page < pages; page++) {
		CHECK_EQ(region[page * words + page % words], 0);
		region[page * words] = (uint32_t)(page * 2654435761U);
		region[page * words + words - 1] = (uint32_t)page;
	}
	for (size_t page = 0; page < pages; page++) {
		CHECK_EQ(region[page * words], (uint32_t)(page * 2654435761U));
		CHECK_EQ(region[page * words + words - 1], page);
	}
	CHECK_OK(munmap(region, pages * PAGE));
}

static void test_memory_map_past_eof_sigbus(void)
{
	char content[100];
	memset(content, 'e', sizeof content);
	char path[96];
	int fd = make_file("short", content, sizeof content, path, sizeof path);
	CHECK(fd >= 0);
	char *mapping = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(mapping != MAP_FAILED);
	CHECK_EQ(probe(mapping + 50, ACCESS_READ), 0);
	CHECK_EQ(mapping[99], 'e');
	CHECK_EQ(mapping[100], 0);
	CHECK_EQ(probe(mapping + PAGE - 1, ACCESS_WRITE), 0); /* same page as EOF */
	CHECK_FAULT(mapping + PAGE, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_FAULT(mapping + 2 * PAGE + 5, ACCESS_WRITE, SIGBUS, BUS_ADRERR);
	munmap(mapping, 3 * PAGE);
	close(fd);
	unlink(path);
}

/* mprotect(PROT_WRITE) of a shared file mapping made read-only: allowed if the file was
 * open for writing when mapped (Linux's VM_MAYWRITE, kept after close), EACCES if not */
static void test_memory_mprotect_shared_file_upgrade(void)
{
	char path[96];
	int fd = make_file("upgrade", "abc", 3, path, sizeof path);
	CHECK(fd >= 0);
	char *shared = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(shared != MAP_FAILED);
	close(fd);
	CHECK_EQ(shared[0], 'a');
	CHECK_OK(mprotect(shared, PAGE, PROT_READ | PROT_WRITE));
	shared[1] = 'Z';
	CHECK_OK(munmap(shared, PAGE));
	int read_only = open(path, O_RDONLY);
	CHECK(read_only >= 0);
	char bytes[4] = {0};
	CHECK_EQ(pread(read_only, bytes, sizeof bytes, 0), 3);
	CHECK_STR(bytes, "aZc");
	shared = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, read_only, 0);
	CHECK(shared != MAP_FAILED);
	CHECK_ERRNO(mprotect(shared, PAGE, PROT_READ | PROT_WRITE), EACCES);
	CHECK_EQ(probe(shared, ACCESS_WRITE), SIGSEGV);
	CHECK_OK(munmap(shared, PAGE));
	/* a private mapping of a read-only file may always become writable */
	char *private = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, read_only, 0);
	CHECK(private != MAP_FAILED);
	CHECK_OK(mprotect(private, PAGE, PROT_READ | PROT_WRITE));
	private[0] = 'p';
	CHECK_EQ(pread(read_only, bytes, 1, 0), 1);
	CHECK_EQ(bytes[0], 'a');
	CHECK_OK(munmap(private, PAGE));
	close(read_only);
	unlink(path);
}

/* a mapped file that shrinks (ftruncate, truncate, O_TRUNC) loses the mapped pages
 * wholly past its new end: the next access there is SIGBUS, in shared mappings and for
 * private pages not written; a written private page is the process's own copy and
 * stays; the partial last page reads zeros past the end */
static void test_memory_truncate_mapped_file_sigbus(void)
{
	static char content[4 * 4096];
	memset(content, 't', sizeof content);
	char path[96];
	int fd = make_file("truncated", content, sizeof content, path, sizeof path);
	CHECK(fd >= 0);
	char *shared = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *private = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *reader = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(shared != MAP_FAILED && private != MAP_FAILED && reader != MAP_FAILED);
	for (size_t page = 0; page < 4; page++) {
		CHECK_EQ(shared[page * PAGE], 't');
		CHECK_EQ(private[page * PAGE], 't');
		CHECK_EQ(reader[page * PAGE], 't');
	}
	shared[PAGE + 5] = 's';
	private[2 * PAGE] = 'p';
	CHECK_OK(ftruncate(fd, PAGE + 10));
	/* below the new end: the shared mapping's write survived, the tail is zero */
	CHECK_EQ(shared[PAGE + 5], 's');
	CHECK_EQ(shared[PAGE + 9], 't');
	CHECK_EQ(shared[PAGE + 10], 0);
	CHECK_EQ(shared[2 * PAGE - 1], 0);
	CHECK_EQ(reader[PAGE + 9], 't');
	CHECK_FAULT(shared + 2 * PAGE, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_FAULT(shared + 3 * PAGE + 8, ACCESS_WRITE, SIGBUS, BUS_ADRERR);
	CHECK_FAULT(reader + 2 * PAGE + 1, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_FAULT(private + 3 * PAGE, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_EQ(private[2 * PAGE], 'p');
	CHECK_EQ(private[2 * PAGE + 1], 't');
	/* grown again, the pages past the old end read the file: zeros */
	CHECK_OK(ftruncate(fd, 4 * PAGE));
	CHECK_EQ(shared[3 * PAGE], 0);
	CHECK_EQ(reader[2 * PAGE], 0);
	/* truncate(2) by path and an O_TRUNC open shrink it the same way */
	CHECK_EQ(shared[3 * PAGE + 1], 0);
	CHECK_OK(truncate(path, PAGE));
	CHECK_FAULT(shared + 3 * PAGE, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_EQ(reader[0], 't');
	int again = open(path, O_RDWR | O_TRUNC);
	CHECK(again >= 0);
	CHECK_FAULT(shared, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_FAULT(reader, ACCESS_READ, SIGBUS, BUS_ADRERR);
	CHECK_EQ(private[2 * PAGE], 'p');
	close(again);
	munmap(shared, 4 * PAGE);
	munmap(private, 4 * PAGE);
	munmap(reader, 4 * PAGE);
	close(fd);
	unlink(path);
}

static void test_memory_mmap_errors(void)
{
	CHECK_ERRNO(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERRNO(mmap((void *)0x12345, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0),
		    EINVAL);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
	char path[96];
	int fd = make_file("modes", "x", 1, path, sizeof path);
	CHECK(fd >= 0);
	close(fd);
	int write_only = open(path, O_WRONLY);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, write_only, 0), EACCES);
	close(write_only);
	int read_only = open(path, O_RDONLY);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, read_only, 0), EACCES);
	/* a read-only shared mapping of a read-only file shows the file, and may not
	 * become writable */
	char *shared = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, read_only, 0);
	CHECK(shared != MAP_FAILED);
	CHECK_EQ(shared[0], 'x');
	CHECK_EQ(shared[1], 0);
	CHECK_ERRNO(mprotect(shared, PAGE, PROT_READ | PROT_WRITE), EACCES);
	munmap(shared, PAGE);
	/* a private writable mapping of a read-only file is fine */
	void *private = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, read_only, 0);
	CHECK(private != MAP_FAILED);
	munmap(private, PAGE);
	close(read_only);
	unlink(path);
	/* absurd sizes */
	CHECK_ERRNO(mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		    ENOMEM);
}

static void test_memory_shared_pages_touched_after_fork(void)
{
	/* nothing is touched before the fork: every page is first touched by one side and
	 * must be seen by the other */
	volatile int *shared = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	size_t words = PAGE / sizeof(int);
	int to_child[2];
	CHECK_OK(pipe(to_child));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(to_child[1]);
		shared[1 * words] = 11;
		shared[3 * words + 5] = 33;
		/* wait for the parent's write to page 2, then for its munmap */
		char byte;
		if (read(to_child[0], &byte, 1) != 1 || shared[2 * words] != 22)
			_exit(1);
		if (read(to_child[0], &byte, 1) != 1)
			_exit(2);
		/* the parent unmapped everything: the pages live on here, and a page first
		 * touched now still works */
		if (shared[1 * words] != 11 || shared[2 * words] != 22 || shared[0] != 0)
			_exit(3);
		shared[0] = 44;
		_exit(shared[0] == 44 ? 0 : 4);
	}
	close(to_child[0]);
	for (int spins = 0; spins < 5000 && shared[3 * words + 5] != 33; spins++)
		usleep(1000);
	CHECK_EQ(shared[1 * words], 11);
	CHECK_EQ(shared[3 * words + 5], 33);
	shared[2 * words] = 22;
	CHECK_EQ(write(to_child[1], "a", 1), 1);
	CHECK_OK(munmap((void *)shared, 4 * PAGE));
	CHECK_EQ(write(to_child[1], "b", 1), 1);
	close(to_child[1]);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}

/* futex operations without FUTEX_PRIVATE_FLAG (128): shared between processes */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

static long shared_futex(volatile int *address, int operation, int value)
{
	return syscall(SYS_futex, address, operation, value, NULL, NULL, 0);
}

/* Wakes one waiter on `address`, retrying until one was there (the other process may
 * not have reached its wait yet); returns how many it woke. */
static long wake_one_waiter(volatile int *address)
{
	long woken = 0;
	for (int attempt = 0; attempt < 5000 && woken == 0; attempt++) {
		woken = shared_futex(address, FUTEX_WAKE, 1);
		if (woken == 0)
			usleep(1000);
	}
	return woken;
}

static void test_memory_shared_futex_across_fork(void)
{
	/* futexes without FUTEX_PRIVATE_FLAG in MAP_SHARED memory: parent and child wake
	 * each other; the words never change, so only a real wake ends a wait */
	volatile int *words = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				   -1, 0);
	CHECK(words != MAP_FAILED);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		long waited = shared_futex(&words[0], FUTEX_WAIT, 0);
		words[1] = waited == 0 ? 1 : 2;
		long woken = wake_one_waiter(&words[2]);
		_exit(waited == 0 && woken == 1 ? 0 : 1);
	}
	CHECK_EQ(wake_one_waiter(&words[0]), 1);
	CHECK_EQ(shared_futex(&words[2], FUTEX_WAIT, 0), 0);
	CHECK_EQ(words[1], 1);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	munmap((void *)words, PAGE);
}

/* MemFree from /proc/meminfo, in KiB, or -1. */
static long memory_free_kib(long *total_kib)
{
	int fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		return -1;
	char text[2048];
	ssize_t length = read(fd, text, sizeof text - 1);
	close(fd);
	if (length <= 0)
		return -1;
	text[length] = 0;
	const char *total = strstr(text, "MemTotal:");
	const char *free = strstr(text, "MemFree:");
	if (!total || !free)
		return -1;
	*total_kib = strtol(total + strlen("MemTotal:"), NULL, 10);
	return strtol(free + strlen("MemFree:"), NULL, 10);
}

#define HOG_CHUNK (64UL << 20)
#define HOG_EXIT_ENOMEM 12

/* Forks a child that touches fresh anonymous pages until mmap fails or the kernel kills
 * it (it gives up, exiting 1, after twice the machine's memory); returns its wait status. */
static int run_memory_hog(long total_kib)
{
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		unsigned long limit = 2UL * (unsigned long)total_kib * 1024;
		for (unsigned long eaten = 0; eaten < limit; eaten += HOG_CHUNK) {
			char *chunk = mmap(NULL, HOG_CHUNK, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (chunk == MAP_FAILED)
				_exit(errno == ENOMEM ? HOG_EXIT_ENOMEM : 2);
			for (unsigned long offset = 0; offset < HOG_CHUNK; offset += PAGE)
				chunk[offset] = 1;
		}
		_exit(1);
	}
	int status;
	if (waitpid(child, &status, 0) != child)
		return -1;
	return status;
}

static void test_memory_hog(void)
{
	if (getauxval(AT_SYSINFO_EHDR) == 0) {
		/* under qemu-user the hog would eat the host's memory */
		tl_skip("memory hog not run under qemu-user (no vDSO)");
		return;
	}
	long total_kib = 0;
	long free_before = memory_free_kib(&total_kib);
	CHECK(free_before > 0 && total_kib > 0);
	int status = run_memory_hog(total_kib);
	CHECK_MSG((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
			  (WIFEXITED(status) && WEXITSTATUS(status) == HOG_EXIT_ENOMEM),
		  "hog status %#x", status);
	/* its memory came back, less what the system may keep for reuse (page tables and
	 * capability slots made for its pages: about 3% of memory here) */
	long free_after = memory_free_kib(&total_kib);
	long tolerance = total_kib / 16;
	CHECK_MSG(free_after >= free_before - tolerance,
		  "MemFree %ld kB before the hog, %ld kB after (tolerance %ld kB)", free_before,
		  free_after, tolerance);
	/* and what was kept is reused: a second hog leaves as much free as the first did */
	status = run_memory_hog(total_kib);
	CHECK_MSG((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
			  (WIFEXITED(status) && WEXITSTATUS(status) == HOG_EXIT_ENOMEM),
		  "second hog status %#x", status);
	long free_again = memory_free_kib(&total_kib);
	CHECK_MSG(free_again >= free_after - total_kib / 256,
		  "MemFree %ld kB after the first hog, %ld kB after the second", free_after,
		  free_again);
	/* and the system still runs programs */
	pid_t other = fork();
	CHECK(other >= 0);
	if (other == 0) {
		char *arguments[] = {"/bin/true", NULL};
		execv(arguments[0], arguments);
		_exit(127);
	}
	CHECK_EQ(waitpid(other, &status, 0), other);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "/bin/true status %#x", status);
}

#define FORKER_PAGES 65536 /* 256 MiB */
#define FORKER_CHILDREN 48

/* A process with many pages forks children that sleep until a pipe closes: every fork
 * maps every page once more (copy-on-write), which costs the system bookkeeping (here
 * the process server's heap runs short after about 18 forks), not frames. Forks may fail
 * (ENOMEM, EAGAIN) once that runs short; nothing else may. Exits 0 if so, and the number
 * of the first problem otherwise. */
static int fork_many_copies(void)
{
	char *memory = mmap(NULL, FORKER_PAGES * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED)
		return 2;
	for (unsigned long page = 0; page < FORKER_PAGES; page++)
		memory[page * PAGE] = (char)page;
	int hold[2];
	if (pipe(hold) != 0)
		return 3;
	int children = 0;
	int result = 0;
	for (; children < FORKER_CHILDREN; children++) {
		pid_t child = fork();
		if (child < 0) {
			if (errno != ENOMEM && errno != EAGAIN)
				result = 4;
			break;
		}
		if (child == 0) {
			close(hold[1]);
			char byte;
			/* a copy still reads the parent's bytes */
			int same = memory[12345 * PAGE] == (char)12345;
			_exit(read(hold[0], &byte, 1) == 0 && same ? 0 : 1);
		}
	}
	close(hold[1]);
	for (int index = 0; index < children; index++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			result = result ? result : 5;
	}
	return result;
}

static void test_memory_fork_copies_until_bookkeeping_runs_short(void)
{
	if (getauxval(AT_SYSINFO_EHDR) == 0) {
		tl_skip("not run under qemu-user (no vDSO): 12 GiB of copy-on-write mappings");
		return;
	}
	pid_t forker = fork();
	CHECK(forker >= 0);
	if (forker == 0)
		_exit(fork_many_copies());
	int status;
	CHECK_EQ(waitpid(forker, &status, 0), forker);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forker status %#x", status);
	pid_t other = fork();
	CHECK(other >= 0);
	if (other == 0) {
		char *arguments[] = {"/bin/true", NULL};
		execv(arguments[0], arguments);
		_exit(127);
	}
	CHECK_EQ(waitpid(other, &status, 0), other);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "/bin/true status %#x", status);
}

static volatile char *stack_low_water;

__attribute__((noinline)) static int deep_stack(int depth)
{
	volatile char frame[16 * 1024];
	frame[0] = (char)depth;
	frame[sizeof frame - 1] = (char)depth;
	stack_low_water = frame;
	if (depth == 0)
		return frame[0];
	return deep_stack(depth - 1) + frame[sizeof frame - 1] - depth;
}

static void test_memory_stack_grows_on_demand(void)
{
	volatile char top;
	/* 64 frames of 16 KiB: 1 MiB of stack, far past the initially touched pages */
	CHECK_EQ(deep_stack(64), 0);
	CHECK_MSG((char *)&top - (char *)stack_low_water >= 1000 * 1024,
		  "stack only reached %ld bytes", (long)((char *)&top - (char *)stack_low_water));
}

static void test_memory_large_malloc(void)
{
	size_t length = 8 << 20;
	unsigned char *block = malloc(length);
	CHECK(block != NULL);
	for (size_t index = 0; index < length; index += PAGE)
		block[index] = (unsigned char)(index >> 12);
	for (size_t index = 0; index < length; index += PAGE)
		CHECK_EQ(block[index], (unsigned char)(index >> 12));
	free(block);
}

int main(void)
{
	snprintf(scratch, sizeof scratch, "/tmp/mt-%d", (int)getpid());
	if (mkdir(scratch, 0755) != 0) {
		tl_name = "memory_setup";
		tl_fail("mkdir %s: %s", scratch, strerror(errno));
		return 1;
	}
	RUN(memory_brk_grow_shrink);
	RUN(memory_mmap_anonymous_private);
	RUN(memory_mmap_shared_and_private_across_fork);
	RUN(memory_map_fixed_replaces);
	RUN(memory_file_private_mapping);
	RUN(memory_file_shared_mapping);
	RUN(memory_munmap_then_access_sigsegv);
	RUN(memory_mprotect_readonly_write_sigsegv);
	RUN(memory_mremap_grow_move);
	RUN(memory_mremap_duplicates_a_shared_mapping);
	RUN(memory_madvise_dontneed_zeroes);
	RUN(memory_touch_1000_pages);
	RUN(memory_map_past_eof_sigbus);
	RUN(memory_mmap_errors);
	RUN(memory_mprotect_shared_file_upgrade);
	RUN(memory_truncate_mapped_file_sigbus);
	RUN(memory_stack_grows_on_demand);
	RUN(memory_large_malloc);
	RUN(memory_shared_pages_touched_after_fork);
	RUN(memory_shared_futex_across_fork);
	RUN(memory_fork_copies_until_bookkeeping_runs_short);
	RUN(memory_hog);
	rmdir(scratch);
	return tl_finish();
}
