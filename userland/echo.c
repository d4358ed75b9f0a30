/* echo.c: writes its arguments, separated by spaces, and a newline. `echo [-neE] [ARG...]`:
 * -n leaves out the newline, -e interprets \n \t \r \a \b \f \v \\ \e, \0NNN (octal) and
 * \c (stop output here), -E turns that off again. The line is written in one write(2). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether arg is an option word made only of n, e and E ("-n", "-ne", ...). */
static int is_option(const char *arg)
{
	if (arg[0] != '-' || !arg[1])
		return 0;
	for (const char *letter = arg + 1; *letter; letter++)
		if (*letter != 'n' && *letter != 'e' && *letter != 'E')
			return 0;
	return 1;
}

/* Appends arg to out, interpreting escapes. Returns 1 when \c asks to stop. */
static int append_escaped(const char *arg, char *out, size_t *length)
{
	for (const char *cursor = arg; *cursor; cursor++) {
		if (*cursor != '\\' || !cursor[1]) {
			out[(*length)++] = *cursor;
			continue;
		}
		cursor++;
		switch (*cursor) {
		case 'n': out[(*length)++] = '\n'; break;
		case 't': out[(*length)++] = '\t'; break;
		case 'r': out[(*length)++] = '\r'; break;
		case 'a': out[(*length)++] = '\a'; break;
		case 'b': out[(*length)++] = '\b'; break;
		case 'f': out[(*length)++] = '\f'; break;
		case 'v': out[(*length)++] = '\v'; break;
		case 'e': out[(*length)++] = 033; break;
		case '\\': out[(*length)++] = '\\'; break;
		case 'c': return 1;
		case '0': {
			int value = 0;
			for (int digits = 0; digits < 3 && cursor[1] >= '0' && cursor[1] <= '7'; digits++)
				value = value * 8 + (*++cursor - '0');
			out[(*length)++] = (char)value;
			break;
		}
		default:
			out[(*length)++] = '\\';
			out[(*length)++] = *cursor;
			break;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int newline = 1, escapes = 0, index = 1;
	for (; index < argc && is_option(argv[index]); index++) {
		for (const char *letter = argv[index] + 1; *letter; letter++) {
			if (*letter == 'n')
				newline = 0;
			else
				escapes = *letter == 'e';
		}
	}
	/* Escapes never lengthen the text, so arguments + spaces + newline bound the output. */
	size_t total = 2;
	for (int at = index; at < argc; at++)
		total += strlen(argv[at]) + 1;
	char *out = malloc(total);
	if (!out)
		return 1;
	size_t length = 0;
	int stopped = 0;
	for (int at = index; at < argc && !stopped; at++) {
		if (at > index)
			out[length++] = ' ';
		if (escapes) {
			stopped = append_escaped(argv[at], out, &length);
		} else {
			size_t size = strlen(argv[at]);
			memcpy(out + length, argv[at], size);
			length += size;
		}
	}
	if (newline && !stopped)
		out[length++] = '\n';
	for (size_t done = 0; done < length;) {
		ssize_t written = write(1, out + done, length - done);
		if (written < 0)
			return 1;
		done += (size_t)written;
	}
	return 0;
}
