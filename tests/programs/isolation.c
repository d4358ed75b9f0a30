/* isolation.c: one process cannot reach another's memory, the root task's or the
 * kernel's, nor use a capability.
 *
 * - After fork, each side's writes stay its own: data, bss, heap, stack, MAP_PRIVATE
 *   anonymous (touched before fork and not), MAP_PRIVATE file-backed.
 * - process_vm_readv/process_vm_writev and ptrace are refused (ENOSYS or EPERM);
 *   /proc/<pid>/mem cannot be opened or read.
 * - The root task's addresses (its image at 0x400000..0xb8b000 per root-task/link.ld and
 *   its ELF, its heap at 0x40_0000_0000, its frame window at 0x80_0000_0000) and the
 *   kernel's (0xffff_0000_0000_0000, 0xffff_ff80_0000_0000) fault with SIGSEGV when not
 *   this process's own mappings, and give EFAULT as system-call buffers.
 * - `svc #0` with x7 holding an seL4 system call number (Call -1 ... ) and a cap pointer
 *   in x0 is a Linux system call by x8: getpid answers the pid, an unknown number
 *   ENOSYS, and nothing else happens. hvc/smc at EL0 are undefined instructions (SIGILL);
 *   of the system registers only reads of the ID registers work (emulated, HWCAP_CPUID).
 * - The vDSO text and the vvar page cannot be written (SIGSEGV); mprotect to writable is
 *   refused (EACCES here; Linux allows it on [vdso] as a private copy-on-write, which
 *   this test also accepts), and neither that, MAP_FIXED over them, nor madvise reaches
 *   another process: a program executed afterwards has an intact vDSO that works. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "testlib.h"

#define PAGE 4096UL

static char self_path[256] = "/bin/isolation";

/* Fork isolation ------------------------------------------------------------------ */

static char data_region[PAGE] = {1};
static char bss_region[PAGE];

enum { REGIONS = 8 };

struct regions {
	volatile char *at[REGIONS];
	const char *name[REGIONS];
};

static int channel_to_child[2];
static int channel_to_parent[2];

static void fill(struct regions *regions, int count, char value)
{
	for (int index = 0; index < count; index++)
		for (int offset = 0; offset < 64; offset++)
			regions->at[index][offset * 61] = value;
}

/* The index of the first region not all `value`, or -1. */
static int first_differing(struct regions *regions, int count, char value)
{
	for (int index = 0; index < count; index++)
		for (int offset = 0; offset < 64; offset++)
			if (regions->at[index][offset * 61] != value)
				return index;
	return -1;
}

static int wait_byte(int descriptor)
{
	char byte = 0;
	return read(descriptor, &byte, 1) == 1 ? byte : -1;
}

static void send_byte(int descriptor, char byte)
{
	ssize_t written = write(descriptor, &byte, 1);
	(void)written;
}

