/* test_error.c - the error convention of engine/error.h: eng_fail sets the
   calling thread's slot and returns -1, the slot is per thread, err_fail
   truncates into the caller's buffer and accepts NULL. */
#include "engine/error.h"
#include "tests/check.h"

#include <pthread.h>
#include <string.h>

typedef struct { int rc; char seen_before[64], seen_after[64]; } ThreadRun;

static void *other_thread(void *arg) {
    ThreadRun *r = arg;
    snprintf(r->seen_before, sizeof r->seen_before, "%s", eng_last_error());
    r->rc = eng_fail("worker: %d", 7);
    snprintf(r->seen_after, sizeof r->seen_after, "%s", eng_last_error());
    return NULL;
}

int main(void) {
    CHECK(eng_last_error() && eng_last_error()[0] == 0, "slot_starts_empty", "'%s'", eng_last_error());

    int rc = eng_fail("pic: target class %d is not below the %d classes", 5, 3);
    CHECK(rc == -1, "eng_fail_returns_minus1", "rc %d", rc);
    CHECK(!strcmp(eng_last_error(), "pic: target class 5 is not below the 3 classes"), "eng_fail_sets_message",
          "'%s'", eng_last_error());

    eng_set_error("first %s", "message");
    CHECK(!strcmp(eng_last_error(), "first message"), "eng_set_error_sets_message", "'%s'", eng_last_error());

    /* The slot may be quoted in the next message (xrai, pic do this). */
    rc = eng_fail("outer: %s", eng_last_error());
    CHECK(rc == -1 && !strcmp(eng_last_error(), "outer: first message"), "eng_fail_quotes_own_slot",
          "'%s'", eng_last_error());

    /* Long messages are cut at the slot size, NUL-terminated. */
    char big[2 * ENG_ERROR_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    eng_fail("%s", big);
    CHECK(strlen(eng_last_error()) == ENG_ERROR_MAX - 1, "eng_fail_truncates", "length %zu", strlen(eng_last_error()));

    /* Per thread: another thread starts with an empty slot, and its failure
       leaves this thread's message alone. */
    eng_fail("main: %d", 1);
    ThreadRun r = {0};
    pthread_t t;
    if (pthread_create(&t, NULL, other_thread, &r) != 0) {
        CHECK(0, "thread_started", "pthread_create failed");
    } else {
        pthread_join(t, NULL);
        CHECK(r.seen_before[0] == 0, "slot_per_thread_starts_empty", "'%s'", r.seen_before);
        CHECK(r.rc == -1 && !strcmp(r.seen_after, "worker: 7"), "slot_per_thread_set_in_thread", "rc %d '%s'",
              r.rc, r.seen_after);
        CHECK(!strcmp(eng_last_error(), "main: 1"), "slot_per_thread_main_unaffected", "'%s'", eng_last_error());
    }

    /* err_fail: the caller's buffer, truncated safely; NULL and 0 accepted. */
    char small[8];
    memset(small, '#', sizeof small);
    rc = err_fail(small, sizeof small, "npy: '%s': negative dimension %d", "a.npy", -3);
    CHECK(rc == -1 && !strcmp(small, "npy: 'a"), "err_fail_truncates", "rc %d '%.8s'", rc, small);
    char one[1] = {'#'};
    rc = err_fail(one, sizeof one, "anything");
    CHECK(rc == -1 && one[0] == 0, "err_fail_size_1", "rc %d", rc);
    char untouched[4] = "abc";
    rc = err_fail(untouched, 0, "anything");
    CHECK(rc == -1 && !strcmp(untouched, "abc"), "err_fail_errlen_0", "rc %d '%s'", rc, untouched);
    rc = err_fail(NULL, 64, "image '%s': empty file (0 bytes)", "x.png");
    CHECK(rc == -1, "err_fail_null", "rc %d", rc);
    CHECK(!strcmp(eng_last_error(), "main: 1"), "err_fail_leaves_slot", "'%s'", eng_last_error());

    CHECK_DONE();
}
