/* parallel.c - a fixed pool of worker threads for eng_parallel_for (see
   parallel.h). One job at a time, posted by the engine's calling thread:
   the job's ranges are numbered 0..parts-1; the caller runs range 0 and
   worker k runs range k. A generation counter wakes the workers; a
   countdown tells the caller when they are done. */
#include "engine/parallel.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_WORKERS 63

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[MAX_WORKERS];
    int n_workers;       /* started */
    int want;            /* threads asked for (0 = all cores) */
    unsigned long gen;   /* job number */
    int parts, pending;
    EngRangeFn fn;
    void *ctx;
    size_t n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static void range_of(size_t n, int parts, int k, size_t *lo, size_t *hi) {
    *lo = n * (size_t)k / (size_t)parts;
    *hi = n * (size_t)(k + 1) / (size_t)parts;
}

/* Set on a thread while it runs a range: an eng_parallel_for called from
   inside a range runs inline (the pool holds one job at a time). */
static _Thread_local int in_range;

static void run_range(EngRangeFn fn, void *ctx, size_t lo, size_t hi) {
    in_range = 1;
    fn(ctx, lo, hi);
    in_range = 0;
}

static void *worker(void *arg) {
    int k = (int)(size_t)arg; /* runs range k (1-based among workers) */
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.gen == seen) pthread_cond_wait(&pool.wake, &pool.mu);
        seen = pool.gen;
        if (k >= pool.parts) continue; /* this job needs fewer threads */
        EngRangeFn fn = pool.fn;
        void *ctx = pool.ctx;
        size_t lo, hi;
        range_of(pool.n, pool.parts, k, &lo, &hi);
        pthread_mutex_unlock(&pool.mu);
        run_range(fn, ctx, lo, hi);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

static int threads_wanted(void) {
    if (pool.want > 0) return pool.want;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

/* Starts workers up to threads_wanted() - 1 (they are never stopped; a lower
   setting just gives them no ranges). Returns the threads usable now. */
static int ensure_workers(void) {
    int t = threads_wanted();
    if (t > MAX_WORKERS + 1) t = MAX_WORKERS + 1;
    while (pool.n_workers < t - 1) {
        if (pthread_create(&pool.tid[pool.n_workers], NULL, worker, (void *)(size_t)(pool.n_workers + 1))) break;
        pthread_detach(pool.tid[pool.n_workers]);
        pool.n_workers++;
    }
    return t < pool.n_workers + 1 ? t : pool.n_workers + 1;
}

void eng_parallel_set_threads(int n) { pool.want = n; }

int eng_parallel_width(void) {
    if (in_range) return 1;
    pthread_mutex_lock(&pool.mu);
    int t = ensure_workers();
    pthread_mutex_unlock(&pool.mu);
    return t;
}

void eng_parallel_for(size_t n, size_t min_per_thread, EngRangeFn fn, void *ctx) {
    if (n == 0) return;
    if (in_range) { fn(ctx, 0, n); return; }
    int t = ensure_workers();
    if (min_per_thread < 1) min_per_thread = 1;
    size_t most = n / min_per_thread;
    if ((size_t)t > most) t = most < 1 ? 1 : (int)most;
    if (t <= 1) { fn(ctx, 0, n); return; }
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn; pool.ctx = ctx; pool.n = n; pool.parts = t; pool.pending = t - 1;
    pool.gen++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    size_t lo, hi;
    range_of(n, t, 0, &lo, &hi);
    run_range(fn, ctx, lo, hi);
    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
}
