/* sh.c: the interactive shell of the demo system.
 *
 * Runs commands typed on the console (a canonical-mode terminal hands read() one line),
 * a script file (`sh FILE [ARGS...]`) or a string (`sh -c 'COMMANDS' [NAME [ARGS...]]`).
 *
 * Language: words with '...' and "..." quoting and backslash escapes; $NAME, ${NAME}, $?,
 * $$, $#, $0..$9 and ~ expansion; unquoted expansions split on blanks; *, ? and [...]
 * patterns matched against file names (left as typed when nothing matches); NAME=VALUE
 * prefixes; pipelines `a | b | c`; redirections `<`, `>`, `>>`, `N>`, `N>>`, `N<`, `N>&M`;
 * lists with `;`, `&&`, `||` and newlines; `#` comments. A command continues on the next
 * line (prompt `> `) after an open quote, a trailing |, && or ||, or a backslash.
 * Builtins: cd [DIR|-], exit [N], export [NAME[=VALUE]...], unset NAME.... Every shell
 * variable is an environment variable, so every variable is exported. Not supported: job
 * control and `&`, control flow (if/while/for), functions, here-documents, ${NAME:-default}
 * and other operators. When it runs as process 1 it also reaps orphans after each pipeline.
 *
 * Exit statuses follow POSIX shells: 127 for a command not found, 126 for one that cannot
 * be executed, 128+N for a child killed by signal N, 2 for a syntax error. The process
 * primitives used are fork, execve, wait4, pipe2, dup2, open, close, chdir and fcntl. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Where commands are looked up when PATH is unset. */
#define DEFAULT_PATH "/bin"
/* The file-descriptor numbers the shell keeps its own files at, out of the way of N>. */
#define PRIVATE_FD_BASE 10

/* ---- Shell state ---- */

static int last_status;          /* $? */
static int interactive;          /* prompt, ignore SIGINT/SIGQUIT */
static char **positional;        /* $0, $1, ... */
static int positional_count;     /* including $0 */

/* ---- Small helpers: memory, growable strings and lists ---- */

static void out_of_memory(void)
{
	static const char message[] = "sh: out of memory\n";
	ssize_t ignored = write(2, message, sizeof message - 1);
	(void)ignored;
	_exit(2);
}

static void *allocate(size_t size)
{
	void *memory = malloc(size ? size : 1);
	if (!memory)
		out_of_memory();
	return memory;
}

static void *grow(void *memory, size_t *capacity, size_t needed, size_t element_size)
{
	if (needed <= *capacity)
		return memory;
	size_t new_capacity = *capacity ? *capacity : 8;
	while (new_capacity < needed)
		new_capacity *= 2;
	if (new_capacity > SIZE_MAX / element_size)
		out_of_memory();
	void *grown = realloc(memory, new_capacity * element_size);
	if (!grown)
		out_of_memory();
	*capacity = new_capacity;
	return grown;
}

static char *duplicate(const char *text, size_t length)
{
	char *copy = allocate(length + 1);
	memcpy(copy, text, length);
	copy[length] = 0;
	return copy;
}

struct buffer {
	char *data;
	size_t length, capacity;
};

static void buffer_push(struct buffer *buffer, char character)
{
	buffer->data = grow(buffer->data, &buffer->capacity, buffer->length + 2, 1);
	buffer->data[buffer->length++] = character;
	buffer->data[buffer->length] = 0;
}

static void buffer_append(struct buffer *buffer, const char *text)
{
	while (*text)
		buffer_push(buffer, *text++);
}

/* Takes the buffer's string (never NULL) and leaves the buffer empty. */
static char *buffer_take(struct buffer *buffer)
{
	char *text = buffer->data ? buffer->data : duplicate("", 0);
	*buffer = (struct buffer){ 0 };
	return text;
}

/* A NULL-terminated list of strings, ready to be an argv. */
struct string_list {
	char **items;
	size_t count, capacity;
};

static void list_push(struct string_list *list, char *item)
{
	list->items = grow(list->items, &list->capacity, list->count + 2, sizeof *list->items);
	list->items[list->count++] = item;
	list->items[list->count] = NULL;
}

static void list_free(struct string_list *list)
{
	for (size_t index = 0; index < list->count; index++)
		free(list->items[index]);
	free(list->items);
	*list = (struct string_list){ 0 };
}

static void error_message(const char *first, const char *second, const char *third)
{
	/* One write, so the line is whole even when several processes share stderr. */
	struct buffer line = { 0 };
	buffer_append(&line, "sh: ");
	buffer_append(&line, first);
	if (second) {
		buffer_append(&line, ": ");
		buffer_append(&line, second);
	}
	if (third) {
		buffer_append(&line, ": ");
		buffer_append(&line, third);
	}
	buffer_push(&line, '\n');
	ssize_t ignored = write(2, line.data, line.length);
	(void)ignored;
	free(line.data);
}

static int is_name_start(char character)
{
	return character == '_' || (character >= 'a' && character <= 'z') ||
	       (character >= 'A' && character <= 'Z');
}

static int is_name_character(char character)
{
	return is_name_start(character) || (character >= '0' && character <= '9');
}

/* The length of the NAME in "NAME=..." at the start of text, or 0 if it is not one. */
static size_t assignment_name_length(const char *text)
{
	if (!is_name_start(text[0]))
		return 0;
	size_t length = 1;
	while (is_name_character(text[length]))
		length++;
	return text[length] == '=' ? length : 0;
}

static int is_valid_name(const char *text)
{
	if (!is_name_start(text[0]))
		return 0;
	for (const char *cursor = text + 1; *cursor; cursor++)
		if (!is_name_character(*cursor))
			return 0;
	return 1;
}

