/* vdso.c: the vDSO as its consumers see it: found through AT_SYSINFO_EHDR, walked the way
 * musl and Go walk it, its functions called directly, its [vdso] and [vvar] mappings in
 * /proc/self/maps (the [vdso] bytes are dumped to argv[1], default /tmp/vdso.dump, and as
 * hex lines on stdout for the host checker), write protection, a new base at every exec,
 * setting the wall clock (both paths see it at once), CLOCK_REALTIME against the host's
 * clock, monotonicity, and the sigreturn trampoline.
 * Without a vDSO (qemu-user) the vDSO cases SKIP; the /proc/self/maps format and the libc
 * time fallback still run.
 *
 * `vdso --without-vdso` runs another case set instead, for a system booted with a /vdso.so
 * the process server refused: no AT_SYSINFO_EHDR, and every clock still works through the
 * system call.
 *
 * Host time: vdso_realtime_matches_host prints `HOST_REALTIME?` and reads the host's Unix
 * time (`<seconds>.<nanoseconds>`) from stdin, which the test harness types in. With
 * VDSO_HOST_REALTIME=required in the environment (the harness sets it) a missing answer
 * fails the case; without it the case SKIPs, so the program can be run by hand. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "testlib.h"
#include "vdsolib.h"

#define VERSION "LINUX_2.6.39"

#ifndef DT_RELR
#define DT_RELR 36
#endif
#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif
#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#endif

static const char *const exports[] = {"__kernel_clock_gettime", "__kernel_gettimeofday",
				      "__kernel_clock_getres", "__kernel_rt_sigreturn"};
#define EXPORT_COUNT (sizeof exports / sizeof exports[0])

static const char *dump_path = "/tmp/vdso.dump";
static char self[256];

struct mapping {
	uintptr_t start, end;
	char permissions[5];
	unsigned long offset, inode;
	char name[256];
};

/* Parses one /proc/<pid>/maps line; returns 0 on success. */
static int parse_maps_line(const char *line, struct mapping *mapping)
{
	unsigned int major, minor;
	int consumed = 0;
	memset(mapping, 0, sizeof *mapping);
	if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &mapping->start, &mapping->end,
		   mapping->permissions, &mapping->offset, &major, &minor, &mapping->inode,
		   &consumed) < 7)
		return -1;
	const char *name = line + consumed;
	while (*name == ' ')
		name++;
	snprintf(mapping->name, sizeof mapping->name, "%s", name);
	size_t length = strlen(mapping->name);
	if (length && mapping->name[length - 1] == '\n')
		mapping->name[length - 1] = 0;
	return 0;
}

/* Reads the whole of /proc/self/maps into buffer (NUL-terminated); returns its length. */
static long read_maps(char *buffer, size_t size)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return -1;
	size_t have = 0;
	for (;;) {
		ssize_t count = read(fd, buffer + have, size - 1 - have);
		if (count <= 0)
			break;
		have += (size_t)count;
		if (have == size - 1)
			break;
	}
	close(fd);
	buffer[have] = 0;
	return (long)have;
}

/* Finds the mapping named `name` (or containing `address` when name is NULL). */
static int find_mapping(const char *name, uintptr_t address, struct mapping *found)
{
	static char maps[65536];
	if (read_maps(maps, sizeof maps) <= 0)
		return -1;
	for (char *line = maps; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		struct mapping mapping;
		if (parse_maps_line(line, &mapping) == 0) {
			if (name ? strcmp(mapping.name, name) == 0
				 : (address >= mapping.start && address < mapping.end)) {
				*found = mapping;
				return 0;
			}
		}
		line = next;
	}
	return -1;
}

static const Elf64_Phdr *program_header(uintptr_t header_address, int type)
{
	const Elf64_Ehdr *header = (const Elf64_Ehdr *)header_address;
	const Elf64_Phdr *headers = (const Elf64_Phdr *)(header_address + header->e_phoff);
	for (int index = 0; index < header->e_phnum; index++)
		if ((int)headers[index].p_type == type)
			return &headers[index];
	return NULL;
}

/* ---- cases ---- */

static void test_vdso_elf_header_and_segments(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	CHECK_EQ(base % 4096, 0);
	const Elf64_Ehdr *header = (const Elf64_Ehdr *)base;
	CHECK(memcmp(header->e_ident, ELFMAG, SELFMAG) == 0);
	CHECK_EQ(header->e_ident[EI_CLASS], ELFCLASS64);
	CHECK_EQ(header->e_ident[EI_DATA], ELFDATA2LSB);
	CHECK_EQ(header->e_type, ET_DYN);
	CHECK_EQ(header->e_machine, EM_AARCH64);
	CHECK_EQ(header->e_phentsize, sizeof(Elf64_Phdr));
	const Elf64_Phdr *headers = (const Elf64_Phdr *)(base + header->e_phoff);
	int loads = 0;
	for (int index = 0; index < header->e_phnum; index++) {
		CHECK(headers[index].p_type != PT_INTERP && headers[index].p_type != PT_TLS);
		if (headers[index].p_type == PT_LOAD)
			loads++;
	}
	CHECK_EQ(loads, 1);
	const Elf64_Phdr *load = program_header(base, PT_LOAD);
	CHECK_EQ(load->p_offset, 0);
	CHECK_EQ(load->p_vaddr, 0);
	CHECK_EQ(load->p_flags, PF_R | PF_X);
	CHECK_EQ(load->p_filesz, load->p_memsz);
	const Elf64_Phdr *dynamic = program_header(base, PT_DYNAMIC);
	CHECK(dynamic != NULL);
	CHECK_EQ(dynamic->p_flags & PF_W, 0);
	CHECK_EQ(dynamic->p_offset, dynamic->p_vaddr);
	CHECK(dynamic->p_offset + dynamic->p_filesz <= load->p_filesz);
}

static void test_vdso_dynamic_section(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	const Elf64_Phdr *dynamic = program_header(base, PT_DYNAMIC);
	CHECK(dynamic != NULL);
	const char *strings = NULL;
	unsigned long soname = 0;
	int has_hash = 0, has_gnu_hash = 0, has_versym = 0, has_verdef = 0, has_verdefnum = 0;
	for (const Elf64_Dyn *entry = (const Elf64_Dyn *)(base + dynamic->p_offset);
	     entry->d_tag != DT_NULL; entry++) {
		switch (entry->d_tag) {
		case DT_STRTAB:
			strings = (const char *)(base + entry->d_un.d_ptr);
			break;
		case DT_SONAME:
			soname = entry->d_un.d_val;
			break;
		case DT_HASH:
			has_hash = 1;
			break;
		case DT_GNU_HASH:
			has_gnu_hash = 1;
			break;
		case DT_VERSYM:
			has_versym = 1;
			break;
		case DT_VERDEF:
			has_verdef = 1;
			break;
		case DT_VERDEFNUM:
			has_verdefnum = 1;
			break;
		case DT_NEEDED:
		case DT_VERNEED:
		case DT_TEXTREL:
		case DT_REL:
		case DT_JMPREL:
			FAIL("dynamic tag %ld needs a loader", (long)entry->d_tag);
		case DT_RELA:
		case DT_RELR:
			FAIL("dynamic relocations (tag %ld)", (long)entry->d_tag);
		case DT_FLAGS:
			CHECK_MSG(!(entry->d_un.d_val & DF_TEXTREL), "DF_TEXTREL set");
			break;
		default:
			break;
		}
	}
	CHECK(strings != NULL);
	CHECK_STR(strings + soname, "linux-vdso.so.1");
	/* DT_GNU_HASH is optional here (Linux's own arm64 vDSO has none); the image checker
	 * requires it of ours, and test_vdso_go_walk checks it whenever it is present */
	(void)has_gnu_hash;
	CHECK(has_hash && has_versym && has_verdef && has_verdefnum);
}

