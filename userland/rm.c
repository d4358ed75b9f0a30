/* rm.c: removes files. `rm [-r] [-f] PATH...`: -r removes directories and their contents
 * (without following symbolic links), -f ignores paths that do not exist. Exit status 1
 * if anything could not be removed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int recursive, force;

static int complain(const char *path)
{
	if (force && errno == ENOENT)
		return 0;
	fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
	return 1;
}

static int remove_path(const char *path)
{
	struct stat status;
	if (lstat(path, &status) < 0)
		return complain(path);
	if (!S_ISDIR(status.st_mode))
		return unlink(path) < 0 ? complain(path) : 0;
	if (!recursive) {
		fprintf(stderr, "rm: %s: is a directory (use -r)\n", path);
		return 1;
	}
	DIR *directory = opendir(path);
	if (!directory)
		return complain(path);
	int failed = 0;
	struct dirent *entry;
	while ((entry = readdir(directory))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		char *child = malloc(strlen(path) + strlen(entry->d_name) + 2);
		if (!child) {
			failed = 1;
			break;
		}
		sprintf(child, "%s/%s", path, entry->d_name);
		failed |= remove_path(child);
		free(child);
	}
	closedir(directory);
	if (rmdir(path) < 0)
		failed |= complain(path);
	return failed;
}

int main(int argc, char **argv)
{
	int index = 1;
	for (; index < argc && argv[index][0] == '-' && argv[index][1]; index++) {
		if (strcmp(argv[index], "--") == 0) {
			index++;
			break;
		}
		for (const char *letter = argv[index] + 1; *letter; letter++) {
			if (*letter == 'r' || *letter == 'R') {
				recursive = 1;
			} else if (*letter == 'f') {
				force = 1;
			} else {
				fprintf(stderr, "usage: rm [-rf] PATH...\n");
				return 2;
			}
		}
	}
	if (index >= argc && !force) {
		fprintf(stderr, "usage: rm [-rf] PATH...\n");
		return 2;
	}
	int status = 0;
	for (; index < argc; index++)
		status |= remove_path(argv[index]);
	return status;
}