/* ---- The syntax tree of one line ---- */

enum redirect_kind {
	REDIRECT_READ,   /* N<FILE   (N defaults to 0) */
	REDIRECT_WRITE,  /* N>FILE   (N defaults to 1) */
	REDIRECT_APPEND, /* N>>FILE */
	REDIRECT_DUP,    /* N>&M, N<&M */
};

struct redirect {
	enum redirect_kind kind;
	int fd;
	int source_fd;  /* REDIRECT_DUP */
	char *target;   /* the raw word naming the file, expanded when the command runs */
};

struct command {
	struct string_list words; /* raw words, quotes included; expanded when run */
	struct redirect *redirects;
	size_t redirect_count, redirect_capacity;
};

enum connector { CONNECT_ALWAYS, CONNECT_IF_SUCCESS, CONNECT_IF_FAILURE };

struct pipeline {
	enum connector connector; /* how this pipeline depends on the status before it */
	struct command *commands;
	size_t count, capacity;
};

struct program {
	struct pipeline *pipelines;
	size_t count, capacity;
};

static void program_free(struct program *program)
{
	for (size_t pipe_index = 0; pipe_index < program->count; pipe_index++) {
		struct pipeline *pipeline = &program->pipelines[pipe_index];
		for (size_t index = 0; index < pipeline->count; index++) {
			struct command *command = &pipeline->commands[index];
			list_free(&command->words);
			for (size_t redirect = 0; redirect < command->redirect_count; redirect++)
				free(command->redirects[redirect].target);
			free(command->redirects);
		}
		free(pipeline->commands);
	}
	free(program->pipelines);
	*program = (struct program){ 0 };
}

/* ---- Lexer ---- */

enum token_kind {
	TOKEN_END,
	TOKEN_WORD,
	TOKEN_PIPE,
	TOKEN_AND,
	TOKEN_OR,
	TOKEN_SEPARATOR, /* ; */
	TOKEN_NEWLINE,
	TOKEN_REDIRECT,
	TOKEN_ERROR,
};

struct token {
	enum token_kind kind;
	char *word;                 /* TOKEN_WORD: the raw text, malloc'd */
	struct redirect redirect;   /* TOKEN_REDIRECT: all but target */
	const char *error;          /* TOKEN_ERROR */
	int incomplete;             /* TOKEN_ERROR: more text could complete it */
};

struct lexer {
	const char *cursor;
};

static int is_blank(char character)
{
	return character == ' ' || character == '\t' || character == '\r';
}

static int ends_word(char character)
{
	return character == 0 || is_blank(character) || character == '\n' || character == '|' ||
	       character == '&' || character == ';' || character == '<' || character == '>';
}

/* Reads an operator starting with < or > (after an optional fd number) at lexer->cursor. */
static int lex_redirect(struct lexer *lexer, struct token *token)
{
	const char *cursor = lexer->cursor;
	long fd = -1;
	if (*cursor >= '0' && *cursor <= '9') {
		fd = 0;
		while (*cursor >= '0' && *cursor <= '9') {
			fd = fd * 10 + (*cursor - '0');
			if (fd > 255)
				return 0;
			cursor++;
		}
	}
	if (*cursor != '<' && *cursor != '>')
		return 0;
	struct redirect redirect = { 0 };
	if (*cursor == '<') {
		redirect.kind = REDIRECT_READ;
		redirect.fd = fd < 0 ? 0 : (int)fd;
		cursor++;
	} else {
		redirect.kind = REDIRECT_WRITE;
		redirect.fd = fd < 0 ? 1 : (int)fd;
		cursor++;
		if (*cursor == '>') {
			redirect.kind = REDIRECT_APPEND;
			cursor++;
		} else if (*cursor == '|') {
			cursor++;
		}
	}
	if (*cursor == '&' && redirect.kind != REDIRECT_APPEND) {
		cursor++;
		if (*cursor < '0' || *cursor > '9') {
			token->kind = TOKEN_ERROR;
			token->error = "expected a file descriptor number after >& or <&";
			lexer->cursor = cursor;
			return 1;
		}
		long source = 0;
		while (*cursor >= '0' && *cursor <= '9') {
			source = source * 10 + (*cursor - '0');
			if (source > 255)
				break;
			cursor++;
		}
		redirect.kind = REDIRECT_DUP;
		redirect.source_fd = (int)source;
	}
	token->kind = TOKEN_REDIRECT;
	token->redirect = redirect;
	lexer->cursor = cursor;
	return 1;
}

/* Finds the end of one raw word, honouring quotes, escapes and ${...}. */
static const char *scan_word(const char *cursor, const char **error)
{
	while (!ends_word(*cursor)) {
		if (*cursor == '\\') {
			cursor++;
			if (*cursor)
				cursor++;
		} else if (*cursor == '\'') {
			const char *close = strchr(cursor + 1, '\'');
			if (!close) {
				*error = "unterminated quoted string";
				return NULL;
			}
			cursor = close + 1;
		} else if (*cursor == '"') {
			cursor++;
			while (*cursor && *cursor != '"') {
				if (*cursor == '\\' && cursor[1])
					cursor++;
				cursor++;
			}
			if (!*cursor) {
				*error = "unterminated quoted string";
				return NULL;
			}
			cursor++;
		} else if (cursor[0] == '$' && cursor[1] == '{') {
			const char *close = strchr(cursor, '}');
			if (!close) {
				*error = "missing '}'";
				return NULL;
			}
			cursor = close + 1;
		} else {
			cursor++;
		}
	}
	return cursor;
}

