/* mkdir.c: makes directories. `mkdir [-p] DIRECTORY...`: -p makes missing parents too and
 * accepts directories that already exist. Exit status 1 if any could not be made. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_directory(const char *path)
{
	struct stat status;
	return stat(path, &status) == 0 && S_ISDIR(status.st_mode);
}

/* Makes path and its missing parents; path is modified and restored. */
static int make_with_parents(char *path)
{
	for (char *slash = path + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = 0;
		int result = mkdir(path, 0777);
		int error = errno;
		*slash = '/';
		if (result < 0 && error != EEXIST) {
			errno = error;
			return -1;
		}
	}
	if (mkdir(path, 0777) < 0 && !(errno == EEXIST && is_directory(path)))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int parents = 0, index = 1, status = 0;
	if (index < argc && strcmp(argv[index], "-p") == 0) {
		parents = 1;
		index++;
	}
	if (index >= argc) {
		fprintf(stderr, "usage: mkdir [-p] DIRECTORY...\n");
		return 2;
	}
	for (; index < argc; index++) {
		int result = parents ? make_with_parents(argv[index]) : mkdir(argv[index], 0777);
		if (result < 0) {
			fprintf(stderr, "mkdir: %s: %s\n", argv[index], strerror(errno));
			status = 1;
		}
	}
	return status;
}
