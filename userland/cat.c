/* cat.c: copies files to standard output. `cat [FILE...]`; no FILE, or `-`, reads standard
 * input. Exit status 0, or 1 if some file could not be read or the output not written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buffer[65536];

/* Copies fd to standard output. Returns 0, or -1 after reporting the failure. */
static int copy(int fd, const char *name)
{
	for (;;) {
		ssize_t count = read(fd, buffer, sizeof buffer);
		if (count == 0)
			return 0;
		if (count < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "cat: %s: %s\n", name, strerror(errno));
			return -1;
		}
		for (ssize_t done = 0; done < count;) {
			ssize_t written = write(1, buffer + done, (size_t)(count - done));
			if (written < 0) {
				if (errno == EINTR)
					continue;
				fprintf(stderr, "cat: write error: %s\n", strerror(errno));
				return -1;
			}
			done += written;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return copy(0, "standard input") < 0;
	int status = 0;
	for (int index = 1; index < argc; index++) {
		if (strcmp(argv[index], "-") == 0) {
			status |= copy(0, "standard input") < 0;
			continue;
		}
		int fd = open(argv[index], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "cat: %s: %s\n", argv[index], strerror(errno));
			status = 1;
			continue;
		}
		status |= copy(fd, argv[index]) < 0;
		close(fd);
	}
	return status;
}
