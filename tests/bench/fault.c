/* fault.c: the first touch of fresh anonymous memory: one page fault that allocates and
 * maps a zeroed 4 KiB page. Transparent huge pages are declined (MADV_NOHUGEPAGE) so that
 * each touch is one 4 KiB fault; a kernel without madvise simply ignores the hint. */
#include <sys/mman.h>

#include "bench.h"

#define PAGE_SIZE 4096L
#define PAGES 1024L
#define ROUNDS 8L

int main(void)
{
	const char *name = "anonymous_page_first_touch";
	uint64_t ticks = 0;
	for (long round = 0; round < ROUNDS; round++) {
		size_t length = (size_t)(PAGES * PAGE_SIZE);
		unsigned char *region =
			mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED) {
			bench_fail(name, "mmap: %s", strerror(errno));
			return bench_exit_status();
		}
		(void)madvise(region, length, MADV_NOHUGEPAGE);
		uint64_t start = bench_counter();
		for (long page = 0; page < PAGES; page++)
			((volatile unsigned char *)region)[page * PAGE_SIZE] = (unsigned char)(page | 1);
		ticks += bench_counter() - start;
		for (long page = 0; page < PAGES; page++) {
			unsigned char *bytes = region + page * PAGE_SIZE;
			/* The touched byte holds what was written; the rest of the page is zero. */
			if (bytes[0] != (unsigned char)(page | 1) || bytes[1] != 0 ||
			    bytes[PAGE_SIZE - 1] != 0) {
				bench_fail(name, "page %ld holds the wrong bytes", page);
				return bench_exit_status();
			}
		}
		if (munmap(region, length) != 0) {
			bench_fail(name, "munmap: %s", strerror(errno));
			return bench_exit_status();
		}
	}
	bench_report(name, ticks, PAGES * ROUNDS);
	return bench_exit_status();
}