static struct token next_token(struct lexer *lexer)
{
	struct token token = { 0 };
	for (;;) {
		while (is_blank(*lexer->cursor))
			lexer->cursor++;
		if (*lexer->cursor == '\\' && lexer->cursor[1] == '\n') {
			lexer->cursor += 2;
			continue;
		}
		break;
	}
	const char *cursor = lexer->cursor;
	if (*cursor == '#') {
		while (*cursor && *cursor != '\n')
			cursor++;
		lexer->cursor = cursor;
	}
	switch (*cursor) {
	case 0:
		token.kind = TOKEN_END;
		return token;
	case '\n':
		token.kind = TOKEN_NEWLINE;
		lexer->cursor = cursor + 1;
		return token;
	case ';':
		token.kind = TOKEN_SEPARATOR;
		lexer->cursor = cursor + 1;
		return token;
	case '|':
		token.kind = cursor[1] == '|' ? TOKEN_OR : TOKEN_PIPE;
		lexer->cursor = cursor + (cursor[1] == '|' ? 2 : 1);
		return token;
	case '&':
		if (cursor[1] == '&') {
			token.kind = TOKEN_AND;
			lexer->cursor = cursor + 2;
		} else {
			token.kind = TOKEN_ERROR;
			token.error = "background jobs (&) are not supported";
		}
		return token;
	default:
		break;
	}
	if (lex_redirect(lexer, &token))
		return token;
	const char *error = NULL;
	const char *end = scan_word(cursor, &error);
	if (!end) {
		token.kind = TOKEN_ERROR;
		token.error = error;
		token.incomplete = 1;
		return token;
	}
	token.kind = TOKEN_WORD;
	token.word = duplicate(cursor, (size_t)(end - cursor));
	lexer->cursor = end;
	return token;
}

static const char *token_text(enum token_kind kind)
{
	switch (kind) {
	case TOKEN_PIPE:
		return "|";
	case TOKEN_AND:
		return "&&";
	case TOKEN_OR:
		return "||";
	case TOKEN_SEPARATOR:
		return ";";
	case TOKEN_NEWLINE:
		return "newline";
	case TOKEN_REDIRECT:
		return "redirection";
	case TOKEN_END:
		return "newline";
	default:
		return "word";
	}
}

/* ---- Parser: line := pipeline ((; | && | ||) pipeline)* [;]
 *               pipeline := command (| command)*
 *               command := (WORD | REDIRECT WORD)+ ---- */

static void syntax_error_near(enum token_kind kind)
{
	struct buffer message = { 0 };
	buffer_append(&message, "syntax error near `");
	buffer_append(&message, token_text(kind));
	buffer_push(&message, '\'');
	error_message(message.data, NULL, NULL);
	free(message.data);
}

enum parse_result { PARSED, PARSE_FAILED, PARSE_INCOMPLETE };

/* Whether a text that ends too early is an error (the end of input) or a request for
 * another line (an open quote, or a line ending in |, && or ||). */
enum incomplete_text { INCOMPLETE_IS_ERROR, INCOMPLETE_NEEDS_MORE };

/* Parses text into program, reporting syntax errors. */
static enum parse_result parse(const char *text, struct program *program,
			       enum incomplete_text incomplete)
{
	struct lexer lexer = { text };
	struct token token = next_token(&lexer);
	enum connector connector = CONNECT_ALWAYS;
	int missing_target = 0; /* "a >" is an error even where more lines could follow */
	*program = (struct program){ 0 };
	for (;;) {
		/* Empty commands between separators ("; a", "a ;; b") are skipped. */
		if ((token.kind == TOKEN_SEPARATOR && connector == CONNECT_ALWAYS) ||
		    token.kind == TOKEN_NEWLINE) {
			token = next_token(&lexer);
			continue;
		}
		if (token.kind == TOKEN_END && connector == CONNECT_ALWAYS)
			return PARSED;
		program->pipelines = grow(program->pipelines, &program->capacity, program->count + 1,
					  sizeof *program->pipelines);
		struct pipeline *pipeline = &program->pipelines[program->count++];
		*pipeline = (struct pipeline){ .connector = connector };
		for (;;) {
			pipeline->commands = grow(pipeline->commands, &pipeline->capacity,
						  pipeline->count + 1, sizeof *pipeline->commands);
			struct command *command = &pipeline->commands[pipeline->count++];
			*command = (struct command){ 0 };
			for (;;) {
				if (token.kind == TOKEN_WORD) {
					list_push(&command->words, token.word);
				} else if (token.kind == TOKEN_REDIRECT) {
					struct redirect redirect = token.redirect;
					if (redirect.kind != REDIRECT_DUP) {
						token = next_token(&lexer);
						if (token.kind != TOKEN_WORD) {
							missing_target = 1;
							goto syntax_error;
						}
						redirect.target = token.word;
					}
					command->redirects = grow(command->redirects,
								  &command->redirect_capacity,
								  command->redirect_count + 1,
								  sizeof *command->redirects);
					command->redirects[command->redirect_count++] = redirect;
				} else {
					break;
				}
				token = next_token(&lexer);
			}
			if (command->words.count == 0 && command->redirect_count == 0)
				goto syntax_error;
			if (token.kind != TOKEN_PIPE)
				break;
			do /* a pipeline may continue on the next line */
				token = next_token(&lexer);
			while (token.kind == TOKEN_NEWLINE);
		}
		switch (token.kind) {
		case TOKEN_END:
			return PARSED;
		case TOKEN_SEPARATOR:
		case TOKEN_NEWLINE:
			connector = CONNECT_ALWAYS;
			break;
		case TOKEN_AND:
			connector = CONNECT_IF_SUCCESS;
			break;
		case TOKEN_OR:
			connector = CONNECT_IF_FAILURE;
			break;
		default:
			goto syntax_error;
		}
		token = next_token(&lexer);
	}
syntax_error:
	if (incomplete == INCOMPLETE_NEEDS_MORE && !missing_target &&
	    ((token.kind == TOKEN_ERROR && token.incomplete) || token.kind == TOKEN_END)) {
		program_free(program);
		return PARSE_INCOMPLETE;
	}
	if (token.kind == TOKEN_ERROR)
		error_message(token.error, NULL, NULL);
	else
		syntax_error_near(token.kind);
	free(token.word);
	program_free(program);
	return PARSE_FAILED;
}

