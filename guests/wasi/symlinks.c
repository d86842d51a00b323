// path_symlink, path_readlink (exact, truncating and zero-length buffers), dangling
// links, following or not (LOOKUPFLAGS_SYMLINK_FOLLOW), O_DIRECTORY on a link, link
// loops, links whose target leaves the preopen, unlink and rmdir on links.
#include "check.h"

static __wasi_fd_t fd_out;

static void readlink_into(const char *path, size_t cap) {
  char buf[80];
  __wasi_size_t used = 9999;
  memset(buf, '#', sizeof buf);
  int e = __wasi_path_readlink(ROOT_FD, path, (uint8_t *)buf, cap, &used);
  if (e != 0) { printf("readlink %s (%zu bytes): %s\n", path, cap, errname(e)); return; }
  printf("readlink %s (%zu bytes): OK [%.*s] used %u\n", path, cap, (int)used, buf, (unsigned)used);
  CHECK(buf[cap] == '#');
}

int main(void) {
  EXPECT_OK("symlink link -> hello.txt", __wasi_path_symlink("hello.txt", ROOT_FD, "link"));
  EXPECT_OK("symlink dirlink -> dir", __wasi_path_symlink("dir", ROOT_FD, "dirlink"));
  EXPECT_OK("symlink dangling -> nowhere", __wasi_path_symlink("nowhere", ROOT_FD, "dangling"));
  EXPECT_OK("symlink loop1 -> loop2", __wasi_path_symlink("loop2", ROOT_FD, "loop1"));
  EXPECT_OK("symlink loop2 -> loop1", __wasi_path_symlink("loop1", ROOT_FD, "loop2"));
  EXPECT_OK("symlink dir/up -> ../hello.txt", __wasi_path_symlink("../hello.txt", ROOT_FD, "dir/up"));
  EXPECT_ERRNO("symlink absolute target", __wasi_path_symlink("/etc/passwd", ROOT_FD, "abs"), __WASI_ERRNO_PERM);
  EXPECT_OK("symlink escape -> ../outside", __wasi_path_symlink("../outside", ROOT_FD, "escape"));
  EXPECT_ERRNO("symlink over existing", __wasi_path_symlink("x", ROOT_FD, "hello.txt"), __WASI_ERRNO_EXIST);
  EXPECT_ERRNO("symlink over existing link", __wasi_path_symlink("x", ROOT_FD, "dangling"), __WASI_ERRNO_EXIST);
  EXPECT_ERRNO("symlink in missing dir", __wasi_path_symlink("x", ROOT_FD, "missing/l"), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("symlink bad fd", __wasi_path_symlink("x", 77, "l"), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("symlink target with NUL", raw_path_symlink("a\0b", 3, ROOT_FD, "nul", 3), __WASI_ERRNO_INVAL);

  // readlink: the whole target, a buffer one byte short (truncated, no error),
  // a zero-length buffer, and paths that are not links.
  readlink_into("link", 64);
  readlink_into("link", 9);
  readlink_into("link", 8);
  readlink_into("link", 1);
  readlink_into("link", 0);
  readlink_into("dangling", 64);
  readlink_into("dir/up", 64);
  readlink_into("hello.txt", 64);
  readlink_into("dir", 64);
  readlink_into("missing", 64);
  readlink_into("dirlink/a.txt", 64);
  EXPECT_ERRNO("readlink bad fd", __wasi_path_readlink(77, "link", (uint8_t *)"", 0, (__wasi_size_t *)&fd_out), __WASI_ERRNO_BADF);

  // Opening through links.
  __wasi_lookupflags_t follow = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
  EXPECT_OK("open link (follow)", __wasi_path_open(ROOT_FD, follow, "link", 0, ALL_RIGHTS, 0, 0, &fd_out));
  char buf[32];
  __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf };
  __wasi_size_t n;
  MUST(__wasi_fd_read(fd_out, &iov, 1, &n));
  printf("read through link [%.*s]\n", (int)n - 1, buf);
  MUST(__wasi_fd_close(fd_out));
  EXPECT_ERRNO("open link (nofollow)", __wasi_path_open(ROOT_FD, 0, "link", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_LOOP);
  EXPECT_ERRNO("open dirlink DIRECTORY (nofollow)", __wasi_path_open(ROOT_FD, 0, "dirlink", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_LOOP);
  EXPECT_OK("open dirlink DIRECTORY (follow)", __wasi_path_open(ROOT_FD, follow, "dirlink", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &fd_out));
  MUST(__wasi_fd_close(fd_out));
  EXPECT_ERRNO("open link DIRECTORY (follow)", __wasi_path_open(ROOT_FD, follow, "link", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_NOTDIR);
  // A link in the middle of a path is always followed.
  EXPECT_OK("open dirlink/a.txt (nofollow)", __wasi_path_open(ROOT_FD, 0, "dirlink/a.txt", 0, ALL_RIGHTS, 0, 0, &fd_out));
  MUST(__wasi_fd_close(fd_out));
  EXPECT_ERRNO("open dangling (follow)", __wasi_path_open(ROOT_FD, follow, "dangling", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_NOENT);
  EXPECT_OK("open dangling CREAT (follow)", __wasi_path_open(ROOT_FD, follow, "dangling", __WASI_OFLAGS_CREAT, ALL_RIGHTS, 0, 0, &fd_out));
  MUST(__wasi_fd_close(fd_out));
  __wasi_filestat_t st;
  printf("after CREAT through dangling, nowhere: %s\n", errname(__wasi_path_filestat_get(ROOT_FD, 0, "nowhere", &st)));
  EXPECT_ERRNO("open loop1 (follow)", __wasi_path_open(ROOT_FD, follow, "loop1", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_LOOP);
  EXPECT_ERRNO("open escape (follow)", __wasi_path_open(ROOT_FD, follow, "escape", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_PERM);
  EXPECT_ERRNO("open dir/up (follow)", __wasi_path_open(ROOT_FD, follow, "dir/up", 0, ALL_RIGHTS, 0, 0, &fd_out), __WASI_ERRNO_SUCCESS);
  MUST(__wasi_fd_close(fd_out));

  // filestat with and without following.
  EXPECT_OK("filestat link (nofollow)", __wasi_path_filestat_get(ROOT_FD, 0, "link", &st));
  printf("link: filetype %u size %llu\n", (unsigned)st.filetype, (unsigned long long)st.size);
  EXPECT_OK("filestat link (follow)", __wasi_path_filestat_get(ROOT_FD, follow, "link", &st));
  printf("link followed: filetype %u size %llu\n", (unsigned)st.filetype, (unsigned long long)st.size);
  EXPECT_OK("filestat loop1 (nofollow)", __wasi_path_filestat_get(ROOT_FD, 0, "loop1", &st));
  printf("loop1: filetype %u\n", (unsigned)st.filetype);
  EXPECT_ERRNO("filestat loop1 (follow)", __wasi_path_filestat_get(ROOT_FD, follow, "loop1", &st), __WASI_ERRNO_LOOP);
  EXPECT_ERRNO("filestat escape (follow)", __wasi_path_filestat_get(ROOT_FD, follow, "escape", &st), __WASI_ERRNO_PERM);

  // set_times on the link itself (nofollow) leaves the target alone.
  __wasi_filestat_t target_before, target_after, link_after;
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &target_before));
  printf("set_times link (nofollow): %s\n", errname(__wasi_path_filestat_set_times(ROOT_FD, 0, "link", 0,
    1000000000ull * 1000000000ull, __WASI_FSTFLAGS_MTIM)));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &target_after));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "link", &link_after));
  CHECK(target_after.mtim == target_before.mtim);
  printf("link mtim %llu s\n", (unsigned long long)(link_after.mtim / 1000000000ull));

  // readdir shows links as links.
  __wasi_fd_t root_list;
  MUST(__wasi_path_open(ROOT_FD, 0, ".", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &root_list));
  uint8_t dbuf[1024];
  __wasi_size_t used;
  MUST(__wasi_fd_readdir(root_list, dbuf, sizeof dbuf, 0, &used));
  for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= used;) {
    __wasi_dirent_t d;
    memcpy(&d, dbuf + off, sizeof d);
    if (d.d_namlen == 4 && memcmp(dbuf + off + sizeof d, "link", 4) == 0) printf("readdir link type %u\n", (unsigned)d.d_type);
    off += sizeof d + d.d_namlen;
  }
  MUST(__wasi_fd_close(root_list));

  // Removing links removes the link, not the target.
  EXPECT_ERRNO("rmdir dirlink", __wasi_path_remove_directory(ROOT_FD, "dirlink"), __WASI_ERRNO_NOTDIR);
  EXPECT_OK("unlink dirlink", __wasi_path_unlink_file(ROOT_FD, "dirlink"));
  EXPECT_OK("unlink link", __wasi_path_unlink_file(ROOT_FD, "link"));
  EXPECT_OK("filestat hello.txt after unlinking link", __wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &st));
  EXPECT_OK("filestat dir after unlinking dirlink", __wasi_path_filestat_get(ROOT_FD, 0, "dir", &st));
  EXPECT_OK("unlink loop1", __wasi_path_unlink_file(ROOT_FD, "loop1"));
  EXPECT_OK("rename loop2 -> renamed", __wasi_path_rename(ROOT_FD, "loop2", ROOT_FD, "renamed"));
  readlink_into("renamed", 64);
  puts("done");
  return 0;
}