static void test_vdso_musl_walk(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	struct vdso_image image;
	const char *error = "";
	CHECK_MSG(vdso_parse(base, LAYOUT_BY_OFFSET, &image, &error) == 0, "%s", error);
	const Elf64_Phdr *load = program_header(base, PT_LOAD);
	for (size_t index = 0; index < EXPORT_COUNT; index++) {
		void *address = vdso_lookup_linear(&image, exports[index], VERSION, &error);
		CHECK_MSG(address != NULL, "%s: %s", exports[index], error);
		CHECK_MSG((uintptr_t)address > base && (uintptr_t)address < base + load->p_memsz,
			  "%s at %p outside the image", exports[index], address);
		CHECK_MSG((uintptr_t)address % 4 == 0, "%s misaligned", exports[index]);
	}
	/* a wrong version must not match */
	CHECK(vdso_lookup_linear(&image, "__kernel_clock_gettime", "LINUX_2.6.15", &error) == NULL);
	CHECK(vdso_lookup_linear(&image, "__kernel_getrandom", VERSION, &error) == NULL);
}

static void test_vdso_go_walk(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	struct vdso_image by_offset, by_vaddr;
	const char *error = "";
	CHECK_MSG(vdso_parse(base, LAYOUT_BY_OFFSET, &by_offset, &error) == 0, "%s", error);
	CHECK_MSG(vdso_parse(base, LAYOUT_BY_VADDR, &by_vaddr, &error) == 0, "%s", error);
	CHECK_EQ(by_vaddr.load_bias, base);
	/* verdef: a base entry, then LINUX_2.6.39 with the right hash */
	CHECK(by_vaddr.verdef != NULL);
	size_t definitions = 0;
	int saw_base = 0, saw_version = 0;
	for (const Elf64_Verdef *definition = by_vaddr.verdef; definition;
	     definition = vdso_next_verdef(definition)) {
		definitions++;
		CHECK_EQ(definition->vd_version, VER_DEF_CURRENT);
		const char *name = vdso_verdef_name(&by_vaddr, definition);
		CHECK_EQ(definition->vd_hash, vdso_elf_hash(name));
		if (definition->vd_flags & VER_FLG_BASE)
			saw_base = 1;
		if (strcmp(name, VERSION) == 0) {
			saw_version = 1;
			CHECK_EQ(definition->vd_hash, 0x75fcb89);
		}
		CHECK(definitions < 16);
	}
	CHECK(saw_base && saw_version);
	CHECK_EQ(definitions, by_vaddr.verdef_count);
	for (size_t index = 0; index < EXPORT_COUNT; index++) {
		void *musl = vdso_lookup_linear(&by_offset, exports[index], VERSION, &error);
		CHECK_MSG(musl != NULL, "%s: %s", exports[index], error);
		void *sysv = vdso_lookup_sysv_hash(&by_vaddr, exports[index], VERSION, &error);
		CHECK_MSG(sysv == musl, "%s by DT_HASH chains: %p vs %p (%s)", exports[index], sysv,
			  musl, sysv ? "" : error);
		void *gnu = by_vaddr.gnu_hash
				    ? vdso_lookup_gnu_hash(&by_vaddr, exports[index], VERSION, &error)
				    : musl;
		CHECK_MSG(gnu == musl, "%s by DT_GNU_HASH chains: %p vs %p (%s)", exports[index], gnu,
			  musl, gnu ? "" : error);
		/* each is a global function; Linux marks __kernel_rt_sigreturn NOTYPE (it is
		 * not called, only returned to), so the image checker, not this test, insists
		 * on STT_FUNC for it */
		const Elf64_Sym *symbols = by_vaddr.symbols;
		int is_trampoline = strcmp(exports[index], "__kernel_rt_sigreturn") == 0;
		for (uint32_t symbol = 0; symbol < by_vaddr.sysv_hash[1]; symbol++)
			if (strcmp(by_vaddr.strings + symbols[symbol].st_name, exports[index]) == 0) {
				int type = ELF64_ST_TYPE(symbols[symbol].st_info);
				CHECK_MSG(type == STT_FUNC || (is_trampoline && type == STT_NOTYPE),
					  "%s has symbol type %d", exports[index], type);
				CHECK_EQ(ELF64_ST_BIND(symbols[symbol].st_info), STB_GLOBAL);
			}
	}
	CHECK(vdso_lookup_sysv_hash(&by_vaddr, "no_such_symbol", VERSION, &error) == NULL);
	CHECK(!by_vaddr.gnu_hash ||
	      vdso_lookup_gnu_hash(&by_vaddr, "no_such_symbol", VERSION, &error) == NULL);
}

typedef int (*clock_gettime_function)(clockid_t, struct timespec *);
typedef int (*gettimeofday_function)(struct timeval *, struct timezone *);
typedef int (*clock_getres_function)(clockid_t, struct timespec *);

static int64_t nanoseconds(const struct timespec *time)
{
	return (int64_t)time->tv_sec * 1000000000 + time->tv_nsec;
}

static void test_vdso_kernel_functions_direct(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	clock_gettime_function vdso_clock_gettime =
		(clock_gettime_function)vdso_symbol(base, "__kernel_clock_gettime");
	gettimeofday_function vdso_gettimeofday =
		(gettimeofday_function)vdso_symbol(base, "__kernel_gettimeofday");
	clock_getres_function vdso_clock_getres =
		(clock_getres_function)vdso_symbol(base, "__kernel_clock_getres");
	CHECK(vdso_clock_gettime && vdso_gettimeofday && vdso_clock_getres);
	static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
					   CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
					   CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
					   CLOCK_BOOTTIME, 11 /* TAI */};
	for (size_t index = 0; index < sizeof clocks / sizeof clocks[0]; index++) {
		struct timespec first, raw, last;
		CHECK_MSG(vdso_clock_gettime(clocks[index], &first) == 0, "clock %d",
			  (int)clocks[index]);
		CHECK_EQ(syscall(SYS_clock_gettime, clocks[index], &raw), 0);
		CHECK_EQ(vdso_clock_gettime(clocks[index], &last), 0);
		CHECK_MSG(nanoseconds(&first) <= nanoseconds(&raw) &&
				  nanoseconds(&raw) <= nanoseconds(&last) &&
				  nanoseconds(&last) - nanoseconds(&first) < 100000000,
			  "clock %d: vDSO %lld, syscall %lld, vDSO %lld", (int)clocks[index],
			  (long long)nanoseconds(&first), (long long)nanoseconds(&raw),
			  (long long)nanoseconds(&last));
		struct timespec vdso_resolution, raw_resolution;
		CHECK_EQ(vdso_clock_getres(clocks[index], &vdso_resolution), 0);
		CHECK_EQ(syscall(SYS_clock_getres, clocks[index], &raw_resolution), 0);
		CHECK_EQ(nanoseconds(&vdso_resolution), nanoseconds(&raw_resolution));
		CHECK_EQ(vdso_clock_getres(clocks[index], NULL), 0);
	}
	/* invalid ids: -EINVAL returned, not set in errno */
	struct timespec time;
	CHECK_EQ(vdso_clock_gettime(12, &time), -EINVAL);
	CHECK_EQ(vdso_clock_gettime(1000, &time), -EINVAL);
	CHECK_EQ(vdso_clock_getres(1000, &time), -EINVAL);
	struct timeval before, raw;
	CHECK_EQ(vdso_gettimeofday(&before, NULL), 0);
	CHECK_EQ(syscall(SYS_gettimeofday, &raw, NULL), 0);
	int64_t microseconds_vdso = (int64_t)before.tv_sec * 1000000 + before.tv_usec;
	int64_t microseconds_raw = (int64_t)raw.tv_sec * 1000000 + raw.tv_usec;
	CHECK_MSG(microseconds_vdso <= microseconds_raw && microseconds_raw - microseconds_vdso < 100000,
		  "vDSO %lld us, syscall %lld us", (long long)microseconds_vdso,
		  (long long)microseconds_raw);
	CHECK_EQ(vdso_gettimeofday(NULL, NULL), 0);
	struct timezone zone;
	CHECK_EQ(vdso_gettimeofday(NULL, &zone), 0);
}