/* ---- Expansion: raw word -> fields ---- */

/* One field being built: the text, and the same text as a glob pattern (quoted pattern
 * characters escaped), plus whether any unquoted pattern character appeared. */
struct field {
	struct buffer text, pattern;
	int started;  /* has content, possibly empty quotes: "" is a field, unquoted $EMPTY is not */
	int has_pattern;
};

enum quoting { UNQUOTED, QUOTED };

static void field_push(struct field *field, char character, enum quoting quoting)
{
	buffer_push(&field->text, character);
	int special = character == '*' || character == '?' || character == '[';
	if (character == '\\' || (special && quoting == QUOTED))
		buffer_push(&field->pattern, '\\');
	buffer_push(&field->pattern, character);
	if (special && quoting == UNQUOTED)
		field->has_pattern = 1;
	field->started = 1;
}

static void field_finish(struct field *field, struct string_list *fields, int match_files)
{
	if (!field->started)
		return;
	int matched = 0;
	if (match_files && field->has_pattern) {
		glob_t matches;
		if (glob(field->pattern.data, 0, NULL, &matches) == 0) {
			for (size_t index = 0; index < matches.gl_pathc; index++)
				list_push(fields, duplicate(matches.gl_pathv[index],
							   strlen(matches.gl_pathv[index])));
			matched = matches.gl_pathc > 0;
			globfree(&matches);
		}
	}
	if (matched)
		free(field->text.data);
	else
		list_push(fields, buffer_take(&field->text));
	free(field->pattern.data);
	*field = (struct field){ 0 };
}

/* The value of a parameter named by name[0..length), or NULL if unset. Numbers and
 * special parameters are formatted into scratch. */
static const char *parameter_value(const char *name, size_t length, char *scratch, size_t size)
{
	if (length == 1 && name[0] == '?') {
		snprintf(scratch, size, "%d", last_status);
		return scratch;
	}
	if (length == 1 && name[0] == '$') {
		snprintf(scratch, size, "%d", (int)getpid());
		return scratch;
	}
	if (length == 1 && name[0] == '#') {
		snprintf(scratch, size, "%d", positional_count > 0 ? positional_count - 1 : 0);
		return scratch;
	}
	if (name[0] >= '0' && name[0] <= '9') {
		long index = 0;
		for (size_t at = 0; at < length; at++) {
			if (name[at] < '0' || name[at] > '9' || index > 100000)
				return NULL;
			index = index * 10 + (name[at] - '0');
		}
		return index < positional_count ? positional[index] : NULL;
	}
	char key[256];
	if (length >= sizeof key)
		return NULL;
	memcpy(key, name, length);
	key[length] = 0;
	return getenv(key);
}

/* Expands the $... at *cursor (which points at the '$') into field; returns the cursor
 * after it. Unquoted values are split into fields at blanks. */
static const char *expand_parameter(const char *cursor, struct field *field,
				    struct string_list *fields, enum quoting quoting,
				    int match_files)
{
	const char *name = cursor + 1;
	size_t length;
	const char *after;
	if (*name == '{') {
		name++;
		const char *close = strchr(name, '}');
		if (!close) /* the lexer rejects this; be safe anyway */
			close = name + strlen(name);
		length = (size_t)(close - name);
		after = *close ? close + 1 : close;
	} else if (*name == '?' || *name == '$' || *name == '#' || (*name >= '0' && *name <= '9')) {
		length = 1;
		after = name + 1;
	} else if (is_name_start(*name)) {
		length = 1;
		while (is_name_character(name[length]))
			length++;
		after = name + length;
	} else {
		field_push(field, '$', quoting); /* a lone $ is literal */
		return cursor + 1;
	}
	char scratch[32];
	const char *value = length ? parameter_value(name, length, scratch, sizeof scratch) : NULL;
	if (!value)
		return after;
	for (; *value; value++) {
		if (quoting == UNQUOTED && (is_blank(*value) || *value == '\n'))
			field_finish(field, fields, match_files);
		else
			field_push(field, *value, quoting);
	}
	return after;
}

enum splitting { SPLIT_FIELDS, ONE_FIELD };

/* Expands one raw word into fields (appended to fields). With ONE_FIELD (assignments,
 * redirection targets) there is no splitting and no file-name matching. */