static void test_isolation_fork_writes_stay_private(void)
{
	volatile char stack_region[PAGE];
	char *heap_region = malloc(8 * PAGE);
	CHECK(heap_region != NULL);
	char *touched = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	CHECK(touched != MAP_FAILED);
	char *untouched = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(untouched != MAP_FAILED);
	char path[64];
	snprintf(path, sizeof path, "/tmp/is-%d", getpid());
	mkdir("/tmp", 0755);
	int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(file >= 0);
	CHECK_OK(ftruncate(file, 4 * PAGE));
	char *file_map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
	CHECK(file_map != MAP_FAILED);
	struct regions regions = {
		.at = {data_region, bss_region, heap_region + PAGE, stack_region, touched,
		       file_map, untouched, touched + 3 * PAGE},
		.name = {"data", "bss", "heap", "stack", "private anonymous",
			 "private file", "untouched anonymous", "private anonymous page 3"},
	};
	/* Everything but `untouched` holds 'A' before fork; untouched stays 0. */
	fill(&regions, 6, 'A');
	regions.at[7][0] = 0;
	CHECK_OK(pipe(channel_to_child));
	CHECK_OK(pipe(channel_to_parent));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* Exit status: 0 ok, 10 + index for a region that saw the parent's write,
		 * 40 for a lost channel. */
		if (wait_byte(channel_to_child[0]) != 'P')
			_exit(40);
		int differing = first_differing(&regions, 6, 'A');
		if (differing >= 0)
			_exit(10 + differing);
		if (regions.at[6][0] != 0 || regions.at[7][0] != 0)
			_exit(16);
		fill(&regions, 8, 'C');
		send_byte(channel_to_parent[1], 'C');
		if (wait_byte(channel_to_child[0]) != 'Q')
			_exit(41);
		/* The parent has written 'R' everywhere after our 'C'. */
		differing = first_differing(&regions, 8, 'C');
		_exit(differing >= 0 ? 20 + differing : 0);
	}
	fill(&regions, 8, 'P');
	send_byte(channel_to_child[1], 'P');
	CHECK_EQ(wait_byte(channel_to_parent[0]), 'C');
	int differing = first_differing(&regions, 8, 'P');
	CHECK_MSG(differing < 0, "the child's write reached the parent's %s",
		  differing >= 0 ? regions.name[differing] : "");
	fill(&regions, 8, 'R');
	send_byte(channel_to_child[1], 'Q');
	int status = 0;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (10+i: saw the parent's write before its own, 20+i: after; "
		  "i indexes data, bss, heap, stack, anonymous, file, untouched, page 3)",
		  status);
	/* The file itself was never written (MAP_PRIVATE). */
	char byte = 1;
	CHECK_EQ(pread(file, &byte, 1, 0), 1);
	CHECK_EQ(byte, 0);
	close(file);
	unlink(path);
	munmap(touched, 4 * PAGE);
	munmap(untouched, 4 * PAGE);
	munmap(file_map, 4 * PAGE);
	free(heap_region);
	close(channel_to_child[0]);
	close(channel_to_child[1]);
	close(channel_to_parent[0]);
	close(channel_to_parent[1]);
}

/* Debugging interfaces ------------------------------------------------------------ */

/* Linux lets a process of the same user read its child with process_vm_readv and ptrace;
 * this system has no such interface at all, by design. So the case asserts this system's
 * rule, and skips under qemu-user (Linux semantics), told apart by the missing vDSO. */