static void test_vdso_proc_maps_and_dump(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	struct mapping vdso, vvar;
	CHECK_MSG(find_mapping("[vdso]", 0, &vdso) == 0, "no [vdso] line in /proc/self/maps");
	CHECK_MSG(find_mapping("[vvar]", 0, &vvar) == 0, "no [vvar] line in /proc/self/maps");
	CHECK_EQ(vdso.start, base);
	CHECK_STR(vdso.permissions, "r-xp");
	CHECK_STR(vvar.permissions, "r--p");
	CHECK_EQ(vvar.end, vdso.start); /* the data page sits directly below the text */
	CHECK(vdso.end > vdso.start && (vdso.end - vdso.start) % 4096 == 0);
	const Elf64_Phdr *load = program_header(base, PT_LOAD);
	CHECK(vdso.end - vdso.start >= load->p_memsz);
	/* dump the bytes the way vDSO extraction tools do */
	int fd = open(dump_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_MSG(fd >= 0, "open %s: %s", dump_path, strerror(errno));
	size_t length = vdso.end - vdso.start;
	CHECK_EQ(write(fd, (const void *)vdso.start, length), (long)length);
	close(fd);
	static char copy[256 * 1024];
	CHECK(length <= sizeof copy);
	fd = open(dump_path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, copy, sizeof copy), (long)length);
	close(fd);
	CHECK(memcmp(copy, (const void *)vdso.start, length) == 0);
	CHECK(memcmp(copy, ELFMAG, SELFMAG) == 0);
}

static void write_to_vdso_text(void)
{
	*(volatile char *)(getauxval(AT_SYSINFO_EHDR) + 64) = 0;
}

static uintptr_t vvar_start;

static void write_to_vvar(void)
{
	*(volatile char *)vvar_start = 1;
}

static void test_vdso_write_protection(void)
{
	SKIP_WITHOUT_VDSO();
	struct mapping vvar;
	CHECK(find_mapping("[vvar]", 0, &vvar) == 0);
	vvar_start = vvar.start;
	int status = tl_in_child(write_to_vdso_text);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		  "writing the vDSO text: status 0x%x", status);
	status = tl_in_child(write_to_vvar);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		  "writing the vvar page: status 0x%x", status);
	/* and the text is unchanged for us */
	CHECK(memcmp((const void *)getauxval(AT_SYSINFO_EHDR), ELFMAG, SELFMAG) == 0);
}

/* Runs `self --report-vdso-base` and returns the base it reports. */
static uintptr_t exec_child_base(void)
{
	int channel[2];
	if (pipe(channel) != 0)
		return 0;
	pid_t child = fork();
	if (child == 0) {
		dup2(channel[1], 1);
		close(channel[0]);
		char *arguments[] = {self, "--report-vdso-base", NULL};
		char *environment[] = {NULL};
		execve(self, arguments, environment);
		_exit(127);
	}
	close(channel[1]);
	uintptr_t base = 0;
	ssize_t count = read(channel[0], &base, sizeof base);
	close(channel[0]);
	waitpid(child, NULL, 0);
	return count == sizeof base ? base : 0;
}

static void report_base_child(void)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	_exit(base == vvar_start ? 0 : 1); /* vvar_start holds the parent's base here */
}

