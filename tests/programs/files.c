/* files.c: file-system system calls, their error cases and the /dev character devices.
 * Everything happens under a directory the program creates, /tmp/ft-<pid>. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "testlib.h"

static char work[64]; /* the test directory, absolute */

/* A path inside the work directory, in a rotating set of buffers. */
static const char *at(const char *name)
{
	static char buffers[4][160];
	static int next;
	char *buffer = buffers[next++ % 4];
	snprintf(buffer, sizeof buffers[0], "%s/%s", work, name);
	return buffer;
}

static int write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	size_t length = strlen(content);
	ssize_t written = write(fd, content, length);
	close(fd);
	return written == (ssize_t)length ? 0 : -1;
}

/* Reads up to size-1 bytes of a file into buffer, NUL-terminated; returns the count. */
static ssize_t read_file(const char *path, char *buffer, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t count = read(fd, buffer, size - 1);
	close(fd);
	if (count >= 0)
		buffer[count] = 0;
	return count;
}

static void test_files_mkdir_workdir(void)
{
	snprintf(work, sizeof work, "/tmp/ft-%d", (int)getpid());
	CHECK_OK(mkdirat(AT_FDCWD, work, 0755));
	struct stat status;
	CHECK_OK(stat(work, &status));
	CHECK(S_ISDIR(status.st_mode));
	CHECK_EQ(status.st_mode & 0777, 0755 & ~022);
	CHECK_ERRNO(mkdirat(AT_FDCWD, work, 0755), EEXIST);
}

static void test_files_open_write_read(void)
{
	int fd = open(at("a"), O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "hello world", 11), 11);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 11);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	char buffer[32] = {0};
	CHECK_EQ(read(fd, buffer, sizeof buffer), 11);
	CHECK_STR(buffer, "hello world");
	CHECK_EQ(read(fd, buffer, sizeof buffer), 0); /* end of file */
	CHECK_OK(close(fd));
	CHECK_ERRNO(open(at("a"), O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_ERRNO(close(fd), EBADF);
}

static void test_files_creat_truncates(void)
{
	CHECK_OK(write_file(at("c"), "some content"));
	int fd = creat(at("c"), 0600);
	CHECK(fd >= 0);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_size, 0);
	/* creat opens write-only */
	char byte;
	CHECK_ERRNO(read(fd, &byte, 1), EBADF);
	CHECK_EQ(write(fd, "xyz", 3), 3);
	close(fd);
	char buffer[16];
	CHECK_EQ(read_file(at("c"), buffer, sizeof buffer), 3);
	CHECK_STR(buffer, "xyz");
}

static void test_files_pread_pwrite(void)
{
	int fd = open(at("p"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(pwrite(fd, "HOLE!", 5, 100), 5);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 3); /* pwrite leaves the offset alone */
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_size, 105);
	char buffer[110];
	memset(buffer, 0x55, sizeof buffer);
	CHECK_EQ(pread(fd, buffer, sizeof buffer, 0), 105);
	CHECK(memcmp(buffer, "abc", 3) == 0);
	for (int index = 3; index < 100; index++)
		CHECK_MSG(buffer[index] == 0, "hole byte %d is %d", index, buffer[index]);
	CHECK(memcmp(buffer + 100, "HOLE!", 5) == 0);
	CHECK_EQ(pread(fd, buffer, 10, 200), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 3);
	CHECK_ERRNO(pread(fd, buffer, 1, -1), EINVAL);
	close(fd);
}

