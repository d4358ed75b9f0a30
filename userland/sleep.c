/* sleep.c: waits. `sleep SECONDS`, where SECONDS may have a fraction ("0.25"); nanosleep,
 * resumed after interruptions. Exit status 2 on a malformed duration. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sleep SECONDS\n");
		return 2;
	}
	/* Parse by hand: whole seconds, then up to nine fraction digits. */
	const char *cursor = argv[1];
	long long seconds = 0;
	long nanoseconds = 0;
	int digits = 0;
	for (; *cursor >= '0' && *cursor <= '9'; cursor++, digits++) {
		if (seconds > 1000000000LL)
			goto malformed;
		seconds = seconds * 10 + (*cursor - '0');
	}
	if (*cursor == '.') {
		long scale = 100000000;
		for (cursor++; *cursor >= '0' && *cursor <= '9'; cursor++, digits++) {
			nanoseconds += (*cursor - '0') * scale;
			scale /= 10;
		}
	}
	if (*cursor || digits == 0)
		goto malformed;
	struct timespec remaining = { .tv_sec = (time_t)seconds, .tv_nsec = nanoseconds };
	while (nanosleep(&remaining, &remaining) < 0) {
		if (errno != EINTR) {
			perror("sleep");
			return 1;
		}
	}
	return 0;
malformed:
	fprintf(stderr, "sleep: invalid duration '%s'\n", argv[1]);
	return 2;
}
