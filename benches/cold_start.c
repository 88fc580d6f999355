// The cold floor of a worker's start-up: the first thread, or the first fork, of a fresh
// process, timed from just before pthread_create / fork to the new thread's or child's first
// instruction (CLOCK_MONOTONIC, one clock for every process). `cargo bench --bench claims`
// runs it in fresh processes beside fresh runs of concur-tui doing the same as their first act.
//
//   gcc -O2 -pthread benches/cold_start.c -o /tmp/cold_start && /tmp/cold_start thread
//
// Prints one line: the start-up in microseconds.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static volatile double started;

static void *first(void *arg) {
    (void)arg;
    started = now();
    return NULL;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "thread";
    double asked;
    if (!strcmp(which, "thread")) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 2 << 20);
        pthread_t thread;
        asked = now();
        if (pthread_create(&thread, &attr, first, NULL)) return 1;
        pthread_join(thread, NULL);
        printf("%.3f\n", (started - asked) * 1e6);
    } else if (!strcmp(which, "fork")) {
        double *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED) return 1;
        asked = now();
        pid_t child = fork();
        if (child == 0) {
            *shared = now();
            _exit(0);
        }
        if (child < 0) return 1;
        waitpid(child, NULL, 0);
        printf("%.3f\n", (*shared - asked) * 1e6);
    } else {
        fprintf(stderr, "usage: cold_start thread|fork\n");
        return 2;
    }
    return 0;
}
