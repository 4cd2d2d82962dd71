/*
 * fuzz/replay.c - a plain main() for any libFuzzer target: reads each file
 * named on the command line and passes its bytes to LLVMFuzzerTestOneInput,
 * so every target also builds as `<target>-replay crash-file...` without
 * libFuzzer (for debuggers, valgrind and compilers without -fsanitize=fuzzer).
 *
 * A target may define LLVMFuzzerInitialize; it is called once when present.
 * Exit status: 0 when every file ran, 1 when a file could not be read (a
 * failing check inside the target aborts instead).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Whole file into a fresh heap block (this tool is outside src/, the
 * no-heap rule does not apply). NULL on error. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t cap = 0u;
    size_t n = 0u;
    bool ok = (f != NULL);

    while (ok) {
        size_t got;
        if (n == cap) {
            size_t ncap = (cap == 0u) ? 4096u : (cap * 2u);
            uint8_t *p = realloc(data, ncap);
            if (p == NULL) {
                ok = false;
                break;
            }
            data = p;
            cap = ncap;
        }
        got = fread(data + n, 1u, cap - n, f);
        n += got;
        if (got == 0u) {
            ok = (ferror(f) == 0);
            break;
        }
    }
    if (f != NULL) {
        (void)fclose(f);
    }
    if (!ok) {
        free(data);
        return NULL;
    }
    *size = n;
    return data;
}

int main(int argc, char **argv)
{
    int i;
    int failed = 0;

    if (LLVMFuzzerInitialize != NULL) {
        (void)LLVMFuzzerInitialize(&argc, &argv);
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s file...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        size_t size = 0u;
        uint8_t *data = read_file(argv[i], &size);
        if (data == NULL) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            failed = 1;
            continue;
        }
        /* an exact-size copy, so ASan sees reads past the end of the input */
        {
            uint8_t *exact = malloc((size > 0u) ? size : 1u);
            if (exact == NULL) {
                free(data);
                fprintf(stderr, "replay: out of memory for %s\n", argv[i]);
                failed = 1;
                continue;
            }
            memcpy(exact, data, size);
            free(data);
            fprintf(stderr, "replay: %s (%zu bytes)\n", argv[i], size);
            (void)LLVMFuzzerTestOneInput(exact, size);
            free(exact);
        }
    }
    return failed;
}