static void test_vdso_base_randomized_per_exec(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t bases[3];
	for (int index = 0; index < 3; index++) {
		bases[index] = exec_child_base();
		CHECK_MSG(bases[index] != 0, "exec'd child %d reported no vDSO base", index);
		CHECK_EQ(bases[index] % 4096, 0);
	}
	/* with at least 18 bits of entropy, three equal bases mean no randomization */
	CHECK_MSG(!(bases[0] == bases[1] && bases[1] == bases[2]),
		  "three exec'd children all got the vDSO at %#lx", (unsigned long)bases[0]);
	/* fork keeps the placement */
	vvar_start = getauxval(AT_SYSINFO_EHDR);
	int status = tl_in_child(report_base_child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork moved the vDSO");
}

/* Not vDSO-specific: the /proc/self/maps format, which the dump relies on. */
static void test_vdso_proc_maps_format(void)
{
	static char maps[65536];
	long length = read_maps(maps, sizeof maps);
	CHECK_MSG(length > 0, "cannot read /proc/self/maps: %s", strerror(errno));
	CHECK_EQ(maps[length - 1], '\n');
	int lines = 0;
	uintptr_t previous_end = 0;
	for (char *line = maps; *line;) {
		char *next = strchr(line, '\n');
		CHECK(next != NULL);
		*next = 0;
		struct mapping mapping;
		CHECK_MSG(parse_maps_line(line, &mapping) == 0, "unparsable line \"%s\"", line);
		CHECK_MSG(mapping.start < mapping.end && mapping.start % 4096 == 0 &&
				  mapping.end % 4096 == 0,
			  "bad range in \"%s\"", line);
		CHECK_MSG(mapping.start >= previous_end, "lines not sorted at \"%s\"", line);
		CHECK_MSG(strchr("r-", mapping.permissions[0]) && strchr("w-", mapping.permissions[1]) &&
				  strchr("x-", mapping.permissions[2]) &&
				  strchr("ps", mapping.permissions[3]),
			  "bad permissions in \"%s\"", line);
		CHECK_MSG(!(mapping.permissions[1] == 'w' && mapping.permissions[2] == 'x'),
			  "writable and executable: \"%s\"", line);
		previous_end = mapping.end;
		lines++;
		line = next + 1;
	}
	CHECK(lines >= 3);
	/* the code of this function is in an r-x mapping of this program */
	struct mapping code, stack, data;
	CHECK(find_mapping(NULL, (uintptr_t)test_vdso_proc_maps_format, &code) == 0);
	CHECK_STR(code.permissions, "r-xp");
	CHECK_MSG(strcmp(code.name, self) == 0, "code mapped from \"%s\", program is \"%s\"",
		  code.name, self);
	int local = 0;
	CHECK(find_mapping(NULL, (uintptr_t)&local, &stack) == 0);
	CHECK_STR(stack.name, "[stack]");
	CHECK_STR(stack.permissions, "rw-p");
	CHECK(find_mapping(NULL, (uintptr_t)&dump_path, &data) == 0);
	CHECK_EQ(data.permissions[1], 'w');
	CHECK_EQ(data.permissions[2], '-');
}

/* With or without a vDSO, libc's clocks agree with the system call. */
static void test_vdso_libc_time_agrees_with_syscall(void)
{
	static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
	for (size_t index = 0; index < sizeof clocks / sizeof clocks[0]; index++) {
		struct timespec first, raw, last;
		CHECK_OK(clock_gettime(clocks[index], &first));
		CHECK_EQ(syscall(SYS_clock_gettime, clocks[index], &raw), 0);
		CHECK_OK(clock_gettime(clocks[index], &last));
		CHECK(nanoseconds(&first) <= nanoseconds(&raw) && nanoseconds(&raw) <= nanoseconds(&last));
	}
	struct timeval now;
	CHECK_OK(gettimeofday(&now, NULL));
	CHECK(now.tv_sec > 1704067200); /* wall-clock time, not time since boot */
}

/* ---- the clocks: dump, host time, setting the time, monotonicity, sigreturn ---- */

/* The vDSO's functions, resolved once in main (NULL without a vDSO). */
static clock_gettime_function vdso_gettime;
static gettimeofday_function vdso_timeofday;

/* `clock` through the vDSO function when there is one, else libc; -1 on error. */
static int64_t read_clock(clockid_t clock)
{
	struct timespec time;
	int result = vdso_gettime ? vdso_gettime(clock, &time) : clock_gettime(clock, &time);
	return result == 0 ? nanoseconds(&time) : -1;
}

/* `clock` through the system call; -1 on error. */
static int64_t raw_clock(clockid_t clock)
{
	struct timespec time;
	return syscall(SYS_clock_gettime, clock, &time) == 0 ? nanoseconds(&time) : -1;
}

/* gettimeofday through the vDSO function when there is one, else libc, in microseconds. */
static int64_t read_timeofday(struct timezone *zone)
{
	struct timeval time;
	int result = vdso_timeofday ? vdso_timeofday(&time, zone) : gettimeofday(&time, zone);
	return result == 0 ? (int64_t)time.tv_sec * 1000000 + time.tv_usec : -1;
}

static long set_realtime(int64_t time)
{
	struct timespec value = {.tv_sec = time / 1000000000, .tv_nsec = time % 1000000000};
	return syscall(SYS_clock_settime, CLOCK_REALTIME, &value);
}

/* The [vdso] mapping as hex lines on stdout, which the harness decodes and checks with
 * vdso-check (the guest has no other way to hand bytes to the host). */
static void test_vdso_dump_to_console(void)
{
	SKIP_WITHOUT_VDSO();
	struct mapping vdso;
	CHECK_MSG(find_mapping("[vdso]", 0, &vdso) == 0, "no [vdso] line in /proc/self/maps");
	static const char digits[] = "0123456789abcdef";
	const unsigned char *bytes = (const unsigned char *)vdso.start;
	size_t length = vdso.end - vdso.start;
	char line[256];
	int used = snprintf(line, sizeof line, "VDSO_DUMP_BEGIN %zu\n", length);
	CHECK_EQ(write(1, line, (size_t)used), used);
	for (size_t offset = 0; offset < length; offset += 64) {
		used = snprintf(line, sizeof line, "VDSO_DUMP %zx ", offset);
		for (size_t index = offset; index < length && index < offset + 64; index++) {
			line[used++] = digits[bytes[index] >> 4];
			line[used++] = digits[bytes[index] & 15];
		}
		line[used++] = '\n';
		CHECK_EQ(write(1, line, (size_t)used), used);
	}
	static const char end[] = "VDSO_DUMP_END\n";
	CHECK_EQ(write(1, end, sizeof end - 1), (long)sizeof end - 1);
}

/* Ids Linux rejects for every process, through each path. */
static void test_vdso_invalid_clock_ids(void)
{
	/* (not 16..23: Linux 6.17 made those its auxiliary clocks) */
	static const clockid_t invalid[] = {10 /* CLOCK_SGI_CYCLE */, 12, 13, 15, 1000, 0x7fffffff};
	for (size_t index = 0; index < sizeof invalid / sizeof invalid[0]; index++) {
		struct timespec time;
		CHECK_ERRNO(syscall(SYS_clock_gettime, invalid[index], &time), EINVAL);
		CHECK_ERRNO(syscall(SYS_clock_getres, invalid[index], &time), EINVAL);
		CHECK_ERRNO(clock_gettime(invalid[index], &time), EINVAL);
		CHECK_ERRNO(clock_getres(invalid[index], &time), EINVAL);
		if (vdso_gettime) {
			CHECK_EQ(vdso_gettime(invalid[index], &time), -EINVAL);
			CHECK_EQ(vdso_gettime(invalid[index], NULL), -EINVAL);
		}
	}
}

/* Prints the request and reads the host's `<seconds>.<9 digits>` from stdin within
 * `timeout_ms`; 0 with *host in nanoseconds, or -1 with *why. */
static int ask_host_realtime(int timeout_ms, int64_t *host, const char **why)
{
	static const char request[] = "HOST_REALTIME?\n";
	if (write(1, request, sizeof request - 1) != (ssize_t)sizeof request - 1) {
		*why = "cannot write the request";
		return -1;
	}
	char line[64];
	size_t have = 0;
	int64_t deadline = raw_clock(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000000;
	while (!memchr(line, '\n', have)) {
		int64_t left = (deadline - raw_clock(CLOCK_MONOTONIC)) / 1000000;
		if (left <= 0) {
			*why = "no answer on stdin";
			return -1;
		}
		if (have == sizeof line - 1) {
			*why = "answer too long";
			return -1;
		}
		struct pollfd input = {.fd = 0, .events = POLLIN};
		if (poll(&input, 1, (int)left) <= 0)
			continue;
		ssize_t count = read(0, line + have, sizeof line - 1 - have);
		if (count <= 0) {
			*why = "stdin closed";
			return -1;
		}
		have += (size_t)count;
	}
	line[have] = 0;
	char *cursor = line;
	while (*cursor == ' ' || *cursor == '\r')
		cursor++;
	char *end;
	long long seconds = strtoll(cursor, &end, 10);
	if (end == cursor || *end != '.' || seconds <= 0) {
		*why = "answer is not <seconds>.<nanoseconds>";
		return -1;
	}
	int64_t fraction = 0;
	int places = 0;
	for (cursor = end + 1; *cursor >= '0' && *cursor <= '9'; cursor++, places++)
		fraction = fraction * 10 + (*cursor - '0');
	if (places != 9) {
		*why = "answer does not have 9 digits of nanoseconds";
		return -1;
	}
	*host = (int64_t)seconds * 1000000000 + fraction;
	return 0;
}

#define HOST_TOLERANCE 3000000000LL /* nanoseconds */

/* CLOCK_REALTIME is the host's wall-clock time (QEMU's PL031 starts at it), to within a few
 * seconds, through the vDSO and the system call. */
static void test_vdso_realtime_matches_host(void)
{
	const char *mode = getenv("VDSO_HOST_REALTIME");
	int required = mode && strcmp(mode, "required") == 0;
	int64_t host = 0;
	const char *why = "";
	if (ask_host_realtime(required ? 30000 : 3000, &host, &why) != 0) {
		if (required)
			FAIL("VDSO_HOST_REALTIME=required, but %s", why);
		tl_skip("no host time (%s): not run by the test harness", why);
		return;
	}
	int64_t fast = read_clock(CLOCK_REALTIME), raw = raw_clock(CLOCK_REALTIME);
	CHECK_MSG(fast - host <= HOST_TOLERANCE && host - fast <= HOST_TOLERANCE,
		  "CLOCK_REALTIME %lld ns, the host said %lld ns (%+lld ms)", (long long)fast,
		  (long long)host, (long long)((fast - host) / 1000000));
	CHECK_MSG(raw - host <= HOST_TOLERANCE && host - raw <= HOST_TOLERANCE,
		  "clock_gettime syscall %lld ns, the host said %lld ns (%+lld ms)", (long long)raw,
		  (long long)host, (long long)((raw - host) / 1000000));
}

/* One hour and a quarter of a second. */
#define JUMP 3600250000000LL
/* How far a coarse clock may trail the fine one: its resolution here, a tick or a few on
 * Linux (which updates it at each tick, and may skip ticks). */
#define COARSE 20000000LL

/* The alarm clocks read as realtime and boottime (through the system call). */
static const clockid_t wall_clocks[] = {CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_TAI,
					CLOCK_REALTIME_ALARM};
static const clockid_t steady_clocks[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
					  CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME_ALARM};
#define WALL_COUNT (sizeof wall_clocks / sizeof wall_clocks[0])
#define STEADY_COUNT (sizeof steady_clocks / sizeof steady_clocks[0])

static int64_t realtime_before_jump;

static void child_sees_the_jump(void)
{
	_exit(read_clock(CLOCK_REALTIME) >= realtime_before_jump + JUMP ? 0 : 1);
}

/* Sets CLOCK_REALTIME forward by JUMP, reads every clock through both paths, and sets it
 * back; then checks: the system call and the fast path (the vDSO, or libc without one) see
 * the new time at once and agree; realtime, its coarse clock, TAI, gettimeofday and time()
 * moved by JUMP; the monotonic clocks did not; a forked child sees it; the restore put
 * realtime back where it would have been. Reads happen before any check, so a failed check
 * never leaves the clock an hour out. */
static void check_setting_the_time(void)
{
	int64_t wall_before[WALL_COUNT], wall_after[WALL_COUNT];
	int64_t steady_before[STEADY_COUNT], steady_after[STEADY_COUNT];
	int64_t start = raw_clock(CLOCK_MONOTONIC);
	for (size_t index = 0; index < WALL_COUNT; index++)
		wall_before[index] = read_clock(wall_clocks[index]);
	for (size_t index = 0; index < STEADY_COUNT; index++)
		steady_before[index] = read_clock(steady_clocks[index]);
	int64_t timeofday_before = read_timeofday(NULL);
	time_t seconds_before = time(NULL);

	int64_t monotonic_before = raw_clock(CLOCK_MONOTONIC);
	realtime_before_jump = raw_clock(CLOCK_REALTIME);
	long set = set_realtime(realtime_before_jump + JUMP);
	int set_errno = errno;
	int64_t fast_first = read_clock(CLOCK_REALTIME);
	int64_t raw_after = raw_clock(CLOCK_REALTIME);
	int64_t fast_last = read_clock(CLOCK_REALTIME);
	int64_t monotonic_after = raw_clock(CLOCK_MONOTONIC);

	for (size_t index = 0; index < WALL_COUNT; index++)
		wall_after[index] = read_clock(wall_clocks[index]);
	for (size_t index = 0; index < STEADY_COUNT; index++)
		steady_after[index] = read_clock(steady_clocks[index]);
	int64_t timeofday_after = read_timeofday(NULL);
	time_t seconds_after = time(NULL);
	int64_t end = raw_clock(CLOCK_MONOTONIC);
	int child = tl_in_child(child_sees_the_jump);

	int64_t monotonic_restore = raw_clock(CLOCK_MONOTONIC);
	long restored = set_realtime(raw_clock(CLOCK_REALTIME) - JUMP);
	int restore_errno = errno;
	int64_t realtime_restored = raw_clock(CLOCK_REALTIME);
	int64_t monotonic_restored = raw_clock(CLOCK_MONOTONIC);

	CHECK_MSG(set == 0, "clock_settime(CLOCK_REALTIME): errno %d (%s)", set_errno,
		  strerror(set_errno));
	CHECK_MSG(restored == 0, "restoring CLOCK_REALTIME: errno %d (%s)", restore_errno,
		  strerror(restore_errno));
	/* The system call moved by exactly JUMP: what else passed between the read before and
	 * the read after is at most what CLOCK_MONOTONIC saw pass (1 ns for truncation). */
	int64_t extra = raw_after - realtime_before_jump - JUMP;
	CHECK_MSG(extra >= -1 && extra <= monotonic_after - monotonic_before + 1,
		  "syscall realtime moved by JUMP%+lld ns, %lld ns elapsed", (long long)extra,
		  (long long)(monotonic_after - monotonic_before));
	/* The fast path saw it at once and agrees with the system call. */
	CHECK_MSG(fast_first <= raw_after && raw_after <= fast_last &&
			  fast_last - fast_first < 100000000,
		  "fast %lld, syscall %lld, fast %lld", (long long)fast_first, (long long)raw_after,
		  (long long)fast_last);
	int64_t span = end - start;
	for (size_t index = 0; index < WALL_COUNT; index++) {
		int64_t moved = wall_after[index] - wall_before[index] - JUMP;
		int64_t slack = wall_clocks[index] == CLOCK_REALTIME_COARSE ? COARSE : 1;
		CHECK_MSG(moved >= -slack && moved <= span + slack,
			  "clock %d moved by JUMP%+lld ns (%lld ns elapsed)", (int)wall_clocks[index],
			  (long long)moved, (long long)span);
	}
	for (size_t index = 0; index < STEADY_COUNT; index++) {
		int64_t moved = steady_after[index] - steady_before[index];
		int64_t slack = steady_clocks[index] == CLOCK_MONOTONIC_COARSE ? COARSE : 1;
		CHECK_MSG(moved >= 0 && moved <= span + slack,
			  "clock %d moved by %lld ns across the set (%lld ns elapsed)",
			  (int)steady_clocks[index], (long long)moved, (long long)span);
	}
	int64_t timeofday_moved = timeofday_after - timeofday_before - JUMP / 1000;
	CHECK_MSG(timeofday_moved >= -1 && timeofday_moved <= span / 1000 + 1,
		  "gettimeofday moved by JUMP%+lld us", (long long)timeofday_moved);
	CHECK_MSG(seconds_after - seconds_before >= JUMP / 1000000000 &&
			  seconds_after - seconds_before <= JUMP / 1000000000 + 1 + span / 1000000000,
		  "time() moved by %lld s", (long long)(seconds_after - seconds_before));
	CHECK_MSG(WIFEXITED(child) && WEXITSTATUS(child) == 0,
		  "a forked child did not see the new time (status %#x)", child);
	/* Restored to where realtime would have been; the restore itself loses the moment
	 * between its read and its set, and the set loses the reads before it. */
	int64_t off = realtime_restored - realtime_before_jump - (monotonic_restored - monotonic_before);
	CHECK_MSG(off <= 1 && off > -100000000, "after the restore realtime is %+lld ns out",
		  (long long)off);
	(void)monotonic_restore;
}

static void test_vdso_clock_settime(void)
{
	SKIP_WITHOUT_VDSO();
	check_setting_the_time();
}

/* Linux's errors; none of these calls may change the time. */
static void check_settime_errors(void)
{
	int64_t monotonic_before = raw_clock(CLOCK_MONOTONIC);
	int64_t realtime_before = raw_clock(CLOCK_REALTIME);
	struct timespec now = {.tv_sec = realtime_before / 1000000000, .tv_nsec = 0};
	/* clocks without a setter, and ids that are no clock: EINVAL, even before the pointer
	 * is looked at */
	static const clockid_t unsettable[] = {CLOCK_MONOTONIC,	       CLOCK_MONOTONIC_RAW,
					       CLOCK_REALTIME_COARSE,   CLOCK_MONOTONIC_COARSE,
					       CLOCK_BOOTTIME,	       CLOCK_TAI,
					       CLOCK_REALTIME_ALARM,    CLOCK_BOOTTIME_ALARM,
					       CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
					       10,		       12,
					       1000};
	for (size_t index = 0; index < sizeof unsettable / sizeof unsettable[0]; index++) {
		CHECK_ERRNO(syscall(SYS_clock_settime, unsettable[index], &now), EINVAL);
		CHECK_ERRNO(syscall(SYS_clock_settime, unsettable[index], NULL), EINVAL);
	}
	/* CPU-time clocks named by negative ids have a setter that reads the time, checks
	 * the target, then refuses: EPERM for this process's (-6) and this thread's (-2) and
	 * clock_getcpuclockid's, EINVAL for an id of no clock type (-1) */
	clockid_t own = 0;
	CHECK_EQ(clock_getcpuclockid(getpid(), &own), 0);
	CHECK_ERRNO(syscall(SYS_clock_settime, own, &now), EPERM);
	CHECK_ERRNO(syscall(SYS_clock_settime, -6, &now), EPERM);
	CHECK_ERRNO(syscall(SYS_clock_settime, -2, &now), EPERM);
	CHECK_ERRNO(syscall(SYS_clock_settime, -6, NULL), EFAULT);
	CHECK_ERRNO(syscall(SYS_clock_settime, -1, &now), EINVAL);
	CHECK_ERRNO(syscall(SYS_clock_settime, -1, NULL), EFAULT);
	/* bad pointers */
	CHECK_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EFAULT);
	CHECK_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)16), EFAULT);
	/* times Linux refuses: nanoseconds out of range, negative, before boot (below
	 * CLOCK_MONOTONIC), past TIME_SETTOD_SEC_MAX */
	const struct timespec refused[] = {
		{.tv_sec = now.tv_sec, .tv_nsec = 1000000000},
		{.tv_sec = now.tv_sec, .tv_nsec = -1},
		{.tv_sec = -1, .tv_nsec = 0},
		{.tv_sec = 0, .tv_nsec = 0},
		{.tv_sec = 8277292036LL, .tv_nsec = 0},
	};
	for (size_t index = 0; index < sizeof refused / sizeof refused[0]; index++)
		CHECK_MSG(syscall(SYS_clock_settime, CLOCK_REALTIME, &refused[index]) == -1 &&
				  errno == EINVAL,
			  "clock_settime {%lld, %ld}: errno %d, expected EINVAL",
			  (long long)refused[index].tv_sec, refused[index].tv_nsec, errno);
	/* settimeofday: the same through a timeval, and the timezone's range */
	const struct timeval refused_timeval[] = {
		{.tv_sec = now.tv_sec, .tv_usec = 1000000},
		{.tv_sec = now.tv_sec, .tv_usec = -1},
		{.tv_sec = -1, .tv_usec = 0},
		{.tv_sec = 0, .tv_usec = 0},
	};
	for (size_t index = 0; index < sizeof refused_timeval / sizeof refused_timeval[0]; index++)
		CHECK_MSG(syscall(SYS_settimeofday, &refused_timeval[index], NULL) == -1 &&
				  errno == EINVAL,
			  "settimeofday {%lld, %ld}: errno %d, expected EINVAL",
			  (long long)refused_timeval[index].tv_sec, refused_timeval[index].tv_usec,
			  errno);
	CHECK_ERRNO(syscall(SYS_settimeofday, (void *)16, NULL), EFAULT);
	CHECK_ERRNO(syscall(SYS_settimeofday, NULL, (void *)16), EFAULT);
	struct timezone too_far_west = {.tz_minuteswest = 15 * 60 + 1},
			too_far_east = {.tz_minuteswest = -15 * 60 - 1};
	CHECK_ERRNO(syscall(SYS_settimeofday, NULL, &too_far_west), EINVAL);
	CHECK_ERRNO(syscall(SYS_settimeofday, NULL, &too_far_east), EINVAL);
	CHECK_EQ(syscall(SYS_settimeofday, NULL, NULL), 0);
	/* and the clock ran on undisturbed */
	int64_t realtime_after = raw_clock(CLOCK_REALTIME);
	int64_t monotonic_after = raw_clock(CLOCK_MONOTONIC);
	int64_t off = (realtime_after - realtime_before) - (monotonic_after - monotonic_before);
	CHECK_MSG(off <= 1 && off > -100000000, "realtime moved by %+lld ns", (long long)off);
}

