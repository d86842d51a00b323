// Start-up: the smallest useful command, one line to stdout.
#include <stdio.h>

int main(void) {
  puts("hello from a picoprocess");
  return 0;
}
