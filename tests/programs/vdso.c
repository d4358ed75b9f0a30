/* vdso.c: the vDSO as its consumers see it: found through AT_SYSINFO_EHDR, walked the way
 * musl and Go walk it, its functions called directly, its [vdso] and [vvar] mappings in
 * /proc/self/maps (the [vdso] bytes are dumped to argv[1], default /tmp/vdso.dump, for the
 * host checker), write protection, and a new base at every exec.
 * Without a vDSO (qemu-user) the vDSO cases SKIP; the /proc/self/maps format and the libc
 * time fallback still run. */
#define _GNU_SOURCE
#include <fcntl.h>
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

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--report-vdso-base") == 0) {
		uintptr_t base = getauxval(AT_SYSINFO_EHDR);
		return write(1, &base, sizeof base) == sizeof base ? 0 : 1;
	}
	if (argc > 1)
		dump_path = argv[1];
	ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
	if (length > 0)
		self[length] = 0;
	else if (!realpath(argv[0], self))
		snprintf(self, sizeof self, "%s", argv[0]);
	RUN(vdso_elf_header_and_segments);
	RUN(vdso_dynamic_section);
	RUN(vdso_musl_walk);
	RUN(vdso_go_walk);
	RUN(vdso_kernel_functions_direct);
	RUN(vdso_proc_maps_and_dump);
	RUN(vdso_write_protection);
	RUN(vdso_base_randomized_per_exec);
	RUN(vdso_proc_maps_format);
	RUN(vdso_libc_time_agrees_with_syscall);
	return tl_finish();
}
