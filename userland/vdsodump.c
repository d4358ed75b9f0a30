/* vdsodump.c: saves the vDSO this process was given and describes it.
 * `vdsodump [FILE]`: finds the [vdso] line of /proc/self/maps and writes the bytes of that
 * mapping to FILE, or to standard output when it is not a terminal (`readelf -a FILE`
 * then reads it). Independently, it follows AT_SYSINFO_EHDR and prints to standard error
 * the ELF's soname and exported symbols with their versions and addresses, reading only
 * within the mapping. Exit status 0 if the dump was written, 1 otherwise.
 * `vdsodump --describe FILE` prints the same description for an image on disk (a dump, or
 * the build's vdso.so; their file and memory images are identical), with link-time
 * addresses; exit status 1 if it is not a readable ELF image. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

/* The mapped image: [start, start + size). */
struct image {
	uintptr_t start;
	size_t size;
};

/* A pointer to size bytes at address, or NULL if they are not all inside the image. */
static const void *inside(const struct image *image, uintptr_t address, size_t size)
{
	if (address < image->start || size > image->size ||
	    address - image->start > image->size - size)
		return NULL;
	return (const void *)address;
}

/* A NUL-terminated string at address inside the image, or NULL. */
static const char *string_at(const struct image *image, uintptr_t address)
{
	for (uintptr_t at = address; inside(image, at, 1); at++)
		if (*(const char *)at == 0)
			return (const char *)address;
	return NULL;
}

/* Finds the [vdso] mapping in /proc/self/maps. Returns 0, or -1 after reporting. */
static int find_vdso_mapping(struct image *mapping)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	if (!maps) {
		fprintf(stderr, "vdsodump: /proc/self/maps: %s (is /proc mounted?)\n",
			strerror(errno));
		return -1;
	}
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof line, maps)) {
		unsigned long start, end;
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    end > start) {
			mapping->start = start;
			mapping->size = end - start;
			found = 1;
		}
	}
	fclose(maps);
	if (!found)
		fprintf(stderr, "vdsodump: no [vdso] line in /proc/self/maps\n");
	return found ? 0 : -1;
}

