// The fuzzer's entry point. Built by scripts/fuzz with TRIAGE_LIBFUZZER defined and
// -sanitize=fuzzer, this file defines no main: swiftc links libFuzzer's runtime whole, and its
// main drives LLVMFuzzerTestOneInput (defined in Swift, TriageFuzzing). In a normal build this
// main replays the files named on the command line through the same target, so `swift build`
// links without libFuzzer and a finding reproduces with `.build/debug/triage-fuzz FILE`.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef TRIAGE_LIBFUZZER
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { fprintf(stderr, "triage-fuzz: cannot open %s\n", argv[i]); return 2; }
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buffer = malloc(size > 0 ? (size_t)size : 1);
        size_t got = buffer ? fread(buffer, 1, (size_t)size, f) : 0;
        fclose(f);
        LLVMFuzzerTestOneInput(buffer, got);
        free(buffer);
        fprintf(stderr, "triage-fuzz: replayed %s (%zu bytes)\n", argv[i], got);
    }
    return 0;
}
#endif
