/* console.c: the terminal as programs see it: isatty, TCGETS/TCSETS, TIOCGWINSZ, TIOCGPGRP,
 * and writing through /dev/console and /dev/tty. On our system stdout is the console; on a
 * host where it is not a terminal the terminal cases check ENOTTY instead, and only the
 * isatty case SKIPs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

#include "testlib.h"

static int stdout_is_terminal(void)
{
	struct termios settings;
	return ioctl(1, TCGETS, &settings) == 0;
}

static void test_console_stdout_isatty(void)
{
	if (!isatty(1)) {
		CHECK_EQ(errno, ENOTTY);
		tl_skip("stdout is not a terminal here (a pipe or file on the host)");
		return;
	}
	CHECK_EQ(isatty(1), 1);
	struct stat status;
	CHECK_OK(fstat(1, &status));
	CHECK(S_ISCHR(status.st_mode));
	int null = open("/dev/null", O_RDONLY);
	CHECK(null >= 0);
	CHECK_EQ(isatty(null), 0); /* a character device that is not a terminal */
	CHECK_EQ(errno, ENOTTY);
	close(null);
}

static void test_console_tcgets_tcsets(void)
{
	struct termios settings, again;
	if (!stdout_is_terminal()) {
		CHECK_ERRNO(ioctl(1, TCGETS, &settings), ENOTTY);
		CHECK_ERRNO(tcgetattr(1, &settings), ENOTTY);
		return;
	}
	CHECK_OK(ioctl(1, TCGETS, &settings));
	CHECK_OK(tcgetattr(1, &again));
	CHECK(memcmp(&settings, &again, sizeof settings) == 0);
	/* a freshly booted console is in canonical mode with echo */
	CHECK_MSG((settings.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO), "c_lflag %#o",
		  settings.c_lflag);
	/* setting it back unchanged round-trips */
	CHECK_OK(ioctl(1, TCSETS, &settings));
	CHECK_OK(ioctl(1, TCGETS, &again));
	CHECK_EQ(again.c_lflag, settings.c_lflag);
	CHECK_EQ(again.c_iflag, settings.c_iflag);
	CHECK_EQ(again.c_oflag, settings.c_oflag);
	/* a real change is kept, then undone */
	struct termios changed = settings;
	changed.c_lflag &= ~(tcflag_t)ECHO;
	CHECK_OK(tcsetattr(1, TCSANOW, &changed));
	CHECK_OK(tcgetattr(1, &again));
	CHECK_EQ(again.c_lflag & ECHO, 0);
	CHECK_OK(tcsetattr(1, TCSANOW, &settings));
	CHECK_OK(tcgetattr(1, &again));
	CHECK_EQ(again.c_lflag & ECHO, ECHO);
}

static void test_console_tiocgwinsz(void)
{
	struct winsize size;
	memset(&size, 0xff, sizeof size);
	if (!stdout_is_terminal()) {
		CHECK_ERRNO(ioctl(1, TIOCGWINSZ, &size), ENOTTY);
		return;
	}
	CHECK_OK(ioctl(1, TIOCGWINSZ, &size));
	/* a serial console may not know its size (0x0), but never garbage */
	CHECK_MSG(size.ws_row < 1000 && size.ws_col < 1000, "%u rows, %u columns", size.ws_row,
		  size.ws_col);
}

static void test_console_tiocgpgrp(void)
{
	pid_t group = -2;
	if (!stdout_is_terminal()) {
		CHECK_ERRNO(ioctl(1, TIOCGPGRP, &group), ENOTTY);
		return;
	}
	errno = 0;
	if (ioctl(1, TIOCGPGRP, &group) == 0) {
		CHECK_MSG(group > 0, "foreground group %d", (int)group);
		CHECK_EQ(tcgetpgrp(1), group);
	} else {
		/* Linux answers ENOTTY when this is not our controlling terminal */
		CHECK_EQ(errno, ENOTTY);
	}
}

static void test_console_write_dev_console(void)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	CHECK_MSG(fd >= 0, "open /dev/console: %s", strerror(errno));
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK(S_ISCHR(status.st_mode));
	static const char message[] = "console: a line through /dev/console\n";
	CHECK_EQ(write(fd, message, sizeof message - 1), (long)sizeof message - 1);
	close(fd);
}

static void test_console_write_dev_tty(void)
{
	int fd = open("/dev/tty", O_WRONLY | O_NOCTTY);
	if (fd < 0) {
		/* only a process without a controlling terminal gets ENXIO */
		CHECK_EQ(errno, ENXIO);
		CHECK(!isatty(0) || !isatty(1) || tcgetpgrp(0) == -1);
		return;
	}
	CHECK(isatty(fd));
	static const char message[] = "console: a line through /dev/tty\n";
	CHECK_EQ(write(fd, message, sizeof message - 1), (long)sizeof message - 1);
	close(fd);
}

int main(void)
{
	RUN(console_stdout_isatty);
	RUN(console_tcgets_tcsets);
	RUN(console_tiocgwinsz);
	RUN(console_tiocgpgrp);
	RUN(console_write_dev_console);
	RUN(console_write_dev_tty);
	return tl_finish();
}
