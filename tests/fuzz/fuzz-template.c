/* libFuzzer target: any text through the template engine must render or fail with a
 * message, never crash, hang or leak. Build and run: tests/fuzz/run.sh template */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *context(void) {
        static json_t *ctx;

        if (!ctx)
                ctx = json_loads("{\"a\":{\"b\":[1,2,{\"c\":\"x\"}],\"s\":\"h\\u00e9llo\",\"n\":null,"
                                 "\"f\":1.5},\"items\":[3,1,2],\"w\":[\"b\",\"A\"]}", 0, NULL);
        return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TemplateLimits limits = { .max_output = 65536, .max_iterations = 1000 };
        TemplateError error = {};
        char *text, *out = NULL;
        json_t *value = NULL;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;

        r = template_render_full(text, context(), &limits, &out, &error);
        if (!(r == 0 || r == -EINVAL || r == -E2BIG) || (r < 0 && !error.message) || (r == 0 && !out))
                abort();
        free(out);
        template_error_done(&error);

        r = template_render_value_full(text, context(), &limits, &value, &error);
        if (!(r == 0 || r == -EINVAL || r == -E2BIG))
                abort();
        json_decref(value);
        template_error_done(&error);
        free(text);
        return 0;
}