static void expand_word(const char *raw, struct string_list *fields, enum splitting splitting)
{
	struct field field = { 0 };
	int match_files = splitting == SPLIT_FIELDS;
	const char *cursor = raw;
	if (cursor[0] == '~' && (cursor[1] == 0 || cursor[1] == '/')) {
		const char *home = getenv("HOME");
		for (const char *at = home ? home : "/"; *at; at++)
			field_push(&field, *at, QUOTED);
		cursor++;
	}
	while (*cursor) {
		char character = *cursor;
		if (character == '\\') {
			if (cursor[1] == '\n') {
				cursor += 2; /* a line continuation leaves nothing */
			} else if (cursor[1]) {
				field_push(&field, cursor[1], QUOTED);
				cursor += 2;
			} else {
				field_push(&field, '\\', QUOTED);
				cursor++;
			}
		} else if (character == '\'') {
			field.started = 1;
			for (cursor++; *cursor && *cursor != '\''; cursor++)
				field_push(&field, *cursor, QUOTED);
			if (*cursor)
				cursor++;
		} else if (character == '"') {
			field.started = 1;
			for (cursor++; *cursor && *cursor != '"';) {
				if (*cursor == '\\' && cursor[1] == '\n') {
					cursor += 2;
				} else if (*cursor == '\\' && cursor[1] && strchr("$`\"\\", cursor[1])) {
					field_push(&field, cursor[1], QUOTED);
					cursor += 2;
				} else if (*cursor == '$') {
					cursor = expand_parameter(cursor, &field, fields, QUOTED,
								  match_files);
				} else {
					field_push(&field, *cursor++, QUOTED);
				}
			}
			if (*cursor)
				cursor++;
		} else if (character == '$') {
			cursor = expand_parameter(cursor, &field, fields,
						  splitting == SPLIT_FIELDS ? UNQUOTED : QUOTED,
						  match_files);
		} else {
			field_push(&field, character, UNQUOTED);
			cursor++;
		}
	}
	if (splitting == ONE_FIELD)
		field.started = 1;
	field_finish(&field, fields, match_files);
}

/* Expands a word that must stay one word (a redirection target). NULL if it does not. */
static char *expand_single(const char *raw)
{
	struct string_list fields = { 0 };
	expand_word(raw, &fields, ONE_FIELD);
	char *result = fields.count == 1 ? fields.items[0] : NULL;
	if (result)
		fields.items[0] = NULL;
	list_free(&fields);
	return result;
}

/* ---- Redirections ---- */

/* Applies a command's redirections to this process. Returns 0, or -1 after reporting. */
static int apply_redirects(const struct command *command)
{
	for (size_t index = 0; index < command->redirect_count; index++) {
		const struct redirect *redirect = &command->redirects[index];
		if (redirect->kind == REDIRECT_DUP) {
			if (dup2(redirect->source_fd, redirect->fd) < 0) {
				char number[16];
				snprintf(number, sizeof number, "%d", redirect->source_fd);
				error_message(number, strerror(errno), NULL);
				return -1;
			}
			continue;
		}
		char *path = expand_single(redirect->target);
		if (!path) {
			error_message(redirect->target, "ambiguous redirect", NULL);
			return -1;
		}
		int flags = redirect->kind == REDIRECT_READ	 ? O_RDONLY
			    : redirect->kind == REDIRECT_WRITE ? O_WRONLY | O_CREAT | O_TRUNC
							       : O_WRONLY | O_CREAT | O_APPEND;
		int fd = open(path, flags | O_CLOEXEC, 0666);
		if (fd < 0) {
			error_message(path, strerror(errno), NULL);
			free(path);
			return -1;
		}
		free(path);
		if (fd != redirect->fd) {
			int result = dup2(fd, redirect->fd);
			int saved_errno = errno;
			close(fd);
			if (result < 0) {
				error_message("redirection", strerror(saved_errno), NULL);
				return -1;
			}
		} else {
			/* Opened straight onto the wanted number: it must survive exec. */
			fcntl(fd, F_SETFD, 0);
		}
	}
	return 0;
}

/* The descriptors a builtin's redirections replace, saved so the shell can put them back. */
struct saved_fds {
	int fd[16];
	int copy[16]; /* -1: was closed */
	size_t count;
};

static void save_fds(const struct command *command, struct saved_fds *saved)
{
	saved->count = 0;
	for (size_t index = 0; index < command->redirect_count; index++) {
		int fd = command->redirects[index].fd;
		int already = 0;
		for (size_t at = 0; at < saved->count; at++)
			already |= saved->fd[at] == fd;
		if (already || saved->count == sizeof saved->fd / sizeof saved->fd[0])
			continue;
		saved->fd[saved->count] = fd;
		saved->copy[saved->count] = fcntl(fd, F_DUPFD_CLOEXEC, PRIVATE_FD_BASE);
		saved->count++;
	}
}

static void restore_fds(struct saved_fds *saved)
{
	for (size_t index = 0; index < saved->count; index++) {
		if (saved->copy[index] >= 0) {
			dup2(saved->copy[index], saved->fd[index]);
			close(saved->copy[index]);
		} else {
			close(saved->fd[index]);
		}
	}
	saved->count = 0;
}

/* ---- Builtins ---- */

static void exit_shell(int status)
{
	fflush(stdout);
	exit(status);
}

static int builtin_cd(char **argv)
{
	const char *target = argv[1];
	int print_directory = 0;
	if (!target) {
		target = getenv("HOME");
		if (!target || !*target)
			target = "/";
	} else if (strcmp(target, "-") == 0) {
		target = getenv("OLDPWD");
		if (!target) {
			error_message("cd", "OLDPWD not set", NULL);
			return 1;
		}
		print_directory = 1;
	}
	if (argv[1] && argv[2]) {
		error_message("cd", "too many arguments", NULL);
		return 1;
	}
	char previous[PATH_MAX];
	int have_previous = getcwd(previous, sizeof previous) != NULL;
	if (chdir(target) < 0) {
		error_message("cd", target, strerror(errno));
		return 1;
	}
	if (have_previous)
		setenv("OLDPWD", previous, 1);
	char current[PATH_MAX];
	if (getcwd(current, sizeof current)) {
		setenv("PWD", current, 1);
		if (print_directory)
			printf("%s\n", current);
	}
	return 0;
}

