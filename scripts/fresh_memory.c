/* How fast this machine maps fresh memory: allocates N MiB and writes one byte per 4 KiB
 * page, so that the kernel maps (and zeroes) every page once. On the development host (a
 * Firecracker guest with free-page reporting) memory the guest has given back costs
 * 4–6 s per GiB to map again, which is why the national ingest spends a third of its CPU
 * time in the kernel (BENCHMARKS.md, "Less memory per row").
 *
 *   cc -O2 scripts/fresh_memory.c -o /tmp/fresh_memory && /tmp/fresh_memory 6000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    size_t n = (size_t)atol(argc > 1 ? argv[1] : "1000") << 20;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char *p = malloc(n);
    if (!p) return 1;
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%zu MiB mapped in %.3f s (%.0f MiB/s)\n", n >> 20, s, (double)(n >> 20) / s);
    return p[n / 2] == 1 ? 0 : 1;
}