static void test_isolation_no_cross_process_access(void)
{
	SKIP_WITHOUT_VDSO();
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	char remote[16] = {0};
	char local[16] = {0};
	struct iovec local_vector = {local, sizeof local};
	struct iovec remote_vector = {remote, sizeof remote};
	errno = 0;
	long result = syscall(SYS_process_vm_readv, child, &local_vector, 1, &remote_vector, 1, 0);
	int read_errno = errno;
	errno = 0;
	long write_result =
		syscall(SYS_process_vm_writev, child, &local_vector, 1, &remote_vector, 1, 0);
	int write_errno = errno;
	errno = 0;
	long attach = ptrace(PTRACE_ATTACH, child, 0, 0);
	int attach_errno = errno;
	errno = 0;
	long peek = ptrace(PTRACE_PEEKDATA, child, (void *)remote, 0);
	int peek_errno = errno;
	char mem_path[64];
	snprintf(mem_path, sizeof mem_path, "/proc/%d/mem", child);
	int mem = open(mem_path, O_RDONLY);
	ssize_t mem_read = -1;
	if (mem >= 0) {
		mem_read = pread(mem, local, sizeof local, (off_t)(uintptr_t)remote);
		close(mem);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK_MSG(result == -1 && (read_errno == ENOSYS || read_errno == EPERM),
		  "process_vm_readv: %ld errno %d", result, read_errno);
	CHECK_MSG(write_result == -1 && (write_errno == ENOSYS || write_errno == EPERM),
		  "process_vm_writev: %ld errno %d", write_result, write_errno);
	CHECK_MSG(attach == -1 && (attach_errno == ENOSYS || attach_errno == EPERM),
		  "ptrace(PTRACE_ATTACH): %ld errno %d", attach, attach_errno);
	CHECK_MSG(peek == -1 && (peek_errno == ENOSYS || peek_errno == EPERM ||
				 peek_errno == ESRCH),
		  "ptrace(PTRACE_PEEKDATA): %ld errno %d", peek, peek_errno);
	CHECK_MSG(mem_read < 0, "/proc/%d/mem read %zd bytes", child, mem_read);
	/* Our own memory file is no way in either. */
	mem = open("/proc/self/mem", O_RDONLY);
	mem_read = -1;
	if (mem >= 0) {
		mem_read = pread(mem, local, sizeof local, (off_t)(uintptr_t)data_region);
		close(mem);
	}
	CHECK_MSG(mem_read < 0, "/proc/self/mem read %zd bytes", mem_read);
}

/* Foreign addresses --------------------------------------------------------------- */

static const uint64_t foreign_addresses[] = {
	0x400000,             /* root task text (root-task/link.ld) */
	0x46f000,             /* root task read-only data */
	0x749000,             /* root task data */
	0xb8a000,             /* root task bss, last page */
	0x4000000000ULL,      /* root task heap (HEAP_BASE) */
	0x8000000000ULL,      /* root task frame window (WINDOW_BASE) */
	0x8000001000ULL,      /* ... its second frame */
	0xffff000000000000ULL, /* kernel, lowest */
	0xffffff8000000000ULL, /* kernel window */
	0xfffffffffffff000ULL, /* kernel, last page */
};

/* True if `address` is inside one of this process's own mappings. */
static int own_mapping(uint64_t address)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return 0;
	char line[256];
	int found = 0;
	while (fgets(line, sizeof line, maps)) {
		unsigned long long start = 0, end = 0;
		if (sscanf(line, "%llx-%llx", &start, &end) == 2 && address >= start &&
		    address < end)
			found = 1;
	}
	fclose(maps);
	return found;
}

static volatile uint64_t probe_address;
static volatile uint64_t sink;

static void probe_read(void)
{
	sink = *(volatile uint64_t *)(uintptr_t)probe_address;
}

static void probe_write(void)
{
	*(volatile uint64_t *)(uintptr_t)probe_address = 0x5afe5afe5afe5afeULL;
}

static void probe_execute(void)
{
	((void (*)(void))(uintptr_t)probe_address)();
}

static void test_isolation_foreign_addresses_fault(void)
{
	int tried = 0;
	for (size_t index = 0; index < sizeof foreign_addresses / sizeof *foreign_addresses;
	     index++) {
		probe_address = foreign_addresses[index];
		if (own_mapping(probe_address))
			continue;
		tried++;
		void (*probes[])(void) = {probe_read, probe_write, probe_execute};
		const char *kinds[] = {"read", "write", "execute"};
		for (int kind = 0; kind < 3; kind++) {
			int status = tl_in_child(probes[kind]);
			CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
				  "%s at %#llx: status %#x, expected SIGSEGV", kinds[kind],
				  (unsigned long long)probe_address, status);
		}
	}
	CHECK(tried >= 6);
}

static void test_isolation_foreign_addresses_efault(void)
{
	int channel[2];
	CHECK_OK(pipe(channel));
	int zero = open("/dev/zero", O_RDONLY);
	CHECK(zero >= 0);
	for (size_t index = 0; index < sizeof foreign_addresses / sizeof *foreign_addresses;
	     index++) {
		uint64_t address = foreign_addresses[index];
		if (own_mapping(address))
			continue;
		void *pointer = (void *)(uintptr_t)address;
		errno = 0;
		ssize_t wrote = write(channel[1], pointer, 16);
		CHECK_MSG(wrote == -1 && errno == EFAULT, "write from %#llx: %zd errno %d",
			  (unsigned long long)address, wrote, errno);
		errno = 0;
		ssize_t got = read(zero, pointer, 16);
		CHECK_MSG(got == -1 && errno == EFAULT, "read into %#llx: %zd errno %d",
			  (unsigned long long)address, got, errno);
		struct timespec *time_pointer = pointer;
		errno = 0;
		int clock = (int)syscall(SYS_clock_gettime, CLOCK_MONOTONIC, time_pointer);
		CHECK_MSG(clock == -1 && errno == EFAULT, "clock_gettime into %#llx: %d errno %d",
			  (unsigned long long)address, clock, errno);
	}
	close(zero);
	close(channel[0]);
	close(channel[1]);
}

