/* vdsolib.h: finds symbols in the vDSO the way its consumers do, so a test fails whenever one
 * of them would.
 *
 * Two ways to reach the dynamic section, as the consumers differ:
 *   LAYOUT_BY_OFFSET  musl: PT_DYNAMIC at (ELF header + p_offset)
 *   LAYOUT_BY_VADDR   glibc and Go: load bias + p_vaddr, bias from the PT_LOAD
 * and three ways to find a symbol:
 *   vdso_lookup_linear    musl: every DT_HASH symbol in order, version via DT_VERSYM/DT_VERDEF
 *   vdso_lookup_sysv_hash Go without GNU hash: DT_HASH bucket and chain walk, verdef by vd_hash
 *   vdso_lookup_gnu_hash  Go and glibc with DT_GNU_HASH: bloom-free bucket and chain walk
 * Each returns the symbol's address or NULL, and sets *error to say why on NULL. */
#ifndef VDSOLIB_H
#define VDSOLIB_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

enum vdso_layout { LAYOUT_BY_OFFSET, LAYOUT_BY_VADDR };

struct vdso_image {
	uintptr_t load_bias; /* runtime address = load_bias + st_value */
	const Elf64_Sym *symbols;
	const char *strings;
	const uint32_t *sysv_hash;
	const uint32_t *gnu_hash;
	const uint16_t *versym;
	const Elf64_Verdef *verdef;
	size_t verdef_count;
};

/* The SysV ELF hash, also used for vd_hash. */
static uint32_t vdso_elf_hash(const char *name)
{
	uint32_t hash = 0;
	for (const unsigned char *cursor = (const unsigned char *)name; *cursor; cursor++) {
		hash = (hash << 4) + *cursor;
		uint32_t high = hash & 0xf0000000U;
		if (high)
			hash ^= high >> 24;
		hash &= ~high;
	}
	return hash;
}

static uint32_t vdso_gnu_hash(const char *name)
{
	uint32_t hash = 5381;
	for (const unsigned char *cursor = (const unsigned char *)name; *cursor; cursor++)
		hash = hash * 33 + *cursor;
	return hash;
}

__attribute__((unused)) static int vdso_parse(uintptr_t header_address, enum vdso_layout layout,
					      struct vdso_image *image, const char **error)
{
	const Elf64_Ehdr *header = (const Elf64_Ehdr *)header_address;
	memset(image, 0, sizeof *image);
	if (memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_ident[EI_CLASS] != ELFCLASS64 ||
	    header->e_machine != EM_AARCH64) {
		*error = "not an ELF64 aarch64 header";
		return -1;
	}
	const Elf64_Phdr *program_headers = (const Elf64_Phdr *)(header_address + header->e_phoff);
	const Elf64_Phdr *load = NULL, *dynamic = NULL;
	for (int index = 0; index < header->e_phnum; index++) {
		if (program_headers[index].p_type == PT_LOAD && !load)
			load = &program_headers[index];
		else if (program_headers[index].p_type == PT_DYNAMIC)
			dynamic = &program_headers[index];
	}
	if (!load || !dynamic) {
		*error = "no PT_LOAD or no PT_DYNAMIC";
		return -1;
	}
	image->load_bias = header_address + load->p_offset - load->p_vaddr;
	const Elf64_Dyn *entries = layout == LAYOUT_BY_OFFSET
					   ? (const Elf64_Dyn *)(header_address + dynamic->p_offset)
					   : (const Elf64_Dyn *)(image->load_bias + dynamic->p_vaddr);
	for (const Elf64_Dyn *entry = entries; entry->d_tag != DT_NULL; entry++) {
		uintptr_t pointer = image->load_bias + entry->d_un.d_ptr;
		switch (entry->d_tag) {
		case DT_STRTAB:
			image->strings = (const char *)pointer;
			break;
		case DT_SYMTAB:
			image->symbols = (const Elf64_Sym *)pointer;
			break;
		case DT_HASH:
			image->sysv_hash = (const uint32_t *)pointer;
			break;
		case DT_GNU_HASH:
			image->gnu_hash = (const uint32_t *)pointer;
			break;
		case DT_VERSYM:
			image->versym = (const uint16_t *)pointer;
			break;
		case DT_VERDEF:
			image->verdef = (const Elf64_Verdef *)pointer;
			break;
		case DT_VERDEFNUM:
			image->verdef_count = entry->d_un.d_val;
			break;
		default:
			break;
		}
	}
	if (!image->strings || !image->symbols) {
		*error = "no DT_STRTAB or DT_SYMTAB";
		return -1;
	}
	return 0;
}

static const Elf64_Verdef *vdso_next_verdef(const Elf64_Verdef *definition)
{
	if (definition->vd_next == 0)
		return NULL;
	return (const Elf64_Verdef *)((const char *)definition + definition->vd_next);
}

static const char *vdso_verdef_name(const struct vdso_image *image, const Elf64_Verdef *definition)
{
	const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)definition + definition->vd_aux);
	return image->strings + aux->vda_name;
}

/* musl: the symbol's version index names a verdef whose first name is `version`. */
static int vdso_version_matches_by_index(const struct vdso_image *image, size_t symbol_index,
					 const char *version)
{
	if (!image->versym || !image->verdef)
		return 0;
	uint16_t wanted = image->versym[symbol_index] & 0x7fff;
	for (const Elf64_Verdef *definition = image->verdef; definition;
	     definition = vdso_next_verdef(definition)) {
		if (!(definition->vd_flags & VER_FLG_BASE) && (definition->vd_ndx & 0x7fff) == wanted)
			return strcmp(vdso_verdef_name(image, definition), version) == 0;
	}
	return 0;
}

