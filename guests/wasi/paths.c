// path_open (oflags CREAT/EXCL/TRUNC/DIRECTORY, rights), path_create_directory,
// path_remove_directory, path_unlink_file, path_rename, and the path rules: NUL
// bytes refused, ".." and absolute paths may not leave the preopen, trailing
// slashes, empty paths.
#include "check.h"

static __wasi_fd_t fd_out;

static int open_at(const char *path, __wasi_oflags_t oflags) {
  return __wasi_path_open(ROOT_FD, 0, path, oflags, ALL_RIGHTS, 0, 0, &fd_out);
}

static void expect_content(const char *path, const char *want) {
  __wasi_fd_t fd;
  MUST(__wasi_path_open(ROOT_FD, 0, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
  char buf[64];
  __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf };
  __wasi_size_t n;
  MUST(__wasi_fd_read(fd, &iov, 1, &n));
  CHECKF(n == strlen(want) && memcmp(buf, want, n) == 0, "%s holds [%.*s], want [%s]", path, (int)n, buf, want);
  MUST(__wasi_fd_close(fd));
}

static void write_file(const char *path, const char *data) {
  __wasi_fd_t fd;
  MUST(__wasi_path_open(ROOT_FD, 0, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, ALL_RIGHTS, 0, 0, &fd));
  __wasi_ciovec_t iov = { (const uint8_t *)data, strlen(data) };
  __wasi_size_t n;
  MUST(__wasi_fd_write(fd, &iov, 1, &n));
  MUST(__wasi_fd_close(fd));
}

#define OPEN(label, path, oflags, want) \
  do { EXPECT_ERRNO(label, open_at(path, oflags), want); if ((want) == 0) MUST(__wasi_fd_close(fd_out)); } while (0)

int main(void) {
  // Opening.
  OPEN("open hello.txt", "hello.txt", 0, __WASI_ERRNO_SUCCESS);
  OPEN("open missing", "missing.txt", 0, __WASI_ERRNO_NOENT);
  OPEN("open missing/x", "missing/x", __WASI_OFLAGS_CREAT, __WASI_ERRNO_NOENT);
  OPEN("open CREAT new", "new.txt", __WASI_OFLAGS_CREAT, __WASI_ERRNO_SUCCESS);
  OPEN("open CREAT existing", "new.txt", __WASI_OFLAGS_CREAT, __WASI_ERRNO_SUCCESS);
  OPEN("open CREAT|EXCL existing", "hello.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, __WASI_ERRNO_EXIST);
  OPEN("open CREAT|EXCL new", "new2.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, __WASI_ERRNO_SUCCESS);
  OPEN("open EXCL without CREAT", "hello.txt", __WASI_OFLAGS_EXCL, __WASI_ERRNO_SUCCESS);
  OPEN("open DIRECTORY on a file", "hello.txt", __WASI_OFLAGS_DIRECTORY, __WASI_ERRNO_NOTDIR);
  OPEN("open hello.txt/ (trailing slash)", "hello.txt/", 0, __WASI_ERRNO_NOTDIR);
  OPEN("open file/x", "hello.txt/x", 0, __WASI_ERRNO_NOTDIR);
  OPEN("open dir with write rights", "dir", 0, __WASI_ERRNO_ISDIR);
  OPEN("open CREAT on a dir", "dir", __WASI_OFLAGS_CREAT, __WASI_ERRNO_ISDIR);
  OPEN("open CREAT|DIRECTORY", "newdir", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY, __WASI_ERRNO_INVAL);
  OPEN("open empty path", "", 0, __WASI_ERRNO_NOENT);
  EXPECT_OK("open dir read-only", __wasi_path_open(ROOT_FD, 0, "dir", 0, DIR_RIGHTS, 0, 0, &fd_out));
  MUST(__wasi_fd_close(fd_out));
  EXPECT_OK("open dir/ DIRECTORY", __wasi_path_open(ROOT_FD, 0, "dir/", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &fd_out));
  // A path relative to a directory descriptor that is not the preopen.
  __wasi_fd_t dir = fd_out;
  EXPECT_OK("open sub/c.txt relative to dir", __wasi_path_open(dir, 0, "sub/c.txt", 0, ALL_RIGHTS, 0, 0, &fd_out));
  MUST(__wasi_fd_close(fd_out));
  // Every directory descriptor is a sandbox of its own (cap-std): ".." may not
  // leave it even when the parent is inside the preopen.
  EXPECT_ERRNO("open ../hello.txt relative to dir", __wasi_path_open(dir, 0, "../hello.txt", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_PERM);
  EXPECT_ERRNO("open ../../x relative to dir", __wasi_path_open(dir, 0, "../../x", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_PERM);
  __wasi_fd_t file;
  MUST(__wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, 0, &file));
  // wasmtime: ENOTDIR here, though path_filestat_get on a file fd says EBADF.
  EXPECT_ERRNO("path_open on a file fd", __wasi_path_open(file, 0, "x", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_NOTDIR);
  MUST(__wasi_fd_close(file));
  EXPECT_ERRNO("path_open bad fd", __wasi_path_open(77, 0, "x", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_BADF);

  // TRUNC empties the file.
  write_file("t.txt", "0123456789");
  OPEN("open TRUNC", "t.txt", __WASI_OFLAGS_TRUNC, __WASI_ERRNO_SUCCESS);
  __wasi_filestat_t st;
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "t.txt", &st));
  printf("t.txt size after TRUNC %llu\n", (unsigned long long)st.size);

  // Escaping the preopen: "..", absolute paths, ".." in the middle.
  OPEN("open ..", "..", 0, __WASI_ERRNO_PERM);
  OPEN("open ../etc/passwd", "../etc/passwd", 0, __WASI_ERRNO_PERM);
  OPEN("open dir/../../hello.txt", "dir/../../hello.txt", 0, __WASI_ERRNO_PERM);
  OPEN("open dir/../hello.txt", "dir/../hello.txt", 0, __WASI_ERRNO_SUCCESS);
  OPEN("open /etc/passwd", "/etc/passwd", 0, __WASI_ERRNO_PERM);
  OPEN("open ./hello.txt", "./hello.txt", 0, __WASI_ERRNO_SUCCESS);
  OPEN("open dir//a.txt", "dir//a.txt", 0, __WASI_ERRNO_SUCCESS);

  // NUL inside the path (the length covers it): refused with EINVAL (as wasmtime
  // does; invalid UTF-8 is EILSEQ instead), never truncated to "hello.txt".
  EXPECT_ERRNO("open hello.txt\\0x", raw_path_open(ROOT_FD, 0, "hello.txt\0x", 11, 0, ALL_RIGHTS, 0, 0, (int32_t *)&fd_out), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("open hello.txt\\0", raw_path_open(ROOT_FD, 0, "hello.txt\0", 10, 0, ALL_RIGHTS, 0, 0, (int32_t *)&fd_out), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("mkdir a\\0b", raw_path_create_directory(ROOT_FD, "a\0b", 3), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("unlink hello.txt\\0", raw_path_unlink_file(ROOT_FD, "hello.txt\0", 10), __WASI_ERRNO_INVAL);
  CHECK(__wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &st) == 0);

  // Directories.
  EXPECT_OK("mkdir made", __wasi_path_create_directory(ROOT_FD, "made"));
  EXPECT_ERRNO("mkdir made again", __wasi_path_create_directory(ROOT_FD, "made"), __WASI_ERRNO_EXIST);
  EXPECT_ERRNO("mkdir over a file", __wasi_path_create_directory(ROOT_FD, "hello.txt"), __WASI_ERRNO_EXIST);
  EXPECT_ERRNO("mkdir missing/x", __wasi_path_create_directory(ROOT_FD, "missing/x"), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("mkdir ../x", __wasi_path_create_directory(ROOT_FD, "../x"), __WASI_ERRNO_PERM);
  EXPECT_OK("mkdir made/inner", __wasi_path_create_directory(ROOT_FD, "made/inner"));
  EXPECT_ERRNO("rmdir non-empty", __wasi_path_remove_directory(ROOT_FD, "made"), __WASI_ERRNO_NOTEMPTY);
  EXPECT_ERRNO("rmdir a file", __wasi_path_remove_directory(ROOT_FD, "hello.txt"), __WASI_ERRNO_NOTDIR);
  EXPECT_ERRNO("rmdir missing", __wasi_path_remove_directory(ROOT_FD, "missing"), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("rmdir .", __wasi_path_remove_directory(ROOT_FD, "."), __WASI_ERRNO_INVAL);
  EXPECT_OK("rmdir made/inner", __wasi_path_remove_directory(ROOT_FD, "made/inner"));
  EXPECT_OK("rmdir made", __wasi_path_remove_directory(ROOT_FD, "made"));
  EXPECT_ERRNO("filestat made after rmdir", __wasi_path_filestat_get(ROOT_FD, 0, "made", &st), __WASI_ERRNO_NOENT);

  // Unlink.
  EXPECT_OK("unlink new2.txt", __wasi_path_unlink_file(ROOT_FD, "new2.txt"));
  EXPECT_ERRNO("unlink new2.txt again", __wasi_path_unlink_file(ROOT_FD, "new2.txt"), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("unlink a directory", __wasi_path_unlink_file(ROOT_FD, "dir"), __WASI_ERRNO_ISDIR);
  EXPECT_ERRNO("unlink hello.txt/", __wasi_path_unlink_file(ROOT_FD, "hello.txt/"), __WASI_ERRNO_NOTDIR);
  EXPECT_ERRNO("unlink ../x", __wasi_path_unlink_file(ROOT_FD, "../x"), __WASI_ERRNO_PERM);

  // Rename.
  write_file("r1.txt", "one");
  write_file("r2.txt", "two");
  EXPECT_OK("rename r1 -> r3", __wasi_path_rename(ROOT_FD, "r1.txt", ROOT_FD, "r3.txt"));
  expect_content("r3.txt", "one");
  EXPECT_ERRNO("rename missing", __wasi_path_rename(ROOT_FD, "r1.txt", ROOT_FD, "r4.txt"), __WASI_ERRNO_NOENT);
  EXPECT_OK("rename r3 over r2", __wasi_path_rename(ROOT_FD, "r3.txt", ROOT_FD, "r2.txt"));
  expect_content("r2.txt", "one");
  EXPECT_OK("rename into dir (other fd)", __wasi_path_rename(ROOT_FD, "r2.txt", dir, "moved.txt"));
  expect_content("dir/moved.txt", "one");
  EXPECT_ERRNO("rename file over dir", __wasi_path_rename(ROOT_FD, "hello.txt", ROOT_FD, "dir"), __WASI_ERRNO_ISDIR);
  EXPECT_ERRNO("rename dir over file", __wasi_path_rename(ROOT_FD, "dir", ROOT_FD, "hello.txt"), __WASI_ERRNO_NOTDIR);
  MUST(__wasi_path_create_directory(ROOT_FD, "d1"));
  MUST(__wasi_path_create_directory(ROOT_FD, "d2"));
  EXPECT_OK("rename dir over empty dir", __wasi_path_rename(ROOT_FD, "d1", ROOT_FD, "d2"));
  EXPECT_ERRNO("rename dir over non-empty dir", __wasi_path_rename(ROOT_FD, "d2", ROOT_FD, "dir"), __WASI_ERRNO_NOTEMPTY);
  EXPECT_ERRNO("rename dir into itself", __wasi_path_rename(ROOT_FD, "dir", ROOT_FD, "dir/sub/x"), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("rename out of the preopen", __wasi_path_rename(ROOT_FD, "hello.txt", ROOT_FD, "../hello.txt"), __WASI_ERRNO_PERM);
  EXPECT_ERRNO("rename bad fd", __wasi_path_rename(77, "hello.txt", ROOT_FD, "x"), __WASI_ERRNO_BADF);
  EXPECT_OK("rename onto itself", __wasi_path_rename(ROOT_FD, "hello.txt", ROOT_FD, "hello.txt"));
  expect_content("hello.txt", "Hello, world!\n");
  MUST(__wasi_fd_close(dir));
  puts("done");
  return 0;
}
