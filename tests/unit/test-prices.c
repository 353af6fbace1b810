/* The price table: longest prefix wins, unknown models cost nothing and say so, cached
 * prompt tokens at their own price, broken tables refused with a clear reason, and the
 * shipped data/prices.json loads. */

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json-util.h"
#include "engine/prices.h"

static PriceTable *table_of(const char *text) {
        _cleanup_json_ json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *error = NULL;
        PriceTable *t = NULL;

        ck_assert_ptr_nonnull(doc);
        ck_assert_int_eq(price_table_from_json(doc, &t, &error), 0);
        ck_assert_ptr_null(error);
        return t;
}

static void assert_refused(const char *text, const char *why) {
        _cleanup_json_ json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *error = NULL;
        PriceTable *t = NULL;

        ck_assert_ptr_nonnull(doc);
        ck_assert_int_eq(price_table_from_json(doc, &t, &error), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strstr(error, why), "'%s' does not say '%s'", error, why);
}

#define assert_close(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-12, "%.17g != %.17g", (double) (a), (double) (b))

static const char table_text[] =
        "{\"about\": \"comment\", \"models\": {"
        "\"gpt-4o\": {\"input\": 2.5, \"cached_input\": 1.25, \"output\": 10},"
        "\"gpt-4o-mini\": {\"input\": 0.15, \"output\": 0.6},"
        "\"claude-sonnet-4\": {\"input\": 3, \"cached_input\": 0.3, \"cache_write\": 3.75, \"output\": 15}}}";

START_TEST(test_longest_prefix_wins) {
        _cleanup_(price_table_freep) PriceTable *t = table_of(table_text);
        const ModelPrice *p;

        ck_assert_uint_eq(price_table_size(t), 3);
        p = price_table_find(t, "gpt-4o");
        ck_assert_str_eq(p->prefix, "gpt-4o");
        ck_assert_str_eq(price_table_find(t, "gpt-4o-2024-08-06")->prefix, "gpt-4o");
        ck_assert_str_eq(price_table_find(t, "gpt-4o-mini")->prefix, "gpt-4o-mini");
        ck_assert_str_eq(price_table_find(t, "gpt-4o-mini-2024-07-18")->prefix, "gpt-4o-mini");
        /* Case does not matter; a provider's "vendor/" part is looked through. */
        ck_assert_str_eq(price_table_find(t, "GPT-4o-Mini")->prefix, "gpt-4o-mini");
        ck_assert_str_eq(price_table_find(t, "openai/gpt-4o-mini")->prefix, "gpt-4o-mini");
        ck_assert_str_eq(price_table_find(t, "claude-sonnet-4-5-20250929")->prefix, "claude-sonnet-4");

        ck_assert_ptr_null(price_table_find(t, "gpt-4"));       /* shorter than every prefix */
        ck_assert_ptr_null(price_table_find(t, "llama3.1:8b"));
        ck_assert_ptr_null(price_table_find(t, "openai/"));
        ck_assert_ptr_null(price_table_find(t, ""));
        ck_assert_ptr_null(price_table_find(t, NULL));
        ck_assert_ptr_null(price_table_find(NULL, "gpt-4o"));
}
END_TEST

START_TEST(test_costs) {
        _cleanup_(price_table_freep) PriceTable *t = table_of(table_text);
        LlmUsage u = { .input_tokens = 1000000, .output_tokens = 1000000 };
        bool known = false;

        assert_close(price_table_cost(t, "gpt-4o-mini", &u, &known), 0.75);
        ck_assert(known);
        u = (LlmUsage) { .input_tokens = 1200, .output_tokens = 300 };
        assert_close(price_table_cost(t, "gpt-4o", &u, NULL), (1200 * 2.5 + 300 * 10) / 1e6);

        /* Cached prompt tokens (counted in input_tokens) at the cached price. */
        u = (LlmUsage) { .input_tokens = 1000, .cache_read_tokens = 400, .output_tokens = 10 };
        assert_close(price_table_cost(t, "gpt-4o", &u, NULL), (600 * 2.5 + 400 * 1.25 + 10 * 10) / 1e6);
        /* Unset cached price: the input price. */
        assert_close(price_table_cost(t, "gpt-4o-mini", &u, NULL), (1000 * 0.15 + 10 * 0.6) / 1e6);
        /* Anthropic's cache writes. */
        u = (LlmUsage) { .input_tokens = 1000, .cache_read_tokens = 200, .cache_write_tokens = 300 };
        assert_close(price_table_cost(t, "claude-sonnet-4-20250514", &u, NULL),
                     (500 * 3.0 + 200 * 0.3 + 300 * 3.75) / 1e6);
        /* A provider reporting more cached than prompt tokens is not billed below zero. */
        u = (LlmUsage) { .input_tokens = 10, .cache_read_tokens = 50, .cache_write_tokens = 50 };
        assert_close(price_table_cost(t, "gpt-4o", &u, NULL), 10 * 1.25 / 1e6);

        /* Unknown: free, and said so. */
        u = (LlmUsage) { .input_tokens = 5000, .output_tokens = 5000 };
        known = true;
        assert_close(price_table_cost(t, "my-local-model", &u, &known), 0);
        ck_assert(!known);
        known = true;
        assert_close(price_table_cost(NULL, "gpt-4o", &u, &known), 0);
        ck_assert(!known);
}
END_TEST