/* seL4 system calls ---------------------------------------------------------------- */

/* svc #0 with x7 = seL4 number, x0 = cap, x1..x6 as given, x8 = Linux number. */
static long sel4_style_call(long sel4_number, uint64_t cap, uint64_t linux_number)
{
	register uint64_t x0 __asm__("x0") = cap;
	register uint64_t x1 __asm__("x1") = 4; /* an seL4 MessageInfo: 4 words */
	register uint64_t x2 __asm__("x2") = 0x1111;
	register uint64_t x3 __asm__("x3") = 0x2222;
	register uint64_t x4 __asm__("x4") = 0x3333;
	register uint64_t x5 __asm__("x5") = 0x4444;
	register uint64_t x6 __asm__("x6") = 0x5555;
	register uint64_t x7 __asm__("x7") = (uint64_t)sel4_number;
	register uint64_t x8 __asm__("x8") = linux_number;
	__asm__ volatile("svc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6),
			   "+r"(x7)
			 : "r"(x8)
			 : "memory", "cc");
	return (long)x0;
}

static void test_isolation_sel4_calls_are_linux_calls(void)
{
	pid_t pid = getpid();
	/* seL4 16.0.0: Call -1, ReplyRecv -2, Send -3, NBSend -4, Recv -5, Reply -6,
	 * Yield -7, NBRecv -8; the debug calls follow below. */
	for (long sel4_number = -1; sel4_number >= -14; sel4_number--) {
		for (uint64_t cap = 0; cap <= 64; cap++) {
			long answer = sel4_style_call(sel4_number, cap, SYS_getpid);
			CHECK_MSG(answer == pid, "x7=%ld x0=%llu x8=getpid: %ld, expected %d",
				  sel4_number, (unsigned long long)cap, answer, pid);
			answer = sel4_style_call(sel4_number, cap, 4095);
			CHECK_MSG(answer == -ENOSYS, "x7=%ld x0=%llu x8=4095: %ld, expected -ENOSYS",
				  sel4_number, (unsigned long long)cap, answer);
			answer = sel4_style_call(sel4_number, cap, (uint64_t)sel4_number);
			CHECK_MSG(answer == -ENOSYS, "x7=x8=%ld x0=%llu: %ld, expected -ENOSYS",
				  sel4_number, (unsigned long long)cap, answer);
		}
	}
}

static void child_nothing(void)
{
}

static void test_isolation_sel4_calls_change_nothing(void)
{
	pid_t pid = getpid();
	for (long sel4_number = -1; sel4_number >= -14; sel4_number--)
		for (uint64_t cap = 0; cap <= 64; cap++)
			sel4_style_call(sel4_number, cap, 4095);
	CHECK_EQ(getpid(), pid);
	int status = tl_in_child(child_nothing);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork after: status %#x",
		  status);
	struct timespec now;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &now));
}

static void hypervisor_call(void)
{
	__asm__ volatile("hvc #0" ::: "memory");
}

static void secure_monitor_call(void)
{
	__asm__ volatile("smc #0" ::: "memory");
}

static void test_isolation_hvc_smc_are_undefined(void)
{
	int status = tl_in_child(hypervisor_call);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGILL, "hvc: status %#x", status);
	status = tl_in_child(secure_monitor_call);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGILL, "smc: status %#x", status);
}

static void read_sctlr(void)
{
	uint64_t value;
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(value)::"memory");
}

static void write_midr(void)
{
	/* msr midr_el1, x0: a write to the ID space is never emulated. */
	__asm__ volatile(".inst 0xd5180000" ::: "memory");
}