static int builtin_exit(char **argv)
{
	int status = last_status;
	if (argv[1]) {
		char *end;
		errno = 0;
		long value = strtol(argv[1], &end, 10);
		if (errno || end == argv[1] || *end) {
			error_message("exit", argv[1], "numeric argument required");
			status = 2;
		} else {
			status = (int)(value & 0xff);
		}
	}
	exit_shell(status);
	return status;
}

static int compare_strings(const void *left, const void *right)
{
	return strcmp(*(char *const *)left, *(char *const *)right);
}

static int builtin_export(char **argv)
{
	if (!argv[1]) {
		size_t count = 0;
		while (environ[count])
			count++;
		char **sorted = allocate((count + 1) * sizeof *sorted);
		memcpy(sorted, environ, (count + 1) * sizeof *sorted);
		qsort(sorted, count, sizeof *sorted, compare_strings);
		for (size_t index = 0; index < count; index++)
			printf("export %s\n", sorted[index]);
		free(sorted);
		return 0;
	}
	int status = 0;
	for (int index = 1; argv[index]; index++) {
		size_t name_length = assignment_name_length(argv[index]);
		if (name_length) {
			char *name = duplicate(argv[index], name_length);
			setenv(name, argv[index] + name_length + 1, 1);
			free(name);
		} else if (is_valid_name(argv[index])) {
			/* Every variable is already exported; an unset one becomes empty. */
			if (!getenv(argv[index]))
				setenv(argv[index], "", 1);
		} else {
			error_message("export", argv[index], "not a valid identifier");
			status = 1;
		}
	}
	return status;
}

static int builtin_unset(char **argv)
{
	int status = 0;
	for (int index = 1; argv[index]; index++) {
		if (!is_valid_name(argv[index])) {
			error_message("unset", argv[index], "not a valid identifier");
			status = 1;
			continue;
		}
		unsetenv(argv[index]);
	}
	return status;
}

typedef int (*builtin_function)(char **argv);

static builtin_function find_builtin(const char *name)
{
	if (strcmp(name, "cd") == 0)
		return builtin_cd;
	if (strcmp(name, "exit") == 0)
		return builtin_exit;
	if (strcmp(name, "export") == 0)
		return builtin_export;
	if (strcmp(name, "unset") == 0)
		return builtin_unset;
	return NULL;
}

/* ---- Running programs ---- */

static void run_script_with_shell(const char *path, char **argv)
{
	size_t count = 0;
	while (argv[count])
		count++;
	char **shell_argv = allocate((count + 2) * sizeof *shell_argv);
	shell_argv[0] = "sh";
	shell_argv[1] = (char *)path;
	for (size_t index = 1; index <= count; index++)
		shell_argv[index + 1] = argv[index];
	execve("/bin/sh", shell_argv, environ);
	free(shell_argv);
}

/* Replaces this (child) process with argv[0], searching PATH; never returns. */
static void exec_program(char **argv)
{
	const char *name = argv[0];
	if (strchr(name, '/')) {
		execve(name, argv, environ);
		int saved_errno = errno;
		if (saved_errno == ENOEXEC) {
			run_script_with_shell(name, argv);
			saved_errno = ENOEXEC;
		}
		error_message(name, strerror(saved_errno), NULL);
		_exit(saved_errno == ENOENT || saved_errno == ENOTDIR ? 127 : 126);
	}
	const char *path = getenv("PATH");
	if (!path)
		path = DEFAULT_PATH;
	int denied = 0;
	size_t name_length = strlen(name);
	for (const char *directory = path;;) {
		const char *end = strchrnul(directory, ':');
		size_t length = (size_t)(end - directory);
		char *candidate = allocate(length + name_length + 3);
		if (length == 0)
			candidate[0] = '.', length = 1; /* an empty PATH entry is the current directory */
		else
			memcpy(candidate, directory, length);
		candidate[length] = '/';
		memcpy(candidate + length + 1, name, name_length + 1);
		execve(candidate, argv, environ);
		if (errno == ENOEXEC)
			run_script_with_shell(candidate, argv);
		if (errno == EACCES)
			denied = 1;
		free(candidate);
		if (!*end)
			break;
		directory = end + 1;
	}
	if (denied) {
		error_message(name, "Permission denied", NULL);
		_exit(126);
	}
	error_message(name, "not found", NULL);
	_exit(127);
}

/* A command after expansion. */
struct expanded {
	struct string_list assignments; /* "NAME=VALUE" */
	struct string_list argv;
};

static void expand_command(const struct command *command, struct expanded *expanded)
{
	*expanded = (struct expanded){ 0 };
	size_t index = 0;
	/* Leading NAME=VALUE words are assignments (the name must be plain, unquoted text). */
	for (; index < command->words.count; index++) {
		const char *raw = command->words.items[index];
		size_t name_length = assignment_name_length(raw);
		if (!name_length)
			break;
		struct string_list value = { 0 };
		expand_word(raw + name_length + 1, &value, ONE_FIELD);
		struct buffer assignment = { 0 };
		for (size_t at = 0; at < name_length + 1; at++)
			buffer_push(&assignment, raw[at]);
		buffer_append(&assignment, value.count ? value.items[0] : "");
		list_push(&expanded->assignments, buffer_take(&assignment));
		list_free(&value);
	}
	for (; index < command->words.count; index++)
		expand_word(command->words.items[index], &expanded->argv, SPLIT_FIELDS);
}

