/* ls.c: lists files and directories. `ls [-l] [-a] [PATH...]`: one name per line, sorted;
 * -a includes names starting with '.', -l adds the file type and mode string, link count,
 * owner and group ids, size (major, minor for devices), modification time (UTC) and the
 * target of a symbolic link. Several paths: files first, then each directory under a
 * `PATH:` heading. Exit status 0, or 1 if some path could not be listed, 2 on bad usage. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int long_format;
static int show_hidden;
static int exit_status;

static void complain(const char *path, int error)
{
	fprintf(stderr, "ls: %s: %s\n", path, strerror(error));
	exit_status = 1;
}

static char type_character(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	case S_IFIFO:
		return 'p';
	case S_IFSOCK:
		return 's';
	default:
		return '-';
	}
}

/* "drwxr-xr-x", with s/S and t/T for set-id and sticky bits. */
static void mode_string(mode_t mode, char text[11])
{
	static const char letters[] = "rwxrwxrwx";
	text[0] = type_character(mode);
	for (int bit = 0; bit < 9; bit++)
		text[1 + bit] = (mode & (0400 >> bit)) ? letters[bit] : '-';
	if (mode & S_ISUID)
		text[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		text[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		text[9] = (mode & S_IXOTH) ? 't' : 'T';
	text[10] = 0;
}

/* Prints one entry; path is what to lstat, name what to show. */
static void show_entry(const char *path, const char *name)
{
	if (!long_format) {
		printf("%s\n", name);
		return;
	}
	struct stat status;
	if (lstat(path, &status) < 0) {
		complain(path, errno);
		return;
	}
	char mode[11];
	mode_string(status.st_mode, mode);
	char when[32] = "?";
	struct tm calendar;
	time_t modified = status.st_mtime;
	if (gmtime_r(&modified, &calendar))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &calendar);
	char size[32];
	if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode))
		snprintf(size, sizeof size, "%u, %u", major(status.st_rdev), minor(status.st_rdev));
	else
		snprintf(size, sizeof size, "%lld", (long long)status.st_size);
	printf("%s %3lu %4u %4u %9s %s %s", mode, (unsigned long)status.st_nlink,
	       (unsigned)status.st_uid, (unsigned)status.st_gid, size, when, name);
	if (S_ISLNK(status.st_mode)) {
		char target[4096];
		ssize_t length = readlink(path, target, sizeof target - 1);
		if (length >= 0) {
			target[length] = 0;
			printf(" -> %s", target);
		}
	}
	putchar('\n');
}

static int compare_names(const void *left, const void *right)
{
	return strcmp(*(char *const *)left, *(char *const *)right);
}

static void list_directory(const char *path)
{
	DIR *directory = opendir(path);
	if (!directory) {
		complain(path, errno);
		return;
	}
	char **names = NULL;
	size_t count = 0, capacity = 0;
	struct dirent *entry;
	errno = 0;
	while ((entry = readdir(directory))) {
		if (entry->d_name[0] == '.' && !show_hidden)
			continue;
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 64;
			char **grown = realloc(names, capacity * sizeof *names);
			if (!grown) {
				complain(path, ENOMEM);
				break;
			}
			names = grown;
		}
		names[count] = strdup(entry->d_name);
		if (!names[count]) {
			complain(path, ENOMEM);
			break;
		}
		count++;
	}
	if (errno && !entry)
		complain(path, errno);
	closedir(directory);
	qsort(names, count, sizeof *names, compare_names);
	size_t path_length = strlen(path);
	for (size_t index = 0; index < count; index++) {
		char *full = malloc(path_length + strlen(names[index]) + 2);
		if (full) {
			sprintf(full, "%s%s%s", path,
				path_length && path[path_length - 1] == '/' ? "" : "/", names[index]);
			show_entry(full, names[index]);
			free(full);
		}
		free(names[index]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	int option;
	while ((option = getopt(argc, argv, "la1")) != -1) {
		switch (option) {
		case 'l':
			long_format = 1;
			break;
		case 'a':
			show_hidden = 1;
			break;
		case '1':
			break;
		default:
			fprintf(stderr, "usage: ls [-la] [PATH...]\n");
			return 2;
		}
	}
	static char *current[] = { ".", NULL };
	char **paths = optind < argc ? &argv[optind] : current;
	int path_count = optind < argc ? argc - optind : 1;

	/* Files (and anything that is not a directory) first, as one group. */
	int files_shown = 0;
	for (int index = 0; index < path_count; index++) {
		struct stat status;
		/* A symlink to a directory named on the command line is listed as the directory. */
		if (stat(paths[index], &status) < 0 && lstat(paths[index], &status) < 0) {
			complain(paths[index], errno);
			paths[index] = NULL;
			continue;
		}
		if (S_ISDIR(status.st_mode))
			continue;
		show_entry(paths[index], paths[index]);
		files_shown = 1;
		paths[index] = NULL;
	}
	int printed_group = 0;
	for (int index = 0; index < path_count; index++) {
		if (!paths[index])
			continue;
		if (path_count > 1) {
			if (printed_group || files_shown)
				putchar('\n');
			printf("%s:\n", paths[index]);
		}
		list_directory(paths[index]);
		printed_group = 1;
	}
	return exit_status;
}