static void test_vdso_clock_settime_errors(void)
{
	SKIP_WITHOUT_VDSO();
	check_settime_errors();
}

/* settimeofday's timezone reaches gettimeofday through both paths at once; a zone alone
 * (after the first) leaves the time alone; time and zone together set both. */
static void test_vdso_settimeofday_timezone(void)
{
	SKIP_WITHOUT_VDSO();
	struct timezone zero = {0, 0}, east = {.tz_minuteswest = -60, .tz_dsttime = 1},
			west = {.tz_minuteswest = 300, .tz_dsttime = 0};
	struct timezone fast_zone = {7, 7}, raw_zone = {7, 7}, fast_both = {7, 7}, raw_both = {7, 7};
	struct timeval raw_time;
	int64_t monotonic_before = raw_clock(CLOCK_MONOTONIC);
	int64_t realtime_before = raw_clock(CLOCK_REALTIME);
	/* a zero zone first, as systemd does: Linux's first zone without a time would
	 * otherwise take the RTC to keep local time and move the clock */
	long sealed = syscall(SYS_settimeofday, NULL, &zero);
	long zoned = syscall(SYS_settimeofday, NULL, &east);
	long fast_read = vdso_timeofday(NULL, &fast_zone);
	long raw_read = syscall(SYS_gettimeofday, NULL, &raw_zone);
	int64_t realtime_zoned = raw_clock(CLOCK_REALTIME);
	int64_t monotonic_zoned = raw_clock(CLOCK_MONOTONIC);
	/* both at once: two hours ahead, and another zone */
	syscall(SYS_gettimeofday, &raw_time, NULL);
	struct timeval ahead = {.tv_sec = raw_time.tv_sec + 7200, .tv_usec = raw_time.tv_usec};
	long both = syscall(SYS_settimeofday, &ahead, &west);
	int64_t fast_time = read_timeofday(&fast_both);
	long raw_both_read = syscall(SYS_gettimeofday, &raw_time, &raw_both);
	int64_t raw_microseconds = (int64_t)raw_time.tv_sec * 1000000 + raw_time.tv_usec;
	/* restore the time (to the nanosecond) and the zone */
	long restored = set_realtime(raw_clock(CLOCK_REALTIME) - 7200000000000LL);
	long unzoned = syscall(SYS_settimeofday, NULL, &zero);
	int64_t realtime_restored = raw_clock(CLOCK_REALTIME);
	int64_t monotonic_restored = raw_clock(CLOCK_MONOTONIC);

	CHECK_EQ(sealed, 0);
	CHECK_EQ(zoned, 0);
	CHECK_EQ(fast_read, 0);
	CHECK_EQ(raw_read, 0);
	CHECK_EQ(fast_zone.tz_minuteswest, -60);
	CHECK_EQ(fast_zone.tz_dsttime, 1);
	CHECK_EQ(raw_zone.tz_minuteswest, -60);
	CHECK_EQ(raw_zone.tz_dsttime, 1);
	int64_t off = (realtime_zoned - realtime_before) - (monotonic_zoned - monotonic_before);
	CHECK_MSG(off <= 1 && off > -100000000, "setting a zone moved realtime by %+lld ns",
		  (long long)off);
	CHECK_EQ(both, 0);
	CHECK_EQ(raw_both_read, 0);
	CHECK_EQ(fast_both.tz_minuteswest, 300);
	CHECK_EQ(raw_both.tz_minuteswest, 300);
	int64_t ahead_microseconds = (int64_t)ahead.tv_sec * 1000000 + ahead.tv_usec;
	CHECK_MSG(fast_time >= ahead_microseconds && raw_microseconds >= fast_time &&
			  raw_microseconds - ahead_microseconds < 100000,
		  "set %lld us, then fast %lld us, syscall %lld us", (long long)ahead_microseconds,
		  (long long)fast_time, (long long)raw_microseconds);
	CHECK_EQ(restored, 0);
	CHECK_EQ(unzoned, 0);
	off = (realtime_restored - realtime_before) - (monotonic_restored - monotonic_before);
	/* settimeofday keeps microseconds: up to 1 us lost, plus the moments between reads */
	CHECK_MSG(off <= 1 && off > -100000000, "after the restore realtime is %+lld ns out",
		  (long long)off);
	struct timezone final_zone = {7, 7};
	CHECK_EQ(vdso_timeofday(NULL, &final_zone), 0);
	CHECK_EQ(final_zone.tz_minuteswest, 0);
}