static void apply_assignments(const struct string_list *assignments)
{
	for (size_t index = 0; index < assignments->count; index++) {
		char *assignment = assignments->items[index];
		size_t name_length = assignment_name_length(assignment);
		assignment[name_length] = 0;
		setenv(assignment, assignment + name_length + 1, 1);
		assignment[name_length] = '=';
	}
}

static void expanded_free(struct expanded *expanded)
{
	list_free(&expanded->assignments);
	list_free(&expanded->argv);
}

/* What a wait status means as $?, reporting deaths by signal like other shells. */
static int status_from_wait(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status)) {
		int signal_number = WTERMSIG(wait_status);
		if (signal_number != SIGINT && signal_number != SIGPIPE) {
			char line[128];
			int length = snprintf(line, sizeof line, "%s%s\n", strsignal(signal_number),
					      WCOREDUMP(wait_status) ? " (core dumped)" : "");
			if (length > 0) {
				ssize_t ignored = write(2, line, (size_t)length);
				(void)ignored;
			}
		}
		return 128 + signal_number;
	}
	return 1;
}

/* Runs a builtin, or a redirection-only or assignment-only command, in the shell itself. */
static int run_in_shell(const struct command *command, struct expanded *expanded,
			builtin_function builtin)
{
	struct saved_fds saved;
	save_fds(command, &saved);
	int status = 1;
	if (apply_redirects(command) == 0) {
		apply_assignments(&expanded->assignments);
		status = builtin ? builtin(expanded->argv.items) : 0;
		fflush(stdout);
	}
	restore_fds(&saved);
	return status;
}

/* In a forked child: sets up and runs one command of a pipeline; never returns. */
static void run_child(const struct command *command, struct expanded *expanded)
{
	if (interactive) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
	}
	if (apply_redirects(command) < 0)
		_exit(1);
	if (expanded->argv.count == 0)
		_exit(0);
	apply_assignments(&expanded->assignments);
	builtin_function builtin = find_builtin(expanded->argv.items[0]);
	if (builtin) {
		int status = builtin(expanded->argv.items);
		fflush(stdout);
		_exit(status);
	}
	exec_program(expanded->argv.items);
}

static int run_pipeline(const struct pipeline *pipeline)
{
	size_t count = pipeline->count;
	struct expanded *expanded = allocate(count * sizeof *expanded);
	for (size_t index = 0; index < count; index++)
		expand_command(&pipeline->commands[index], &expanded[index]);

	if (count == 1) {
		builtin_function builtin =
			expanded[0].argv.count ? find_builtin(expanded[0].argv.items[0]) : NULL;
		if (builtin || expanded[0].argv.count == 0) {
			int status = run_in_shell(&pipeline->commands[0], &expanded[0], builtin);
			expanded_free(&expanded[0]);
			free(expanded);
			return status;
		}
	}

	fflush(stdout);
	pid_t *children = allocate(count * sizeof *children);
	size_t started = 0;
	int input = -1; /* read end of the previous pipe */
	int status = 0;
	for (size_t index = 0; index < count; index++) {
		int pipe_fds[2] = { -1, -1 };
		if (index + 1 < count && pipe2(pipe_fds, O_CLOEXEC) < 0) {
			error_message("pipe", strerror(errno), NULL);
			status = 1;
			break;
		}
		pid_t child = fork();
		if (child == 0) {
			if (input >= 0 && dup2(input, 0) < 0)
				_exit(1);
			if (pipe_fds[1] >= 0 && dup2(pipe_fds[1], 1) < 0)
				_exit(1);
			run_child(&pipeline->commands[index], &expanded[index]);
		}
		if (input >= 0)
			close(input);
		if (pipe_fds[1] >= 0)
			close(pipe_fds[1]);
		input = pipe_fds[0];
		if (child < 0) {
			error_message("fork", strerror(errno), NULL);
			status = 1;
			break;
		}
		children[started++] = child;
	}
	if (input >= 0)
		close(input);
	for (size_t index = 0; index < started; index++) {
		int wait_status = 0;
		pid_t result;
		do
			result = wait4(children[index], &wait_status, 0, NULL);
		while (result < 0 && errno == EINTR);
		if (index == count - 1)
			status = result < 0 ? 1 : status_from_wait(wait_status);
	}
	/* As process 1 (init execs the shell) orphans become our children: reap them. */
	while (wait4(-1, NULL, WNOHANG, NULL) > 0)
		;
	for (size_t index = 0; index < count; index++)
		expanded_free(&expanded[index]);
	free(expanded);
	free(children);
	return status;
}

/* Runs a parsed program, freeing it. */
static void run_program(struct program *program)
{
	for (size_t index = 0; index < program->count; index++) {
		const struct pipeline *pipeline = &program->pipelines[index];
		if (pipeline->connector == CONNECT_IF_SUCCESS && last_status != 0)
			continue;
		if (pipeline->connector == CONNECT_IF_FAILURE && last_status == 0)
			continue;
		last_status = run_pipeline(pipeline);
	}
	program_free(program);
}

/* Parses and runs a whole text (a -c string: newlines separate commands). */
static void run_text(const char *text)
{
	struct program program;
	if (parse(text, &program, INCOMPLETE_IS_ERROR) != PARSED) {
		last_status = 2;
		return;
	}
	run_program(&program);
}

/* ---- Input ---- */

/* Reads lines from a file descriptor. chunk is 1 for a shared, unseekable stdin (so the
 * shell never swallows input meant for the commands it runs); a terminal in canonical
 * mode returns at most one line per read, and a script file is the shell's own. */
