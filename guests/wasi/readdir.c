// fd_readdir: "." and ".." are listed, every entry's d_next cookie resumes right
// after it, buffers too small for one entry are filled to the brim (the caller
// sees bufused == buf_len and retries larger), and the errors: not a directory,
// bad descriptor, a cookie past the end.
#include "check.h"

#define MAX_ENTRIES 16

typedef struct { char name[64]; __wasi_dircookie_t next; __wasi_filetype_t type; __wasi_inode_t ino; } entry_t;

// Reads the whole directory from `cookie` with a generous buffer.
static int list(__wasi_fd_t fd, __wasi_dircookie_t cookie, entry_t *out) {
  static uint8_t buf[4096];
  __wasi_size_t used = 0;
  MUST(__wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used));
  CHECK(used < sizeof buf);
  int count = 0;
  size_t off = 0;
  while (off + sizeof(__wasi_dirent_t) <= used) {
    __wasi_dirent_t d;
    memcpy(&d, buf + off, sizeof d);
    off += sizeof d;
    CHECK(off + d.d_namlen <= used);
    CHECK(count < MAX_ENTRIES && d.d_namlen < sizeof out[count].name);
    memcpy(out[count].name, buf + off, d.d_namlen);
    out[count].name[d.d_namlen] = '\0';
    out[count].next = d.d_next;
    out[count].type = d.d_type;
    out[count].ino = d.d_ino;
    off += d.d_namlen;
    count++;
  }
  CHECK(off == used);
  return count;
}

static int by_name(const void *a, const void *b) { return strcmp(((const entry_t *)a)->name, ((const entry_t *)b)->name); }

int main(void) {
  __wasi_fd_t dir;
  MUST(__wasi_path_open(ROOT_FD, 0, "dir", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &dir));
  entry_t all[MAX_ENTRIES], sorted[MAX_ENTRIES], rest[MAX_ENTRIES];
  int count = list(dir, 0, all);
  printf("%d entries\n", count);
  // The order is the host's; print by name so the spec is stable.
  memcpy(sorted, all, sizeof all);
  qsort(sorted, count, sizeof sorted[0], by_name);
  for (int i = 0; i < count; i++) printf("entry %s type %u\n", sorted[i].name, (unsigned)sorted[i].type);
  CHECK(strcmp(all[0].name, ".") == 0 && strcmp(all[1].name, "..") == 0);
  puts(". and .. come first");

  // Every cookie resumes right after its entry; the cookies are distinct.
  for (int i = 0; i < count; i++) {
    int more = list(dir, all[i].next, rest);
    CHECKF(more == count - i - 1, "cookie of %s gave %d entries, want %d", all[i].name, more, count - i - 1);
    for (int j = 0; j < more; j++) CHECK(strcmp(rest[j].name, all[i + 1 + j].name) == 0);
  }
  puts("every cookie resumes after its entry");

  // The inode of a file entry matches path_filestat_get.
  for (int i = 0; i < count; i++) {
    if (strcmp(all[i].name, "a.txt") != 0) continue;
    __wasi_filestat_t st;
    MUST(__wasi_path_filestat_get(dir, 0, "a.txt", &st));
    CHECK(st.ino == all[i].ino);
    puts("a.txt d_ino matches its filestat");
  }

  // Small buffers: the call fills the whole buffer with as much as fits (a
  // truncated entry included) and says so by returning bufused == buf_len.
  uint8_t small[64];
  __wasi_size_t sizes[] = { 0, 1, 10, 24, 25, 30 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    __wasi_size_t used = 12345;
    memset(small, 0xEE, sizeof small);
    EXPECT_OK("fd_readdir small buffer", __wasi_fd_readdir(dir, small, sizes[i], 0, &used));
    printf("buf_len %u -> bufused %u\n", (unsigned)sizes[i], (unsigned)used);
    CHECK(small[sizes[i]] == 0xEE);
  }
  // Walk the directory 40 bytes at a time, resuming at the last whole entry's cookie.
  __wasi_dircookie_t cookie = 0;
  int seen = 0;
  for (int round = 0; round < 100; round++) {
    __wasi_size_t used = 0;
    MUST(__wasi_fd_readdir(dir, small, 40, cookie, &used));
    if (used == 0) break;
    size_t off = 0;
    int whole = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, small + off, sizeof d);
      if (off + sizeof d + d.d_namlen > used) break;
      CHECK(strncmp((const char *)small + off + sizeof d, all[seen].name, d.d_namlen) == 0);
      cookie = d.d_next;
      off += sizeof d + d.d_namlen;
      seen++;
      whole++;
    }
    CHECK(whole > 0);
    if (used < 40) break;
  }
  CHECK(seen == count);
  puts("40-byte buffers list every entry");

  __wasi_size_t used = 0;
  uint8_t buf[256];
  EXPECT_OK("fd_readdir cookie past the end", __wasi_fd_readdir(dir, buf, sizeof buf, 1000, &used));
  printf("bufused %u\n", (unsigned)used);
  __wasi_fd_t file;
  MUST(__wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, 0, &file));
  // wasmtime: EBADF (the descriptor is not a directory descriptor), not ENOTDIR.
  EXPECT_ERRNO("fd_readdir on a file", __wasi_fd_readdir(file, buf, sizeof buf, 0, &used), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("fd_readdir bad fd", __wasi_fd_readdir(77, buf, sizeof buf, 0, &used), __WASI_ERRNO_BADF);

  // An empty directory has just . and ..; the preopen itself can be listed too.
  MUST(__wasi_path_create_directory(ROOT_FD, "empty"));
  __wasi_fd_t empty;
  MUST(__wasi_path_open(ROOT_FD, 0, "empty", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, 0, &empty));
  count = list(empty, 0, all);
  printf("empty: %d entries: %s %s\n", count, all[0].name, all[1].name);
  count = list(ROOT_FD, 0, all);
  qsort(all, count, sizeof all[0], by_name);
  printf("root:");
  for (int i = 0; i < count; i++) printf(" %s", all[i].name);
  printf("\n");
  puts("done");
  return 0;
}