static void test_isolation_system_registers(void)
{
	/* Reads of the ID registers are emulated (HWCAP_CPUID); nothing else is. */
	CHECK(getauxval(AT_HWCAP) & (1UL << 11));
	uint64_t midr, mpidr;
	__asm__ volatile("mrs %0, midr_el1" : "=r"(midr));
	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
	CHECK_MSG(midr >> 24 != 0 && midr >> 32 == 0, "MIDR %#llx", (unsigned long long)midr);
	CHECK_EQ(mpidr, 0x80000000);
	int status = tl_in_child(read_sctlr);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGILL, "sctlr: status %#x", status);
	status = tl_in_child(write_midr);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGILL, "midr: status %#x", status);
}

/* The vDSO ------------------------------------------------------------------------- */

static uint64_t vdso_base;
static uint64_t vvar_base;

static int find_named_mapping(const char *name, uint64_t *start)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	char line[256];
	int found = -1;
	while (fgets(line, sizeof line, maps)) {
		unsigned long long from = 0, to = 0;
		if (strstr(line, name) && sscanf(line, "%llx-%llx", &from, &to) == 2) {
			*start = from;
			found = 0;
			break;
		}
	}
	fclose(maps);
	return found;
}

/* FNV-1a over the first page of the vDSO. */
static uint64_t vdso_hash(uint64_t base)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (uint64_t offset = 0; offset < PAGE; offset++) {
		hash ^= *(volatile unsigned char *)(uintptr_t)(base + offset);
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

/* `isolation --vdso-hash`: prints the hash of its own vDSO's first page, or 0, and
 * whether CLOCK_MONOTONIC through it works. */
static int report_vdso_hash(void)
{
	uint64_t base = getauxval(AT_SYSINFO_EHDR);
	struct timespec first, second;
	int clock_ok = base && clock_gettime(CLOCK_MONOTONIC, &first) == 0 &&
		       clock_gettime(CLOCK_MONOTONIC, &second) == 0 &&
		       (first.tv_sec > 0 || first.tv_nsec > 0) &&
		       (second.tv_sec > first.tv_sec ||
			(second.tv_sec == first.tv_sec && second.tv_nsec >= first.tv_nsec));
	printf("%llu %d\n", (unsigned long long)(base ? vdso_hash(base) : 0), clock_ok);
	return 0;
}

/* Runs `self --vdso-hash` and parses its answer. */
static int exec_vdso_hash(uint64_t *hash, int *clock_ok)
{
	int channel[2];
	if (pipe(channel) != 0)
		return -1;
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		dup2(channel[1], 1);
		close(channel[0]);
		char *arguments[] = {self_path, "--vdso-hash", NULL};
		char *environment[] = {NULL};
		execve(self_path, arguments, environment);
		_exit(127);
	}
	close(channel[1]);
	char text[64] = {0};
	ssize_t got = read(channel[0], text, sizeof text - 1);
	close(channel[0]);
	int status = 0;
	waitpid(child, &status, 0);
	unsigned long long value = 0;
	if (got <= 0 || sscanf(text, "%llu %d", &value, clock_ok) != 2)
		return -1;
	*hash = value;
	return 0;
}

static void write_vdso_text(void)
{
	*(volatile char *)(uintptr_t)(vdso_base + 16) = 0x42;
}

static void write_vvar(void)
{
	*(volatile uint64_t *)(uintptr_t)vvar_base = 0x4242424242424242ULL;
}

/* In a child: every way of getting write access to the vDSO pages; each that
 * succeeds then writes. Exit 0 always (the parent checks the effects elsewhere). */