struct line_reader {
	int fd;
	size_t chunk;
	char buffer[4096];
	size_t start, end;
};

/* Returns the next line without its newline (malloc'd), or NULL at end of input. */
static char *read_line(struct line_reader *reader)
{
	struct buffer line = { 0 };
	int have_any = 0;
	for (;;) {
		while (reader->start < reader->end) {
			char character = reader->buffer[reader->start++];
			if (character == '\n')
				return buffer_take(&line);
			buffer_push(&line, character);
			have_any = 1;
		}
		ssize_t count = read(reader->fd, reader->buffer, reader->chunk);
		if (count < 0 && errno == EINTR)
			continue;
		if (count <= 0) {
			if (have_any)
				return buffer_take(&line); /* a last line without a newline */
			free(line.data);
			return NULL;
		}
		reader->start = 0;
		reader->end = (size_t)count;
	}
}

enum prompt { PROMPT_COMMAND, PROMPT_CONTINUATION };

static void show_prompt(enum prompt prompt)
{
	const char *text = prompt == PROMPT_CONTINUATION ? "> " : geteuid() == 0 ? "# " : "$ ";
	ssize_t ignored = write(2, text, 2);
	(void)ignored;
}

/* Whether line ends in an unescaped backslash (a line continuation). */
static int ends_in_backslash(const char *line)
{
	size_t length = strlen(line), backslashes = 0;
	while (backslashes < length && line[length - 1 - backslashes] == '\\')
		backslashes++;
	return backslashes % 2 == 1;
}

/* Reads and runs commands until the end of input. A command may span lines: an open
 * quote, a trailing |, && or ||, or a trailing backslash asks for another line. */
static void run_lines(struct line_reader *reader)
{
	for (;;) {
		if (interactive)
			show_prompt(PROMPT_COMMAND);
		char *line = read_line(reader);
		if (!line) {
			if (interactive) {
				ssize_t ignored = write(2, "\n", 1);
				(void)ignored;
			}
			return;
		}
		struct buffer text = { 0 };
		buffer_append(&text, line);
		free(line);
		for (;;) {
			int joined = ends_in_backslash(text.data ? text.data : "");
			struct program program;
			enum parse_result result = PARSE_INCOMPLETE;
			if (!joined)
				result = parse(text.data ? text.data : "", &program,
					       INCOMPLETE_NEEDS_MORE);
			if (result == PARSED)
				run_program(&program);
			if (result == PARSE_FAILED)
				last_status = 2;
			if (result != PARSE_INCOMPLETE)
				break;
			if (interactive)
				show_prompt(PROMPT_CONTINUATION);
			line = read_line(reader);
			if (!line) {
				/* The input ended inside a command: report what is open. */
				if (joined)
					text.data[--text.length] = 0;
				if (parse(text.data, &program, INCOMPLETE_IS_ERROR) == PARSED)
					run_program(&program);
				else
					last_status = 2;
				break;
			}
			if (joined)
				text.data[--text.length] = 0; /* backslash-newline vanishes */
			else
				buffer_push(&text, '\n');
			buffer_append(&text, line);
			free(line);
		}
		free(text.data);
	}
}

static void usage(void)
{
	static const char text[] = "usage: sh [-i] [FILE [ARGS...]] | sh -c COMMANDS [NAME [ARGS...]]\n";
	ssize_t ignored = write(2, text, sizeof text - 1);
	(void)ignored;
	exit(2);
}

int main(int argc, char **argv)
{
	int force_interactive = 0;
	const char *command_text = NULL;
	int index = 1;
	for (; index < argc && argv[index][0] == '-' && argv[index][1]; index++) {
		if (strcmp(argv[index], "--") == 0) {
			index++;
			break;
		} else if (strcmp(argv[index], "-i") == 0) {
			force_interactive = 1;
		} else if (strcmp(argv[index], "-c") == 0) {
			if (index + 1 >= argc)
				usage();
			command_text = argv[++index];
		} else {
			usage();
		}
	}
	if (!getenv("PATH"))
		setenv("PATH", DEFAULT_PATH, 1);

	static char *default_zero[] = { "sh", NULL };
	if (command_text) {
		/* sh -c COMMANDS [NAME [ARGS...]]: NAME is $0. */
		positional = index < argc ? &argv[index] : default_zero;
		positional_count = index < argc ? argc - index : 1;
		interactive = force_interactive;
		run_text(command_text);
		exit_shell(last_status);
	}

	struct line_reader *reader = allocate(sizeof *reader);
	*reader = (struct line_reader){ .fd = 0, .chunk = 1 };
	if (index < argc) {
		/* sh FILE [ARGS...]: FILE is $0. */
		int fd = open(argv[index], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			error_message(argv[index], strerror(errno), NULL);
			exit(errno == ENOENT ? 127 : 126);
		}
		int moved = fcntl(fd, F_DUPFD_CLOEXEC, PRIVATE_FD_BASE);
		if (moved >= 0) {
			close(fd);
			fd = moved;
		}
		reader->fd = fd;
		reader->chunk = sizeof reader->buffer;
		positional = &argv[index];
		positional_count = argc - index;
		interactive = force_interactive;
	} else {
		positional = argv[0] ? argv : default_zero;
		positional_count = 1;
		int terminal = isatty(0);
		interactive = force_interactive || terminal;
		if (terminal)
			reader->chunk = sizeof reader->buffer;
	}
	if (interactive) {
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	}
	run_lines(reader);
	exit_shell(last_status);
}