static int write_dump(const struct image *mapping, const char *path)
{
	int fd = 1;
	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "vdsodump: %s: %s\n", path, strerror(errno));
			return -1;
		}
	} else if (isatty(1)) {
		fprintf(stderr, "vdsodump: not writing binary data to a terminal; name a file\n");
		return -1;
	}
	const char *bytes = (const char *)mapping->start;
	for (size_t done = 0; done < mapping->size;) {
		ssize_t written = write(fd, bytes + done, mapping->size - done);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vdsodump: writing %s: %s\n", path ? path : "standard output",
				strerror(errno));
			if (path)
				close(fd);
			return -1;
		}
		done += (size_t)written;
	}
	if (path && close(fd) < 0) {
		fprintf(stderr, "vdsodump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "vdsodump: wrote %zu bytes (%#lx-%#lx) to %s\n", mapping->size,
		(unsigned long)mapping->start, (unsigned long)(mapping->start + mapping->size),
		path ? path : "standard output");
	return 0;
}

/* The number of dynamic symbols from a DT_GNU_HASH table: one past the highest symbol in
 * any chain. */
static size_t gnu_hash_symbol_count(const struct image *image, uintptr_t table)
{
	const uint32_t *header = inside(image, table, 16);
	if (!header)
		return 0;
	uint32_t bucket_count = header[0], symbol_offset = header[1], bloom_words = header[2];
	uintptr_t buckets = table + 16 + (uintptr_t)bloom_words * sizeof(Elf64_Addr);
	uintptr_t chains = buckets + (uintptr_t)bucket_count * 4;
	uint32_t highest = 0;
	for (uint32_t index = 0; index < bucket_count; index++) {
		const uint32_t *bucket = inside(image, buckets + (uintptr_t)index * 4, 4);
		if (!bucket)
			return 0;
		if (*bucket > highest)
			highest = *bucket;
	}
	if (highest < symbol_offset)
		return symbol_offset;
	for (;;) {
		const uint32_t *chain =
			inside(image, chains + (uintptr_t)(highest - symbol_offset) * 4, 4);
		if (!chain)
			return 0;
		if (*chain & 1)
			return (size_t)highest + 1;
		highest++;
	}
}

/* The name of version index in the DT_VERDEF list, or NULL. */
static const char *version_name(const struct image *image, uintptr_t verdef, uintptr_t strings,
				uint16_t index)
{
	for (int guard = 0; verdef && guard < 64; guard++) {
		const Elf64_Verdef *definition = inside(image, verdef, sizeof *definition);
		if (!definition)
			return NULL;
		if (definition->vd_ndx == index) {
			const Elf64_Verdaux *auxiliary = inside(
				image, verdef + definition->vd_aux, sizeof *auxiliary);
			return auxiliary ? string_at(image, strings + auxiliary->vda_name) : NULL;
		}
		if (!definition->vd_next)
			return NULL;
		verdef += definition->vd_next;
	}
	return NULL;
}

/* How symbol addresses are shown: where they are mapped, or as linked. */
enum addresses { MAPPED_ADDRESSES, LINK_ADDRESSES };

/* Prints the soname and exports of the ELF image at base (inside mapping when its size is
 * known). Returns 0, or -1 if the image is not one it can read. */
static int describe_vdso(uintptr_t base, const struct image *mapping, enum addresses addresses)
{
	/* Without a maps line, trust the first page until the program headers say more. */
	struct image image = { base, 4096 };
	if (mapping->size && base >= mapping->start && base < mapping->start + mapping->size)
		image = (struct image){ base, mapping->start + mapping->size - base };
	const Elf64_Ehdr *header = inside(&image, base, sizeof *header);
	if (!header || memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
	    header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_phentsize != sizeof(Elf64_Phdr)) {
		fprintf(stderr, "vdsodump: no 64-bit ELF header there\n");
		return -1;
	}
	const Elf64_Phdr *program_headers = inside(&image, base + header->e_phoff,
						   (size_t)header->e_phnum * sizeof(Elf64_Phdr));
	if (!program_headers) {
		fprintf(stderr, "vdsodump: program headers outside the image\n");
		return -1;
	}
	uintptr_t bias = 0, dynamic = 0;
	int have_load = 0;
	for (int index = 0; index < header->e_phnum; index++) {
		const Elf64_Phdr *segment = &program_headers[index];
		if (segment->p_type == PT_LOAD && !have_load) {
			bias = base + segment->p_offset - segment->p_vaddr;
			if (!mapping->size && segment->p_memsz > image.size)
				image.size = segment->p_memsz; /* no maps: the segment says how big */
			have_load = 1;
		} else if (segment->p_type == PT_DYNAMIC) {
			dynamic = segment->p_vaddr;
		}
	}
	if (!have_load || !dynamic) {
		fprintf(stderr, "vdsodump: no PT_LOAD or PT_DYNAMIC\n");
		return -1;
	}
	uintptr_t strings = 0, symbols = 0, hash = 0, gnu_hash = 0, versym = 0, verdef = 0;
	uint64_t soname = UINT64_MAX;
	for (uintptr_t at = bias + dynamic;; at += sizeof(Elf64_Dyn)) {
		const Elf64_Dyn *entry = inside(&image, at, sizeof *entry);
		if (!entry) {
			fprintf(stderr, "vdsodump: dynamic section runs off the image\n");
			return -1;
		}
		if (entry->d_tag == DT_NULL)
			break;
		switch (entry->d_tag) {
		case DT_STRTAB: strings = bias + entry->d_un.d_ptr; break;
		case DT_SYMTAB: symbols = bias + entry->d_un.d_ptr; break;
		case DT_HASH: hash = bias + entry->d_un.d_ptr; break;
		case DT_GNU_HASH: gnu_hash = bias + entry->d_un.d_ptr; break;
		case DT_VERSYM: versym = bias + entry->d_un.d_ptr; break;
		case DT_VERDEF: verdef = bias + entry->d_un.d_ptr; break;
		case DT_SONAME: soname = entry->d_un.d_val; break;
		default: break;
		}
	}
	if (!strings || !symbols) {
		fprintf(stderr, "vdsodump: no DT_STRTAB or DT_SYMTAB\n");
		return -1;
	}
	const char *name = soname != UINT64_MAX ? string_at(&image, strings + soname) : NULL;
	fprintf(stderr, "vdsodump: soname %s\n", name ? name : "(none)");
	size_t count = 0;
	const uint32_t *hash_header = hash ? inside(&image, hash, 8) : NULL;
	if (hash_header)
		count = hash_header[1]; /* nchain: one entry per symbol */
	else if (gnu_hash)
		count = gnu_hash_symbol_count(&image, gnu_hash);
	int exports = 0;
	for (size_t index = 1; index < count; index++) {
		const Elf64_Sym *symbol = inside(&image, symbols + index * sizeof *symbol,
						 sizeof *symbol);
		if (!symbol)
			break;
		int binding = ELF64_ST_BIND(symbol->st_info);
		if (symbol->st_shndx == SHN_UNDEF || (binding != STB_GLOBAL && binding != STB_WEAK))
			continue;
		const char *symbol_name = string_at(&image, strings + symbol->st_name);
		const char *version = NULL;
		const uint16_t *version_index =
			versym ? inside(&image, versym + index * 2, 2) : NULL;
		if (version_index)
			version = version_name(&image, verdef, strings, *version_index & 0x7fff);
		fprintf(stderr, "vdsodump: export %s%s%s at %#lx, %lu bytes\n",
			symbol_name ? symbol_name : "?", version ? "@@" : "", version ? version : "",
			(unsigned long)(addresses == MAPPED_ADDRESSES ? bias + symbol->st_value
								       : symbol->st_value),
			(unsigned long)symbol->st_size);
		exports++;
	}
	if (!exports)
		fprintf(stderr, "vdsodump: no exported symbols found\n");
	return 0;
}

/* --describe FILE: loads the file and describes it as an image. */
static int describe_file(const char *path)
{
	FILE *file = fopen(path, "rbe");
	if (!file) {
		fprintf(stderr, "vdsodump: %s: %s\n", path, strerror(errno));
		return 1;
	}
	size_t capacity = 1 << 16, size = 0;
	char *bytes = malloc(capacity);
	while (bytes) {
		size += fread(bytes + size, 1, capacity - size, file);
		if (size < capacity || capacity >= (64u << 20))
			break;
		char *grown = realloc(bytes, capacity * 2);
		if (!grown) {
			free(bytes);
			bytes = NULL;
			break;
		}
		bytes = grown;
		capacity *= 2;
	}
	fclose(file);
	if (!bytes) {
		fprintf(stderr, "vdsodump: %s: out of memory\n", path);
		return 1;
	}
	fprintf(stderr, "vdsodump: %s, %zu bytes\n", path, size);
	struct image image = { (uintptr_t)bytes, size };
	int status = describe_vdso((uintptr_t)bytes, &image, LINK_ADDRESSES) == 0 ? 0 : 1;
	free(bytes);
	return status;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--describe") == 0)
		return describe_file(argv[2]);
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: vdsodump [FILE] | vdsodump --describe FILE\n");
		return 2;
	}
	struct image mapping = { 0, 0 };
	int status = 1;
	if (find_vdso_mapping(&mapping) == 0 && write_dump(&mapping, argc > 1 ? argv[1] : NULL) == 0)
		status = 0;
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	if (base) {
		fprintf(stderr, "vdsodump: AT_SYSINFO_EHDR %#lx\n", (unsigned long)base);
		describe_vdso(base, &mapping, MAPPED_ADDRESSES);
	}
	else
		fprintf(stderr, "vdsodump: no AT_SYSINFO_EHDR in the auxiliary vector (no vDSO)\n");
	return status;
}
