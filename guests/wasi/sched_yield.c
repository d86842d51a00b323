// sched_yield: succeeds, repeatedly, and the program goes on.
#include <sched.h>
#include "check.h"

int main(void) {
  EXPECT_OK("sched_yield", __wasi_sched_yield());
  for (int i = 0; i < 1000; i++) MUST(__wasi_sched_yield());
  puts("1000 more yields");
  CHECK(sched_yield() == 0);
  puts("done");
  return 0;
}