/* The monotonic clocks never go backwards across a million vDSO calls, with a system call
 * every thousandth (the two paths must be monotonic together, too). */
static void test_vdso_monotonic_never_backwards(void)
{
	SKIP_WITHOUT_VDSO();
	static const struct {
		clockid_t id;
		long calls;
	} runs[] = {{CLOCK_MONOTONIC, 1000000},
		    {CLOCK_MONOTONIC_RAW, 250000},
		    {CLOCK_BOOTTIME, 250000},
		    {CLOCK_MONOTONIC_COARSE, 250000}};
	for (size_t run = 0; run < sizeof runs / sizeof runs[0]; run++) {
		int64_t previous = 0, first = -1;
		for (long call = 0; call < runs[run].calls; call++) {
			struct timespec time;
			long result = call % 1000 == 999
					      ? syscall(SYS_clock_gettime, runs[run].id, &time)
					      : vdso_gettime(runs[run].id, &time);
			CHECK_MSG(result == 0, "clock %d call %ld: %ld", (int)runs[run].id, call, result);
			int64_t now = nanoseconds(&time);
			CHECK_MSG(now >= previous, "clock %d went back %lld ns at call %ld (%s)",
				  (int)runs[run].id, (long long)(previous - now), call,
				  call % 1000 == 999 ? "syscall" : "vDSO");
			previous = now;
			if (first < 0)
				first = now;
		}
		CHECK_MSG(previous > first, "clock %d stood still over %ld calls", (int)runs[run].id,
			  runs[run].calls);
	}
}