static void test_files_readv_writev(void)
{
	int fd = open(at("v"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	struct iovec out[3] = {
		{.iov_base = "one,", .iov_len = 4},
		{.iov_base = "", .iov_len = 0},
		{.iov_base = "two,three", .iov_len = 9},
	};
	CHECK_EQ(writev(fd, out, 3), 13);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	char first[6] = {0}, second[32] = {0};
	struct iovec in[2] = {{.iov_base = first, .iov_len = 5}, {.iov_base = second, .iov_len = 31}};
	CHECK_EQ(readv(fd, in, 2), 13);
	CHECK_STR(first, "one,t");
	CHECK_STR(second, "wo,three");
	struct iovec negative = {.iov_base = first, .iov_len = (size_t)-1};
	CHECK_ERRNO(readv(fd, &negative, 1), EINVAL);
	close(fd);
}

static void test_files_lseek(void)
{
	int fd = open(at("s"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "0123456789", 10), 10);
	CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
	CHECK_EQ(lseek(fd, 3, SEEK_CUR), 5);
	CHECK_EQ(lseek(fd, -1, SEEK_END), 9);
	char byte = 0;
	CHECK_EQ(read(fd, &byte, 1), 1);
	CHECK_EQ(byte, '9');
	CHECK_ERRNO(lseek(fd, -11, SEEK_END), EINVAL);
	CHECK_ERRNO(lseek(fd, 0, 42), EINVAL);
	CHECK_EQ(lseek(fd, 20, SEEK_SET), 20);
	CHECK_EQ(write(fd, "x", 1), 1);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_size, 21);
	close(fd);
	int pipe_fds[2];
	CHECK_OK(pipe(pipe_fds));
	CHECK_ERRNO(lseek(pipe_fds[0], 0, SEEK_SET), ESPIPE);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void test_files_o_append(void)
{
	CHECK_OK(write_file(at("ap"), "start"));
	int fd = open(at("ap"), O_RDWR | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(write(fd, "+end", 4), 4);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 9);
	close(fd);
	char buffer[32];
	CHECK_EQ(read_file(at("ap"), buffer, sizeof buffer), 9);
	CHECK_STR(buffer, "start+end");
}

static void test_files_fstat_newfstatat(void)
{
	mode_t old_mask = umask(027);
	int fd = open(at("st"), O_RDWR | O_CREAT | O_TRUNC, 0666);
	umask(old_mask);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "12345", 5), 5);
	struct stat by_fd, by_path, link_status;
	CHECK_OK(fstat(fd, &by_fd));
	CHECK(S_ISREG(by_fd.st_mode));
	CHECK_EQ(by_fd.st_mode & 07777, 0640);
	CHECK_EQ(by_fd.st_size, 5);
	CHECK_EQ(by_fd.st_nlink, 1);
	CHECK_OK(fstatat(AT_FDCWD, at("st"), &by_path, 0));
	CHECK_EQ(by_path.st_ino, by_fd.st_ino);
	CHECK_EQ(by_path.st_dev, by_fd.st_dev);
	CHECK_OK(symlinkat("st", AT_FDCWD, at("st-link")));
	CHECK_OK(fstatat(AT_FDCWD, at("st-link"), &link_status, AT_SYMLINK_NOFOLLOW));
	CHECK(S_ISLNK(link_status.st_mode));
	CHECK_EQ(link_status.st_size, 2); /* a symlink's size is its target's length */
	CHECK_OK(fstatat(AT_FDCWD, at("st-link"), &link_status, 0));
	CHECK_EQ(link_status.st_ino, by_fd.st_ino);
	int directory = open(work, O_RDONLY | O_DIRECTORY);
	CHECK(directory >= 0);
	CHECK_OK(fstatat(directory, "st", &by_path, 0));
	CHECK_EQ(by_path.st_ino, by_fd.st_ino);
	CHECK_OK(fstat(directory, &by_path));
	CHECK(S_ISDIR(by_path.st_mode));
	CHECK_OK(fstatat(fd, "", &by_path, AT_EMPTY_PATH));
	CHECK_EQ(by_path.st_ino, by_fd.st_ino);
	CHECK_ERRNO(fstatat(directory, "missing", &by_path, 0), ENOENT);
	close(directory);
	close(fd);
}