static void tamper_with_vdso(void)
{
	if (mprotect((void *)(uintptr_t)vdso_base, PAGE, PROT_READ | PROT_WRITE) == 0)
		*(volatile char *)(uintptr_t)(vdso_base + 8) = 0x42;
	if (mprotect((void *)(uintptr_t)vvar_base, PAGE, PROT_READ | PROT_WRITE) == 0)
		*(volatile uint64_t *)(uintptr_t)vvar_base = 0x4242424242424242ULL;
	madvise((void *)(uintptr_t)vdso_base, PAGE, MADV_DONTNEED);
	madvise((void *)(uintptr_t)vvar_base, PAGE, MADV_DONTNEED);
	void *over = mmap((void *)(uintptr_t)vdso_base, PAGE, PROT_READ | PROT_WRITE,
			  MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (over != MAP_FAILED)
		memset(over, 0x42, PAGE);
	over = mmap((void *)(uintptr_t)vvar_base, PAGE, PROT_READ | PROT_WRITE,
		    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (over != MAP_FAILED)
		memset(over, 0x42, PAGE);
	_exit(0);
}

static void use_vdso_after_madvise(void)
{
	madvise((void *)(uintptr_t)vdso_base, PAGE, MADV_DONTNEED);
	madvise((void *)(uintptr_t)vvar_base, PAGE, MADV_DONTNEED);
	struct timespec first, second;
	if (clock_gettime(CLOCK_MONOTONIC, &first) != 0 ||
	    clock_gettime(CLOCK_MONOTONIC, &second) != 0)
		_exit(1);
	if (second.tv_sec < first.tv_sec ||
	    (second.tv_sec == first.tv_sec && second.tv_nsec < first.tv_nsec))
		_exit(2);
	if (memcmp((void *)(uintptr_t)vdso_base, ELFMAG, SELFMAG) != 0)
		_exit(3);
}

static void test_isolation_vdso_unwritable(void)
{
	SKIP_WITHOUT_VDSO();
	vdso_base = getauxval(AT_SYSINFO_EHDR);
	CHECK(find_named_mapping("[vvar]", &vvar_base) == 0);
	uint64_t original = vdso_hash(vdso_base);
	int status = tl_in_child(write_vdso_text);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "vDSO write: status %#x",
		  status);
	status = tl_in_child(write_vvar);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "vvar write: status %#x",
		  status);
	errno = 0;
	int protect = mprotect((void *)(uintptr_t)vdso_base, PAGE, PROT_READ | PROT_WRITE);
	if (protect == 0) {
		/* Linux's way: a private copy; put it back. */
		CHECK_OK(mprotect((void *)(uintptr_t)vdso_base, PAGE, PROT_READ | PROT_EXEC));
	} else {
		CHECK_MSG(errno == EACCES, "mprotect(vDSO, RW): errno %d", errno);
	}
	errno = 0;
	protect = mprotect((void *)(uintptr_t)vvar_base, PAGE, PROT_READ | PROT_WRITE);
	CHECK_MSG(protect == -1 && errno == EACCES, "mprotect(vvar, RW): %d errno %d", protect,
		  errno);
	status = tl_in_child(tamper_with_vdso);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tampering child: status %#x",
		  status);
	status = tl_in_child(use_vdso_after_madvise);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "vDSO after MADV_DONTNEED: status %#x", status);
	/* Ours is intact, and so is a new program's (whose vDSO is the same image). */
	CHECK_EQ(vdso_hash(vdso_base), original);
	uint64_t other = 0;
	int clock_ok = 0;
	CHECK(exec_vdso_hash(&other, &clock_ok) == 0);
	CHECK_MSG(other == original, "a new program's vDSO hash %#llx, ours %#llx",
		  (unsigned long long)other, (unsigned long long)original);
	CHECK_MSG(clock_ok, "CLOCK_MONOTONIC through a new program's vDSO failed");
	struct timespec now;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &now));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--vdso-hash") == 0)
		return report_vdso_hash();
	ssize_t length = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (length > 0)
		self_path[length] = 0;
	else if (argc > 0 && strlen(argv[0]) < sizeof self_path)
		strcpy(self_path, argv[0]);
	RUN(isolation_fork_writes_stay_private);
	RUN(isolation_no_cross_process_access);
	RUN(isolation_foreign_addresses_fault);
	RUN(isolation_foreign_addresses_efault);
	RUN(isolation_sel4_calls_are_linux_calls);
	RUN(isolation_sel4_calls_change_nothing);
	RUN(isolation_hvc_smc_are_undefined);
	RUN(isolation_system_registers);
	RUN(isolation_vdso_unwritable);
	return tl_finish();
}