struct kernel_sigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#define SA_RESTORER_FLAG 0x04000000UL

static volatile uintptr_t handler_return_address;
static volatile int handled_signals;

static void record_return_address(int signal_number, siginfo_t *info, void *context)
{
	(void)info;
	(void)context;
	handler_return_address = (uintptr_t)__builtin_return_address(0);
	if (signal_number == SIGUSR2)
		handled_signals++;
}

/* A handler installed with the raw system call and no SA_RESTORER (as glibc does on
 * aarch64) returns through __kernel_rt_sigreturn, and the interrupted code carries on. */
static void test_vdso_sigreturn_without_restorer(void)
{
	SKIP_WITHOUT_VDSO();
	const uint32_t *trampoline = vdso_symbol(getauxval(AT_SYSINFO_EHDR), "__kernel_rt_sigreturn");
	CHECK_MSG(trampoline != NULL, "__kernel_rt_sigreturn not found in the vDSO");
	CHECK_EQ(trampoline[-1], 0xd503201f); /* nop */
	CHECK_EQ(trampoline[0], 0xd2801168);  /* mov x8, #139 */
	CHECK_EQ(trampoline[1], 0xd4000001);  /* svc #0 */
	struct kernel_sigaction action = {.handler = record_return_address, .flags = SA_SIGINFO},
				old, installed;
	CHECK_EQ(syscall(SYS_rt_sigaction, SIGUSR2, &action, &old, 8), 0);
	CHECK_EQ(syscall(SYS_rt_sigaction, SIGUSR2, NULL, &installed, 8), 0);
	handled_signals = 0;
	handler_return_address = 0;
	volatile uint64_t canary = 0x5eed5eed5eed5eedULL;
	long first = syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	uintptr_t first_return = handler_return_address;
	long second = syscall(SYS_kill, getpid(), SIGUSR2);
	syscall(SYS_rt_sigaction, SIGUSR2, &old, NULL, 8);
	CHECK_MSG(!(installed.flags & SA_RESTORER_FLAG), "SA_RESTORER appeared in the flags");
	CHECK_EQ(first, 0);
	CHECK_EQ(second, 0);
	CHECK_EQ(handled_signals, 2);
	CHECK_MSG(first_return == (uintptr_t)trampoline && handler_return_address == first_return,
		  "handlers would return to %#lx and %#lx, __kernel_rt_sigreturn is %p",
		  (unsigned long)first_return, (unsigned long)handler_return_address,
		  (const void *)trampoline);
	CHECK_EQ(canary, 0x5eed5eed5eed5eedULL);
}

/* ---- `--without-vdso`: a system that refused its /vdso.so ---- */

static void test_vdso_absent(void)
{
	CHECK_MSG(getauxval(AT_SYSINFO_EHDR) == 0, "AT_SYSINFO_EHDR is %#lx",
		  getauxval(AT_SYSINFO_EHDR));
	struct mapping mapping;
	CHECK_MSG(find_mapping("[vdso]", 0, &mapping) != 0, "a [vdso] mapping at %#lx",
		  (unsigned long)mapping.start);
	CHECK_MSG(find_mapping("[vvar]", 0, &mapping) != 0, "a [vvar] mapping at %#lx",
		  (unsigned long)mapping.start);
}

