/* mmap.c: creating and destroying a mapping: mmap of 4 KiB of anonymous memory, never
 * touched, then munmap. One operation is the pair. */
#include <sys/mman.h>

#include "bench.h"

#define ITERATIONS 10000L

int main(void)
{
	const char *name = "mmap_munmap";
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++) {
		void *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED) {
			bench_fail(name, "mmap: %s", strerror(errno));
			return bench_exit_status();
		}
		if (munmap(page, 4096) != 0) {
			bench_fail(name, "munmap: %s", strerror(errno));
			return bench_exit_status();
		}
	}
	bench_report(name, bench_counter() - start, ITERATIONS);
	return bench_exit_status();
}