/* struct statx as the kernel defines it (musl 1.2.3 has no wrapper). */
struct statx_timestamp_raw {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct statx_raw {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct statx_timestamp_raw stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare[14];
};
#define STATX_BASIC_STATS_MASK 0x7ffU

static void test_files_statx(void)
{
	CHECK_OK(write_file(at("sx"), "statx!"));
	struct statx_raw result;
	memset(&result, 0xff, sizeof result);
	CHECK_EQ(syscall(SYS_statx, AT_FDCWD, at("sx"), 0, STATX_BASIC_STATS_MASK, &result), 0);
	CHECK_EQ(result.stx_mask & STATX_BASIC_STATS_MASK & ~0x400U /* blocks optional */,
		 STATX_BASIC_STATS_MASK & ~0x400U);
	CHECK_EQ(result.stx_size, 6);
	CHECK(S_ISREG(result.stx_mode));
	CHECK_EQ(result.stx_nlink, 1);
	struct stat status;
	CHECK_OK(stat(at("sx"), &status));
	CHECK_EQ(result.stx_ino, status.st_ino);
	CHECK_EQ(result.stx_mtime.tv_sec, status.st_mtim.tv_sec);
	CHECK_EQ(result.stx_mtime.tv_nsec, status.st_mtim.tv_nsec);
	CHECK_EQ(syscall(SYS_statx, AT_FDCWD, at("missing"), 0, STATX_BASIC_STATS_MASK, &result), -1);
	CHECK_EQ(errno, ENOENT);
}

struct dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void test_files_getdents64(void)
{
	CHECK_OK(mkdirat(AT_FDCWD, at("d"), 0755));
	CHECK_OK(write_file(at("d/alpha"), "1"));
	CHECK_OK(write_file(at("d/beta"), "2"));
	CHECK_OK(mkdirat(AT_FDCWD, at("d/gamma"), 0755));
	CHECK_OK(symlinkat("alpha", AT_FDCWD, at("d/delta")));
	int fd = open(at("d"), O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	/* A small buffer forces several calls, which exercises the directory offset. */
	_Alignas(8) char buffer[64];
	int seen_dot = 0, seen_dotdot = 0, seen_alpha = 0, seen_beta = 0, seen_gamma = 0,
	    seen_delta = 0, total = 0;
	for (;;) {
		long count = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
		CHECK_MSG(count >= 0, "getdents64: errno %d", errno);
		if (count == 0)
			break;
		for (long offset = 0; offset < count;) {
			struct dirent64_raw *entry = (struct dirent64_raw *)(buffer + offset);
			CHECK(entry->d_reclen > 0 && entry->d_reclen % 8 == 0);
			total++;
			if (strcmp(entry->d_name, ".") == 0)
				seen_dot = entry->d_type == DT_DIR;
			else if (strcmp(entry->d_name, "..") == 0)
				seen_dotdot = entry->d_type == DT_DIR;
			else if (strcmp(entry->d_name, "alpha") == 0)
				seen_alpha = entry->d_type == DT_REG;
			else if (strcmp(entry->d_name, "beta") == 0)
				seen_beta = entry->d_type == DT_REG;
			else if (strcmp(entry->d_name, "gamma") == 0)
				seen_gamma = entry->d_type == DT_DIR;
			else if (strcmp(entry->d_name, "delta") == 0)
				seen_delta = entry->d_type == DT_LNK;
			offset += entry->d_reclen;
		}
	}
	CHECK_EQ(total, 6);
	CHECK(seen_dot && seen_dotdot && seen_alpha && seen_beta && seen_gamma && seen_delta);
	/* A buffer too small for one entry is EINVAL. */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(syscall(SYS_getdents64, fd, buffer, 8), -1);
	CHECK_EQ(errno, EINVAL);
	close(fd);
	int file = open(at("d/alpha"), O_RDONLY);
	CHECK_EQ(syscall(SYS_getdents64, file, buffer, sizeof buffer), -1);
	CHECK_EQ(errno, ENOTDIR);
	close(file);
	/* readdir (musl over getdents64) sees the same names */
	DIR *directory = opendir(at("d"));
	CHECK(directory != NULL);
	int names = 0;
	while (readdir(directory))
		names++;
	closedir(directory);
	CHECK_EQ(names, 6);
}

static void test_files_mkdirat_unlinkat(void)
{
	int directory = open(work, O_RDONLY | O_DIRECTORY);
	CHECK(directory >= 0);
	CHECK_OK(mkdirat(directory, "m", 0700));
	CHECK_ERRNO(mkdirat(directory, "m", 0700), EEXIST);
	CHECK_ERRNO(mkdirat(directory, "nope/m", 0700), ENOENT);
	CHECK_OK(write_file(at("m/file"), "x"));
	CHECK_ERRNO(mkdirat(directory, "m/file/sub", 0700), ENOTDIR);
	CHECK_ERRNO(unlinkat(directory, "m", AT_REMOVEDIR), ENOTEMPTY);
	CHECK_ERRNO(unlinkat(directory, "m", 0), EISDIR);
	CHECK_ERRNO(unlinkat(directory, "m/file", AT_REMOVEDIR), ENOTDIR);
	CHECK_OK(unlinkat(directory, "m/file", 0));
	CHECK_ERRNO(unlinkat(directory, "m/file", 0), ENOENT);
	CHECK_OK(unlinkat(directory, "m", AT_REMOVEDIR));
	struct stat status;
	CHECK_ERRNO(fstatat(directory, "m", &status, 0), ENOENT);
	close(directory);
}

static void test_files_unlink_open_file(void)
{
	/* An unlinked file lives on while a descriptor refers to it. */
	int fd = open(at("ghost"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_OK(unlink(at("ghost")));
	CHECK_EQ(write(fd, "still here", 10), 10);
	char buffer[16] = {0};
	CHECK_EQ(pread(fd, buffer, sizeof buffer, 0), 10);
	CHECK_STR(buffer, "still here");
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_nlink, 0);
	close(fd);
	CHECK_ERRNO(open(at("ghost"), O_RDONLY), ENOENT);
}

static void test_files_renameat(void)
{
	CHECK_OK(write_file(at("r1"), "first"));
	CHECK_OK(write_file(at("r2"), "second"));
	CHECK_OK(renameat(AT_FDCWD, at("r1"), AT_FDCWD, at("r3")));
	CHECK_ERRNO(open(at("r1"), O_RDONLY), ENOENT);
	char buffer[16];
	CHECK_EQ(read_file(at("r3"), buffer, sizeof buffer), 5);
	CHECK_STR(buffer, "first");
	CHECK_OK(renameat(AT_FDCWD, at("r3"), AT_FDCWD, at("r2"))); /* replaces */
	CHECK_EQ(read_file(at("r2"), buffer, sizeof buffer), 5);
	CHECK_STR(buffer, "first");
	CHECK_ERRNO(renameat(AT_FDCWD, at("r3"), AT_FDCWD, at("r4")), ENOENT);
	CHECK_OK(mkdirat(AT_FDCWD, at("rd"), 0755));
	CHECK_OK(mkdirat(AT_FDCWD, at("rd/sub"), 0755));
	CHECK_ERRNO(renameat(AT_FDCWD, at("r2"), AT_FDCWD, at("rd")), EISDIR);
	CHECK_ERRNO(renameat(AT_FDCWD, at("rd"), AT_FDCWD, at("r2")), ENOTDIR);
	CHECK_ERRNO(renameat(AT_FDCWD, at("rd"), AT_FDCWD, at("rd/sub/inside")), EINVAL);
	/* a directory moves with its contents */
	CHECK_OK(renameat(AT_FDCWD, at("rd"), AT_FDCWD, at("rd2")));
	struct stat status;
	CHECK_OK(stat(at("rd2/sub"), &status));
	CHECK(S_ISDIR(status.st_mode));
}

#define RENAME_NOREPLACE_FLAG 1
#define RENAME_EXCHANGE_FLAG 2

static void test_files_renameat2(void)
{
	CHECK_OK(write_file(at("x1"), "one"));
	CHECK_OK(write_file(at("x2"), "two"));
	CHECK_EQ(syscall(SYS_renameat2, AT_FDCWD, at("x1"), AT_FDCWD, at("x2"),
			 RENAME_NOREPLACE_FLAG),
		 -1);
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(syscall(SYS_renameat2, AT_FDCWD, at("x1"), AT_FDCWD, at("x2"),
			 RENAME_EXCHANGE_FLAG),
		 0);
	char buffer[16];
	CHECK_EQ(read_file(at("x1"), buffer, sizeof buffer), 3);
	CHECK_STR(buffer, "two");
	CHECK_EQ(read_file(at("x2"), buffer, sizeof buffer), 3);
	CHECK_STR(buffer, "one");
	CHECK_EQ(syscall(SYS_renameat2, AT_FDCWD, at("x1"), AT_FDCWD, at("x9"),
			 RENAME_EXCHANGE_FLAG),
		 -1);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(syscall(SYS_renameat2, AT_FDCWD, at("x1"), AT_FDCWD, at("x2"),
			 RENAME_EXCHANGE_FLAG | RENAME_NOREPLACE_FLAG),
		 -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(syscall(SYS_renameat2, AT_FDCWD, at("x1"), AT_FDCWD, at("x3"),
			 RENAME_NOREPLACE_FLAG),
		 0);
	CHECK_EQ(read_file(at("x3"), buffer, sizeof buffer), 3);
}

static void test_files_symlinkat_readlinkat(void)
{
	CHECK_OK(write_file(at("target"), "pointed at"));
	int directory = open(work, O_RDONLY | O_DIRECTORY);
	CHECK(directory >= 0);
	CHECK_OK(symlinkat("target", directory, "link"));
	CHECK_ERRNO(symlinkat("target", directory, "link"), EEXIST);
	char buffer[64];
	memset(buffer, 'Z', sizeof buffer);
	CHECK_EQ(readlinkat(directory, "link", buffer, sizeof buffer), 6);
	CHECK_EQ(buffer[6], 'Z'); /* readlink does not terminate */
	CHECK(memcmp(buffer, "target", 6) == 0);
	CHECK_EQ(readlinkat(directory, "link", buffer, 3), 3); /* truncates silently */
	CHECK_ERRNO(readlinkat(directory, "target", buffer, sizeof buffer), EINVAL);
	CHECK_ERRNO(readlinkat(directory, "missing", buffer, sizeof buffer), ENOENT);
	char content[32];
	CHECK_EQ(read_file(at("link"), content, sizeof content), 10);
	CHECK_STR(content, "pointed at");
	CHECK_OK(symlinkat("nowhere", directory, "dangling"));
	CHECK_ERRNO(open(at("dangling"), O_RDONLY), ENOENT);
	CHECK_ERRNO(open(at("link"), O_RDONLY | O_NOFOLLOW), ELOOP);
	CHECK_OK(symlinkat("loop2", directory, "loop1"));
	CHECK_OK(symlinkat("loop1", directory, "loop2"));
	CHECK_ERRNO(open(at("loop1"), O_RDONLY), ELOOP);
	/* removing the link leaves the target */
	CHECK_OK(unlinkat(directory, "link", 0));
	CHECK_EQ(read_file(at("target"), content, sizeof content), 10);
	close(directory);
}

static void test_files_faccessat(void)
{
	CHECK_OK(write_file(at("acc"), "x"));
	CHECK_OK(chmod(at("acc"), 0644));
	CHECK_OK(faccessat(AT_FDCWD, at("acc"), F_OK, 0));
	CHECK_OK(faccessat(AT_FDCWD, at("acc"), R_OK | W_OK, 0));
	/* Not even root may execute a file with no execute bit. */
	CHECK_ERRNO(faccessat(AT_FDCWD, at("acc"), X_OK, 0), EACCES);
	CHECK_OK(chmod(at("acc"), 0755));
	CHECK_OK(faccessat(AT_FDCWD, at("acc"), X_OK, 0));
	CHECK_ERRNO(faccessat(AT_FDCWD, at("no-such"), F_OK, 0), ENOENT);
	CHECK_ERRNO(faccessat(AT_FDCWD, at("acc/below"), F_OK, 0), ENOTDIR);
	CHECK_ERRNO(faccessat(AT_FDCWD, at("acc"), 0x40, 0), EINVAL);
}

static void test_files_fchmodat(void)
{
	CHECK_OK(write_file(at("mode"), "x"));
	struct stat status;
	CHECK_OK(fchmodat(AT_FDCWD, at("mode"), 0600, 0));
	CHECK_OK(stat(at("mode"), &status));
	CHECK_EQ(status.st_mode & 07777, 0600);
	CHECK_OK(fchmodat(AT_FDCWD, at("mode"), 04751, 0));
	CHECK_OK(stat(at("mode"), &status));
	CHECK_EQ(status.st_mode & 07777, 04751);
	CHECK(S_ISREG(status.st_mode));
	int fd = open(at("mode"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(fchmod(fd, 0444));
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_mode & 07777, 0444);
	close(fd);
	CHECK_ERRNO(fchmodat(AT_FDCWD, at("gone"), 0600, 0), ENOENT);
}

static void test_files_utimensat(void)
{
	CHECK_OK(write_file(at("time"), "x"));
	struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 123456789},
				    {.tv_sec = 1234567890, .tv_nsec = 5000}};
	CHECK_OK(utimensat(AT_FDCWD, at("time"), times, 0));
	struct stat status;
	CHECK_OK(stat(at("time"), &status));
	CHECK_EQ(status.st_atim.tv_sec, 1000000000);
	CHECK_EQ(status.st_atim.tv_nsec, 123456789);
	CHECK_EQ(status.st_mtim.tv_sec, 1234567890);
	CHECK_EQ(status.st_mtim.tv_nsec, 5000);
	struct timespec omit_atime[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
					 {.tv_sec = 1500000000, .tv_nsec = 0}};
	CHECK_OK(utimensat(AT_FDCWD, at("time"), omit_atime, 0));
	CHECK_OK(stat(at("time"), &status));
	CHECK_EQ(status.st_atim.tv_sec, 1000000000);
	CHECK_EQ(status.st_mtim.tv_sec, 1500000000);
	/* UTIME_NOW sets it to about now */
	struct timespec now_times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_NOW},
					{.tv_sec = 0, .tv_nsec = UTIME_OMIT}};
	struct timespec now;
	CHECK_OK(clock_gettime(CLOCK_REALTIME, &now));
	CHECK_OK(utimensat(AT_FDCWD, at("time"), now_times, 0));
	CHECK_OK(stat(at("time"), &status));
	CHECK_MSG(status.st_atim.tv_sec >= now.tv_sec - 1 && status.st_atim.tv_sec <= now.tv_sec + 5,
		  "atime %lld, now %lld", (long long)status.st_atim.tv_sec, (long long)now.tv_sec);
	CHECK_EQ(status.st_mtim.tv_sec, 1500000000);
	struct timespec bad[2] = {{.tv_sec = 0, .tv_nsec = 1000000000},
				  {.tv_sec = 0, .tv_nsec = 0}};
	CHECK_ERRNO(utimensat(AT_FDCWD, at("time"), bad, 0), EINVAL);
}

static void test_files_ftruncate(void)
{
	int fd = open(at("tr"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "abcdef", 6), 6);
	CHECK_OK(ftruncate(fd, 8192));
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_size, 8192);
	static char buffer[8192];
	memset(buffer, 0x77, sizeof buffer);
	CHECK_EQ(pread(fd, buffer, sizeof buffer, 0), 8192);
	CHECK(memcmp(buffer, "abcdef", 6) == 0);
	for (int index = 6; index < 8192; index++)
		CHECK_MSG(buffer[index] == 0, "byte %d is 0x%x", index, buffer[index]);
	CHECK_OK(ftruncate(fd, 3));
	CHECK_OK(fstat(fd, &status));
	CHECK_EQ(status.st_size, 3);
	CHECK_EQ(pread(fd, buffer, sizeof buffer, 0), 3);
	CHECK(memcmp(buffer, "abc", 3) == 0);
	/* growing again after a shrink must not resurrect the old bytes */
	CHECK_OK(ftruncate(fd, 6));
	CHECK_EQ(pread(fd, buffer, sizeof buffer, 0), 6);
	CHECK(memcmp(buffer, "abc\0\0\0", 6) == 0);
	CHECK_ERRNO(ftruncate(fd, -1), EINVAL);
	close(fd);
	int read_only = open(at("tr"), O_RDONLY);
	CHECK_ERRNO(ftruncate(read_only, 0), EINVAL);
	close(read_only);
	CHECK_OK(truncate(at("tr"), 1));
	CHECK_OK(stat(at("tr"), &status));
	CHECK_EQ(status.st_size, 1);
}