/* Every clock through libc (now the system call) agrees with the raw system call. */
static void test_vdso_absent_clocks_through_syscall(void)
{
	static const clockid_t clocks[] = {CLOCK_REALTIME,	    CLOCK_MONOTONIC,
					   CLOCK_MONOTONIC_RAW,	    CLOCK_REALTIME_COARSE,
					   CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
					   CLOCK_TAI};
	for (size_t index = 0; index < sizeof clocks / sizeof clocks[0]; index++) {
		struct timespec first, raw, last, libc_resolution, raw_resolution;
		CHECK_OK(clock_gettime(clocks[index], &first));
		CHECK_EQ(syscall(SYS_clock_gettime, clocks[index], &raw), 0);
		CHECK_OK(clock_gettime(clocks[index], &last));
		CHECK_MSG(nanoseconds(&first) <= nanoseconds(&raw) &&
				  nanoseconds(&raw) <= nanoseconds(&last) &&
				  nanoseconds(&last) - nanoseconds(&first) < 100000000,
			  "clock %d: libc %lld, syscall %lld, libc %lld", (int)clocks[index],
			  (long long)nanoseconds(&first), (long long)nanoseconds(&raw),
			  (long long)nanoseconds(&last));
		CHECK_OK(clock_getres(clocks[index], &libc_resolution));
		CHECK_EQ(syscall(SYS_clock_getres, clocks[index], &raw_resolution), 0);
		CHECK_EQ(nanoseconds(&libc_resolution), nanoseconds(&raw_resolution));
	}
	struct timeval libc_time, raw_time;
	struct timespec realtime;
	time_t seconds = time(NULL);
	CHECK_OK(gettimeofday(&libc_time, NULL));
	CHECK_EQ(syscall(SYS_gettimeofday, &raw_time, NULL), 0);
	CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_REALTIME, &realtime), 0);
	int64_t libc_microseconds = (int64_t)libc_time.tv_sec * 1000000 + libc_time.tv_usec;
	int64_t raw_microseconds = (int64_t)raw_time.tv_sec * 1000000 + raw_time.tv_usec;
	CHECK_MSG(libc_microseconds <= raw_microseconds &&
			  raw_microseconds <= nanoseconds(&realtime) / 1000 &&
			  nanoseconds(&realtime) / 1000 - libc_microseconds < 100000,
		  "gettimeofday libc %lld us, syscall %lld us, clock_gettime %lld ns",
		  (long long)libc_microseconds, (long long)raw_microseconds,
		  (long long)nanoseconds(&realtime));
	CHECK(seconds <= libc_time.tv_sec && libc_time.tv_sec - seconds <= 1);
	CHECK_MSG(seconds > 1704067200, "time() is %lld, not wall-clock time", (long long)seconds);
	struct timespec ignored;
	CHECK_ERRNO(clock_gettime(12, &ignored), EINVAL);
}

/* Linux's first settimeofday with a zone and no time takes the RTC to have kept local
 * time and moves realtime by the zone's offset, once. This boot's first settimeofday is
 * this one (run first in the set), so the warp is due; a second zone does not warp. */
static void test_vdso_absent_first_timezone_warps(void)
{
	struct timezone east = {.tz_minuteswest = -60}, zero = {0, 0};
	int64_t monotonic_start = raw_clock(CLOCK_MONOTONIC), realtime_start = raw_clock(CLOCK_REALTIME);
	long first = syscall(SYS_settimeofday, NULL, &east);
	int64_t realtime_warped = raw_clock(CLOCK_REALTIME), monotonic_warped = raw_clock(CLOCK_MONOTONIC);
	/* each span is read monotonic first, realtime last, so the realtime span is the shorter */
	int64_t monotonic_between = raw_clock(CLOCK_MONOTONIC), realtime_between = raw_clock(CLOCK_REALTIME);
	long second = syscall(SYS_settimeofday, NULL, &zero);
	int64_t realtime_second = raw_clock(CLOCK_REALTIME), monotonic_second = raw_clock(CLOCK_MONOTONIC);
	long restored = set_realtime(raw_clock(CLOCK_REALTIME) + 3600000000000LL);
	int64_t realtime_end = raw_clock(CLOCK_REALTIME), monotonic_end = raw_clock(CLOCK_MONOTONIC);
	CHECK_EQ(first, 0);
	CHECK_EQ(second, 0);
	CHECK_EQ(restored, 0);
	int64_t warp = (realtime_warped - realtime_start) - (monotonic_warped - monotonic_start);
	CHECK_MSG(warp <= -3600000000000LL + 1 && warp > -3600000000000LL - 100000000,
		  "the first zone (60 minutes east) moved realtime by %lld ns", (long long)warp);
	int64_t again = (realtime_second - realtime_between) - (monotonic_second - monotonic_between);
	CHECK_MSG(again <= 1 && again > -100000000, "the second zone moved realtime by %lld ns",
		  (long long)again);
	int64_t off = (realtime_end - realtime_start) - (monotonic_end - monotonic_start);
	CHECK_MSG(off <= 1 && off > -100000000, "after the restore realtime is %+lld ns out",
		  (long long)off);
}

static void test_vdso_absent_clock_settime(void)
{
	check_setting_the_time();
}

static void test_vdso_absent_clock_settime_errors(void)
{
	check_settime_errors();
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--report-vdso-base") == 0) {
		uintptr_t base = getauxval(AT_SYSINFO_EHDR);
		return write(1, &base, sizeof base) == sizeof base ? 0 : 1;
	}
	int without_vdso = argc > 1 && strcmp(argv[1], "--without-vdso") == 0;
	if (argc > 1 && !without_vdso)
		dump_path = argv[1];
	ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
	if (length > 0)
		self[length] = 0;
	else if (!realpath(argv[0], self))
		snprintf(self, sizeof self, "%s", argv[0]);
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	vdso_gettime = (clock_gettime_function)vdso_symbol(base, "__kernel_clock_gettime");
	vdso_timeofday = (gettimeofday_function)vdso_symbol(base, "__kernel_gettimeofday");
	if (without_vdso) {
		RUN(vdso_absent_first_timezone_warps);
		RUN(vdso_absent);
		RUN(vdso_absent_clocks_through_syscall);
		RUN(vdso_absent_clock_settime);
		RUN(vdso_absent_clock_settime_errors);
		return tl_finish();
	}
	RUN(vdso_elf_header_and_segments);
	RUN(vdso_dynamic_section);
	RUN(vdso_musl_walk);
	RUN(vdso_go_walk);
	RUN(vdso_kernel_functions_direct);
	RUN(vdso_proc_maps_and_dump);
	RUN(vdso_dump_to_console);
	RUN(vdso_write_protection);
	RUN(vdso_base_randomized_per_exec);
	RUN(vdso_proc_maps_format);
	RUN(vdso_libc_time_agrees_with_syscall);
	RUN(vdso_invalid_clock_ids);
	RUN(vdso_realtime_matches_host);
	RUN(vdso_clock_settime);
	RUN(vdso_clock_settime_errors);
	RUN(vdso_settimeofday_timezone);
	RUN(vdso_monotonic_never_backwards);
	RUN(vdso_sigreturn_without_restorer);
	return tl_finish();
}
