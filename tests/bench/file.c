/* file.c: 4 KiB writes and reads at offset 0 of a file in the in-memory file system
 * (/tmp by default; argv[1] names another directory). pwrite and pread keep the offset out
 * of the measurement; the last read is checked against what was written. */
#include <fcntl.h>
#include <stdlib.h>

#include "bench.h"

#define ITERATIONS 10000L
#define BLOCK 4096

static unsigned char block[BLOCK];
static unsigned char readback[BLOCK];

int main(int argc, char **argv)
{
	char path[256];
	snprintf(path, sizeof path, "%s/bench-file", argc > 1 ? argv[1] : "/tmp");
	int file = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (file < 0) {
		bench_fail("file_write_4k", "open %s: %s", path, strerror(errno));
		bench_fail("file_read_4k", "open %s: %s", path, strerror(errno));
		return bench_exit_status();
	}
	for (int index = 0; index < BLOCK; index++)
		block[index] = (unsigned char)(index * 7 + 1);

	long failures = 0;
	uint64_t start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++)
		failures += pwrite(file, block, BLOCK, 0) != BLOCK;
	uint64_t ticks = bench_counter() - start;
	if (failures != 0)
		bench_fail("file_write_4k", "%ld short or failed writes (%s)", failures,
			   strerror(errno));
	else
		bench_report("file_write_4k", ticks, ITERATIONS);

	failures = 0;
	start = bench_counter();
	for (long iteration = 0; iteration < ITERATIONS; iteration++)
		failures += pread(file, readback, BLOCK, 0) != BLOCK;
	ticks = bench_counter() - start;
	if (failures != 0)
		bench_fail("file_read_4k", "%ld short or failed reads (%s)", failures,
			   strerror(errno));
	else if (memcmp(block, readback, BLOCK) != 0)
		bench_fail("file_read_4k", "read back different bytes than were written");
	else
		bench_report("file_read_4k", ticks, ITERATIONS);
	close(file);
	unlink(path);
	return bench_exit_status();
}