/* Go: find the verdef whose vd_hash and name match, then compare its index. */
static int vdso_version_matches_by_hash(const struct vdso_image *image, size_t symbol_index,
					const char *version)
{
	if (!image->versym || !image->verdef)
		return 0;
	uint32_t hash = vdso_elf_hash(version);
	for (const Elf64_Verdef *definition = image->verdef; definition;
	     definition = vdso_next_verdef(definition)) {
		if (!(definition->vd_flags & VER_FLG_BASE) && definition->vd_hash == hash &&
		    strcmp(vdso_verdef_name(image, definition), version) == 0)
			return (definition->vd_ndx & 0x7fff) == (image->versym[symbol_index] & 0x7fff);
	}
	return 0;
}

static int vdso_symbol_usable(const Elf64_Sym *symbol)
{
	int type = ELF64_ST_TYPE(symbol->st_info), binding = ELF64_ST_BIND(symbol->st_info);
	return (type == STT_FUNC || type == STT_NOTYPE) &&
	       (binding == STB_GLOBAL || binding == STB_WEAK) && symbol->st_shndx != SHN_UNDEF &&
	       symbol->st_value != 0;
}

__attribute__((unused)) static void *vdso_lookup_linear(const struct vdso_image *image,
							const char *name, const char *version,
							const char **error)
{
	if (!image->sysv_hash) {
		*error = "no DT_HASH (musl needs it)";
		return NULL;
	}
	uint32_t count = image->sysv_hash[1];
	for (uint32_t index = 0; index < count; index++) {
		const Elf64_Sym *symbol = &image->symbols[index];
		if (!vdso_symbol_usable(symbol) || strcmp(image->strings + symbol->st_name, name) != 0)
			continue;
		if (!vdso_version_matches_by_index(image, index, version))
			continue;
		return (void *)(image->load_bias + symbol->st_value);
	}
	*error = "not found by a linear DT_HASH walk with versions";
	return NULL;
}

__attribute__((unused)) static void *vdso_lookup_sysv_hash(const struct vdso_image *image,
							   const char *name, const char *version,
							   const char **error)
{
	if (!image->sysv_hash) {
		*error = "no DT_HASH";
		return NULL;
	}
	uint32_t bucket_count = image->sysv_hash[0], chain_count = image->sysv_hash[1];
	const uint32_t *buckets = image->sysv_hash + 2, *chains = buckets + bucket_count;
	if (bucket_count == 0) {
		*error = "DT_HASH has no buckets";
		return NULL;
	}
	uint32_t steps = 0;
	for (uint32_t index = buckets[vdso_elf_hash(name) % bucket_count]; index != 0;
	     index = chains[index]) {
		if (index >= chain_count || ++steps > chain_count) {
			*error = "DT_HASH chain out of range or cyclic";
			return NULL;
		}
		const Elf64_Sym *symbol = &image->symbols[index];
		if (vdso_symbol_usable(symbol) && strcmp(image->strings + symbol->st_name, name) == 0 &&
		    vdso_version_matches_by_hash(image, index, version))
			return (void *)(image->load_bias + symbol->st_value);
	}
	*error = "not found in its DT_HASH bucket chain";
	return NULL;
}

__attribute__((unused)) static void *vdso_lookup_gnu_hash(const struct vdso_image *image,
							  const char *name, const char *version,
							  const char **error)
{
	if (!image->gnu_hash) {
		*error = "no DT_GNU_HASH";
		return NULL;
	}
	uint32_t bucket_count = image->gnu_hash[0], symbol_offset = image->gnu_hash[1],
		 bloom_size = image->gnu_hash[2];
	if (bucket_count == 0) {
		*error = "DT_GNU_HASH has no buckets";
		return NULL;
	}
	const uint32_t *buckets = image->gnu_hash + 4 + bloom_size * 2; /* 64-bit bloom words */
	const uint32_t *chains = buckets + bucket_count;
	uint32_t hash = vdso_gnu_hash(name);
	uint32_t index = buckets[hash % bucket_count];
	if (index == 0) {
		*error = "empty DT_GNU_HASH bucket";
		return NULL;
	}
	if (index < symbol_offset) {
		*error = "DT_GNU_HASH bucket below symoffset";
		return NULL;
	}
	for (int steps = 0; steps < 4096; steps++, index++) {
		uint32_t chain_hash = chains[index - symbol_offset];
		const Elf64_Sym *symbol = &image->symbols[index];
		if ((chain_hash | 1) == (hash | 1) && vdso_symbol_usable(symbol) &&
		    strcmp(image->strings + symbol->st_name, name) == 0 &&
		    vdso_version_matches_by_hash(image, index, version))
			return (void *)(image->load_bias + symbol->st_value);
		if (chain_hash & 1)
			break;
	}
	*error = "not found in its DT_GNU_HASH chain";
	return NULL;
}

/* The musl-style lookup from the running process's vDSO, or NULL without one. */
__attribute__((unused)) static void *vdso_symbol(uintptr_t header_address, const char *name)
{
	struct vdso_image image;
	const char *error;
	if (!header_address || vdso_parse(header_address, LAYOUT_BY_OFFSET, &image, &error) != 0)
		return NULL;
	return vdso_lookup_linear(&image, name, "LINUX_2.6.39", &error);
}

#endif