static void test_files_dup_dup3(void)
{
	int fd = open(at("dup"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	int copy = dup(fd);
	CHECK(copy >= 0 && copy != fd);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(lseek(copy, 0, SEEK_CUR), 3); /* the offset is shared */
	CHECK_EQ(fcntl(copy, F_GETFD), 0);
	int target = 60;
	CHECK_EQ(dup3(fd, target, O_CLOEXEC), target);
	CHECK_EQ(fcntl(target, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(lseek(target, 0, SEEK_CUR), 3);
	CHECK_ERRNO(dup3(fd, fd, 0), EINVAL);
	CHECK_ERRNO(dup3(fd, 61, 0x1234), EINVAL);
	CHECK_ERRNO(dup(999), EBADF);
	CHECK_ERRNO(dup3(999, 62, 0), EBADF);
	/* dup3 onto an open descriptor closes it first */
	int other = open("/dev/null", O_RDONLY);
	CHECK(other >= 0);
	CHECK_EQ(dup3(fd, other, 0), other);
	CHECK_EQ(lseek(other, 0, SEEK_CUR), 3);
	/* dup returns the lowest free number */
	close(copy);
	CHECK_EQ(dup(fd), copy);
	close(copy);
	close(target);
	close(other);
	close(fd);
}

static void test_files_fcntl(void)
{
	int fd = open(at("fc"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	CHECK_OK(fcntl(fd, F_SETFD, FD_CLOEXEC));
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_OK(fcntl(fd, F_SETFD, 0));
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK), O_RDWR);
	CHECK_OK(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK),
		 O_RDWR | O_APPEND | O_NONBLOCK);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(write(fd, "def", 3), 3);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6); /* O_APPEND took effect */
	/* F_SETFL cannot change the access mode */
	CHECK_OK(fcntl(fd, F_SETFL, O_RDONLY));
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECK(high >= 100);
	CHECK_EQ(fcntl(high, F_GETFD), FD_CLOEXEC);
	int plain = fcntl(fd, F_DUPFD, 100);
	CHECK(plain >= 100 && plain != high);
	CHECK_EQ(fcntl(plain, F_GETFD), 0);
	/* the status flags live in the open file description, shared by duplicates */
	CHECK_OK(fcntl(fd, F_SETFL, 0));
	CHECK_EQ(fcntl(high, F_GETFL) & O_APPEND, 0);
	CHECK_ERRNO(fcntl(999, F_GETFD), EBADF);
	CHECK_ERRNO(fcntl(fd, F_DUPFD, -1), EINVAL);
	close(high);
	close(plain);
	close(fd);
}

static void test_files_chdir_fchdir_getcwd(void)
{
	char saved[256];
	CHECK(getcwd(saved, sizeof saved) != NULL);
	CHECK_OK(mkdirat(AT_FDCWD, at("cwd"), 0755));
	CHECK_OK(chdir(at("cwd")));
	char buffer[256];
	CHECK_STR(getcwd(buffer, sizeof buffer), at("cwd"));
	CHECK_OK(write_file("relative", "rel"));
	char content[8];
	CHECK_EQ(read_file(at("cwd/relative"), content, sizeof content), 3);
	CHECK_OK(chdir(".."));
	CHECK_STR(getcwd(buffer, sizeof buffer), work);
	int directory = open(at("cwd"), O_RDONLY | O_DIRECTORY);
	CHECK(directory >= 0);
	CHECK_OK(fchdir(directory));
	CHECK_STR(getcwd(buffer, sizeof buffer), at("cwd"));
	close(directory);
	errno = 0;
	CHECK(getcwd(buffer, 2) == NULL && errno == ERANGE);
	CHECK_ERRNO(chdir(at("cwd/relative")), ENOTDIR);
	CHECK_ERRNO(chdir(at("cwd/none")), ENOENT);
	int file = open(at("cwd/relative"), O_RDONLY);
	CHECK_ERRNO(fchdir(file), ENOTDIR);
	close(file);
	CHECK_OK(chdir(saved));
}

static void test_files_error_cases(void)
{
	CHECK_OK(write_file(at("plain"), "x"));
	CHECK_ERRNO(open(at("absent"), O_RDONLY), ENOENT);
	CHECK_ERRNO(open(at("absent/deeper"), O_RDONLY | O_CREAT, 0644), ENOENT);
	CHECK_ERRNO(open(at("plain/child"), O_RDONLY), ENOTDIR);
	CHECK_ERRNO(open(at("plain"), O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERRNO(open(work, O_WRONLY), EISDIR);
	CHECK_ERRNO(open(work, O_RDWR), EISDIR);
	CHECK_ERRNO(open("", O_RDONLY), ENOENT);
	char byte;
	CHECK_ERRNO(read(-1, &byte, 1), EBADF);
	CHECK_ERRNO(read(777, &byte, 1), EBADF);
	CHECK_ERRNO(write(777, "x", 1), EBADF);
	int read_only = open(at("plain"), O_RDONLY);
	CHECK(read_only >= 0);
	CHECK_ERRNO(write(read_only, "x", 1), EBADF);
	close(read_only);
	int write_only = open(at("plain"), O_WRONLY);
	CHECK_ERRNO(read(write_only, &byte, 1), EBADF);
	close(write_only);
	int directory = open(work, O_RDONLY | O_DIRECTORY);
	CHECK_ERRNO(read(directory, &byte, 1), EISDIR);
	close(directory);
	struct stat status;
	CHECK_ERRNO(fstat(777, &status), EBADF);
	CHECK_ERRNO(openat(777, "relative", O_RDONLY), EBADF);
	int file = open(at("plain"), O_RDONLY);
	CHECK_ERRNO(openat(file, "relative", O_RDONLY), ENOTDIR);
	close(file);
}

static void test_files_efault(void)
{
	/* Raw system calls, so libc cannot intercept the bad pointers. */
	int fd = open(at("plain"), O_RDWR);
	CHECK(fd >= 0);
	void *bad = (void *)16;
	CHECK_EQ(syscall(SYS_write, fd, bad, 10), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(syscall(SYS_read, fd, bad, 10), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(syscall(SYS_openat, AT_FDCWD, bad, O_RDONLY), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(syscall(SYS_fstat, fd, bad), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(syscall(SYS_getcwd, bad, 100), -1);
	CHECK_EQ(errno, EFAULT);
	/* a kernel-half address is just as bad */
	CHECK_EQ(syscall(SYS_write, fd, (void *)0xffff000000001000UL, 4), -1);
	CHECK_EQ(errno, EFAULT);
	close(fd);
}

static void test_files_dev_null(void)
{
	int fd = open("/dev/null", O_RDWR);
	CHECK(fd >= 0);
	struct stat status;
	CHECK_OK(fstat(fd, &status));
	CHECK(S_ISCHR(status.st_mode));
	CHECK_EQ(write(fd, "discarded", 9), 9);
	char buffer[8];
	CHECK_EQ(read(fd, buffer, sizeof buffer), 0);
	close(fd);
}

static void test_files_dev_zero(void)
{
	int fd = open("/dev/zero", O_RDWR);
	CHECK(fd >= 0);
	static unsigned char buffer[5000];
	memset(buffer, 0xaa, sizeof buffer);
	CHECK_EQ(read(fd, buffer, sizeof buffer), (long)sizeof buffer);
	for (size_t index = 0; index < sizeof buffer; index++)
		CHECK_MSG(buffer[index] == 0, "byte %zu is 0x%x", index, buffer[index]);
	CHECK_EQ(write(fd, buffer, 100), 100);
	close(fd);
}

static void test_files_dev_urandom(void)
{
	int fd = open("/dev/urandom", O_RDONLY);
	CHECK(fd >= 0);
	unsigned char first[64], second[64];
	memset(first, 0, sizeof first);
	memset(second, 0, sizeof second);
	CHECK_EQ(read(fd, first, sizeof first), 64);
	CHECK_EQ(read(fd, second, sizeof second), 64);
	close(fd);
	CHECK(memcmp(first, second, sizeof first) != 0);
	/* 64 random bytes: every bit position should be set somewhere, and many values seen */
	unsigned char any = 0;
	int distinct = 0;
	unsigned char seen[256] = {0};
	for (int index = 0; index < 64; index++) {
		any |= first[index];
		if (!seen[first[index]]++)
			distinct++;
	}
	CHECK_EQ(any, 0xff);
	CHECK_MSG(distinct >= 40, "only %d distinct byte values in 64", distinct);
}

/* Removes everything the run created, then the directory itself. */
static int remove_tree(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		return unlinkat(parent, name, 0);
	DIR *directory = fdopendir(fd);
	if (!directory)
		return -1;
	struct dirent *entry;
	while ((entry = readdir(directory))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (remove_tree(fd, entry->d_name) != 0) {
			closedir(directory);
			return -1;
		}
	}
	closedir(directory);
	return unlinkat(parent, name, AT_REMOVEDIR);
}

static void test_files_remove_workdir(void)
{
	CHECK_OK(remove_tree(AT_FDCWD, work));
	struct stat status;
	CHECK_ERRNO(stat(work, &status), ENOENT);
}

int main(void)
{
	umask(022);
	RUN(files_mkdir_workdir);
	if (tl_failures)
		return 1;
	RUN(files_open_write_read);
	RUN(files_creat_truncates);
	RUN(files_pread_pwrite);
	RUN(files_readv_writev);
	RUN(files_lseek);
	RUN(files_o_append);
	RUN(files_fstat_newfstatat);
	RUN(files_statx);
	RUN(files_getdents64);
	RUN(files_mkdirat_unlinkat);
	RUN(files_unlink_open_file);
	RUN(files_renameat);
	RUN(files_renameat2);
	RUN(files_symlinkat_readlinkat);
	RUN(files_faccessat);
	RUN(files_fchmodat);
	RUN(files_utimensat);
	RUN(files_ftruncate);
	RUN(files_dup_dup3);
	RUN(files_fcntl);
	RUN(files_chdir_fchdir_getcwd);
	RUN(files_error_cases);
	RUN(files_efault);
	RUN(files_dev_null);
	RUN(files_dev_zero);
	RUN(files_dev_urandom);
	RUN(files_remove_workdir);
	return tl_finish();
}
