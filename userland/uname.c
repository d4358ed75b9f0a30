/* uname.c: prints system information from uname(2). `uname [-asnrvm]`: -s kernel name
 * (the default), -n node name, -r release, -v version, -m machine, -a all of them. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum field { SYSTEM = 1, NODE = 2, RELEASE = 4, VERSION = 8, MACHINE = 16, ALL = 31 };

int main(int argc, char **argv)
{
	int fields = 0, option;
	while ((option = getopt(argc, argv, "asnrvm")) != -1) {
		switch (option) {
		case 'a': fields |= ALL; break;
		case 's': fields |= SYSTEM; break;
		case 'n': fields |= NODE; break;
		case 'r': fields |= RELEASE; break;
		case 'v': fields |= VERSION; break;
		case 'm': fields |= MACHINE; break;
		default:
			fprintf(stderr, "usage: uname [-asnrvm]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: uname [-asnrvm]\n");
		return 2;
	}
	if (!fields)
		fields = SYSTEM;
	struct utsname names;
	if (uname(&names) < 0) {
		perror("uname");
		return 1;
	}
	const char *values[] = { names.sysname, names.nodename, names.release, names.version,
				 names.machine };
	int first = 1;
	for (int index = 0; index < 5; index++) {
		if (!(fields & (1 << index)))
			continue;
		printf("%s%s", first ? "" : " ", values[index]);
		first = 0;
	}
	putchar('\n');
	return 0;
}
