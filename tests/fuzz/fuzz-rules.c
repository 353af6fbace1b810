/* libFuzzer target: a rule and a document, both from the input (split at the first NUL),
 * must evaluate or fail with a message, never crash. Build and run: tests/fuzz/run.sh rules */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *split = memchr(data, 0, size);
        json_t *rule, *document;
        char *error = NULL;
        bool passed;
        int r;

        if (!split)
                return 0;
        rule = json_loadb((const char *) data, (size_t) (split - data), JSON_DECODE_ANY, NULL);
        document = json_loadb((const char *) split + 1, size - (size_t) (split - data) - 1,
                              JSON_DECODE_ANY, NULL);
        if (rule && document) {
                r = rule_evaluate(rule, document, &passed, &error);
                if (r < 0 && !error)
                        abort();
                free(error);
        }
        json_decref(rule);
        json_decref(document);
        return 0;
}