START_TEST(test_refused) {
        assert_refused("[]", "not a JSON object");
        assert_refused("{}", "'models' is missing");
        assert_refused("{\"models\": []}", "'models' is missing or not an object");
        assert_refused("{\"models\": {\"gpt\": 1}}", "models.gpt: not an object");
        assert_refused("{\"models\": {\"gpt\": {\"output\": 1}}}", "models.gpt: 'input' is missing");
        assert_refused("{\"models\": {\"gpt\": {\"input\": 1}}}", "models.gpt: 'output' is missing");
        assert_refused("{\"models\": {\"gpt\": {\"input\": \"1\", \"output\": 1}}}", "models.gpt.input: not a number");
        assert_refused("{\"models\": {\"gpt\": {\"input\": -1, \"output\": 1}}}", "not a price from 0");
        assert_refused("{\"models\": {\"gpt\": {\"input\": 1, \"output\": 1e9}}}", "not a price from 0");
        assert_refused("{\"models\": {\"gpt\": {\"input\": 1, \"output\": 1, \"ouptut\": 2}}}", "unknown key 'ouptut'");
        assert_refused("{\"models\": {\"\": {\"input\": 1, \"output\": 1}}}", "1 to 200 characters");
}
END_TEST

START_TEST(test_files) {
        char path[] = "/tmp/test-prices-XXXXXX";
        _cleanup_(price_table_freep) PriceTable *shipped = NULL, *t = NULL;
        _cleanup_free_ char *error = NULL, *found = NULL;
        LlmUsage u = { .input_tokens = 1000000, .output_tokens = 1000000 };
        FILE *f;
        int fd;

        /* The table the package installs loads and prices the well-known models. */
        ck_assert_int_eq(price_table_load(TOP_SRCDIR "/data/prices.json", &shipped, &error), 0);
        ck_assert_uint_gt(price_table_size(shipped), 10);
        ck_assert_ptr_nonnull(price_table_find(shipped, "gpt-4o-mini-2024-07-18"));
        ck_assert_ptr_nonnull(price_table_find(shipped, "claude-sonnet-4-5"));
        ck_assert_ptr_nonnull(price_table_find(shipped, "o3-mini"));
        ck_assert_str_eq(price_table_find(shipped, "gpt-4o-mini")->prefix, "gpt-4o-mini");
        ck_assert(price_table_cost(shipped, "gpt-4o", &u, NULL) > price_table_cost(shipped, "gpt-4o-mini", &u, NULL));

        ck_assert_int_eq(price_table_load("/nonexistent/prices.json", &t, &error), -ENOENT);

        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        f = fdopen(fd, "w");
        fputs("{\"models\": {\"x\": {\"input\": 1, \"output\": 2},}}", f);
        fclose(f);
        ck_assert_int_eq(price_table_load(path, &t, &error), -EINVAL);
        ck_assert_msg(strstr(error, path) && strstr(error, ":1:"), "%s", error);
        free(error);
        error = NULL;

        /* A configured file is the one read, whatever else exists; a missing one is an
         * error, not a silent fallback. */
        f = fopen(path, "w");
        fputs("{\"models\": {\"x\": {\"input\": 1, \"output\": 2}}}", f);
        fclose(f);
        ck_assert_int_eq(price_table_load_default(path, &t, &found, &error), 0);
        ck_assert_str_eq(found, path);
        ck_assert_uint_eq(price_table_size(t), 1);
        t = price_table_free(t);
        free(found);
        found = NULL;
        ck_assert_int_eq(price_table_load_default("/nonexistent/prices.json", &t, &found, &error), -EINVAL);
        ck_assert_msg(strstr(error, "no such file"), "%s", error);
        ck_assert_ptr_null(t);
        unlink(path);
}
END_TEST

int main(void) {
        Suite *s = suite_create("prices");
        TCase *tc = tcase_create("prices");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_longest_prefix_wins);
        tcase_add_test(tc, test_costs);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_files);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
