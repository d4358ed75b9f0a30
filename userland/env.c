/* env.c: prints the environment, or runs a command in a changed one.
 * `env [-i] [NAME=VALUE...] [COMMAND [ARG...]]`: -i starts from an empty environment;
 * each NAME=VALUE is set; with no COMMAND the result is printed, one NAME=VALUE a line.
 * COMMAND is looked up in PATH; exit status 127 if it is not found, 126 if it cannot be
 * run, otherwise its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int index = 1;
	if (index < argc && strcmp(argv[index], "-i") == 0) {
		clearenv();
		index++;
	}
	if (index < argc && strcmp(argv[index], "--") == 0)
		index++;
	for (; index < argc && strchr(argv[index], '='); index++) {
		if (putenv(argv[index]) != 0) {
			fprintf(stderr, "env: %s: %s\n", argv[index], strerror(errno));
			return 125;
		}
	}
	if (index >= argc) {
		for (char **entry = environ; entry && *entry; entry++)
			printf("%s\n", *entry);
		return 0;
	}
	execvp(argv[index], &argv[index]);
	int error = errno;
	fprintf(stderr, "env: %s: %s\n", argv[index], strerror(error));
	return error == ENOENT ? 127 : 126;
}
