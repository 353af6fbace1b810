/* The checks of workflow bodies, and the message helpers every check shares
 * (workflow-checks.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/json-util.h"
#include "engine/budget-limits.h"
#include "engine/workflow-checks.h"
#include "worker/worker-settings.h"

#define DESCRIPTION_MAX 65536
#define TAGS_MAX 100
#define TAG_MAX 100
#define SCHEMA_MAX (256 * 1024)

int check_errors_to_messages(json_t *errors, const char *prefix, json_t *messages) {
        json_t *e;
        size_t i;

        json_array_foreach(errors, i, e) {
                _cleanup_free_ char *buf = NULL;
                json_t *loc = json_object_get(e, "loc"), *part;
                size_t size = 0, j;
                FILE *f;

                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                fputs(prefix, f);
                /* loc[0] is "body": the prefix says where in the document the body sits. */
                json_array_foreach(loc, j, part) {
                        if (j == 0)
                                continue;
                        if (json_is_integer(part))
                                fprintf(f, "[%" JSON_INTEGER_FORMAT "]", json_integer_value(part));
                        else
                                fprintf(f, ".%s", json_string_value(part) ?: "?");
                }
                fprintf(f, ": %s", json_string_value(json_object_get(e, "msg")) ?: "invalid");
                if (fclose(f) != 0)
                        return -ENOMEM;

                if (json_array_append_new(messages, json_string(buf)) < 0)
                        return -ENOMEM;
        }

        return 0;
}

int check_message_append(json_t *messages, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return json_array_append_new(messages, json_string(s)) < 0 ? -ENOMEM : 0;
}

/* Characters, not bytes, as clients count them. */
static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

static const JsonField workflow_create_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY },
        { "slug", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        { "description", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = DESCRIPTION_MAX },
        { "is_active", JSON_FIELD_BOOLEAN },
        { "is_public", JSON_FIELD_BOOLEAN },
        { "is_default", JSON_FIELD_BOOLEAN },
        { "tags", JSON_FIELD_STRING_ARRAY, JSON_FIELD_NULLABLE },
        { "error_handler_workflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "max_execution_seconds", JSON_FIELD_INTEGER, 0, 1, INT32_MAX },
        { "input_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "output_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "settings", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static const JsonField workflow_update_fields[] = {
        { "name", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY },
        { "slug", JSON_FIELD_STRING },
        { "description", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = DESCRIPTION_MAX },
        { "is_active", JSON_FIELD_BOOLEAN },
        { "is_public", JSON_FIELD_BOOLEAN },
        { "is_default", JSON_FIELD_BOOLEAN },
        { "tags", JSON_FIELD_STRING_ARRAY, JSON_FIELD_NULLABLE },
        { "error_handler_workflow_id", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE },
        { "max_execution_seconds", JSON_FIELD_INTEGER, 0, 1, INT32_MAX },
        { "input_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "output_schema", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        { "settings", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
};

static void check_tags(json_t *body, json_t *errors) {
        json_t *tags = json_object_get(body, "tags"), *tag;
        char msg[96];
        size_t i;

        if (!json_is_array(tags))
                return;
        if (json_array_size(tags) > TAGS_MAX) {
                snprintf(msg, sizeof msg, "List should have at most %d items", TAGS_MAX);
                json_error_append(errors, "tags", "too_long", msg);
                return;
        }
        json_array_foreach(tags, i, tag)
                if (json_is_string(tag) && json_string_length(tag) > TAG_MAX) {
                        snprintf(msg, sizeof msg, "Tags should have at most %d characters", TAG_MAX);
                        json_error_append(errors, "tags", "string_too_long", msg);
                        return;
                }
}

static void check_schema_size(json_t *body, const char *field, json_t *errors) {
        _cleanup_free_ char *text = NULL;
        json_t *v = json_object_get(body, field);
        char msg[96];

        if (!json_is_object(v))
                return;
        text = json_dumps_compact(v);
        if (text && strlen(text) <= SCHEMA_MAX)
                return;

        snprintf(msg, sizeof msg, "Value should be at most %d bytes of JSON", SCHEMA_MAX);
        json_error_append(errors, field, "too_long", msg);
}

#define RETENTION_DAYS_MAX 3650000
#define RETENTION_COUNT_MAX 1000000000

static void settings_error(json_t *errors, const char *key, const char *subkey, const char *type, const char *msg) {
        json_t *e = json_pack("{s:[s, s, s], s:s, s:s}", "loc", "body", "settings", key, "msg", msg, "type", type);

        if (e && subkey && json_array_append_new(json_object_get(e, "loc"), json_string(subkey)) < 0) {
                json_decref(e);
                return;
        }
        if (e)
                json_array_append_new(errors, e);
}

/* null (no limit, whatever the [Retention] default) or a whole number from 1 to max. */
static void check_retention_limit(json_t *retention, const char *key, int64_t max, json_t *errors) {
        json_t *v = json_object_get(retention, key);
        char msg[96];

        if (!v || json_is_null(v))
                return;
        if (!json_is_integer(v)) {
                settings_error(errors, "retention", key, "int_type", "Input should be a valid integer or null");
                return;
        }
        if (json_integer_value(v) < 1 || json_integer_value(v) > max) {
                snprintf(msg, sizeof msg, "Input should be between 1 and %" PRIi64, max);
                settings_error(errors, "retention", key, "value_error", msg);
        }
}

/* settings: {retention: {keep_successful: "all"|"none", max_age_days, max_count}, budget:
 * {tokens_per_day, …} (budget-limits.h), worker: {dedicated, …} (worker/worker-settings.h)}. Unknown keys are refused so that a typo does not
 * silently keep everything. */
static void check_settings(json_t *body, json_t *errors) {
        json_t *settings = json_object_get(body, "settings"), *retention, *v;
        _cleanup_json_ json_t *budget_loc = NULL, *worker_loc = NULL;
        const char *key, *keep;

        if (!json_is_object(settings))
                return;
        json_object_foreach(settings, key, v)
                if (!streq(key, "retention") && !streq(key, "budget") && !streq(key, "worker"))
                        settings_error(errors, key, NULL, "extra_forbidden", "Unknown setting (known: retention, "
                                       "budget, worker)");
        budget_loc = json_pack("[s, s, s]", "body", "settings", "budget");
        if (budget_loc)
                budget_check_json(json_object_get(settings, "budget"), budget_loc, errors);
        worker_loc = json_pack("[s, s, s]", "body", "settings", "worker");
        if (worker_loc)
                worker_settings_check_json(json_object_get(settings, "worker"), worker_loc, errors);

        retention = json_object_get(settings, "retention");
        if (!retention || json_is_null(retention))
                return;
        if (!json_is_object(retention)) {
                settings_error(errors, "retention", NULL, "dict_type", "Input should be an object or null");
                return;
        }
        json_object_foreach(retention, key, v)
                if (!streq(key, "keep_successful") && !streq(key, "max_age_days") && !streq(key, "max_count"))
                        settings_error(errors, "retention", key, "extra_forbidden",
                                       "Unknown retention setting (known: keep_successful, max_age_days, max_count)");
        v = json_object_get(retention, "keep_successful");
        keep = json_string_value(v);
        if (v && !json_is_null(v) && (!keep || (!streq(keep, "all") && !streq(keep, "none"))))
                settings_error(errors, "retention", "keep_successful", "enum", "Input should be 'all' or 'none'");
        check_retention_limit(retention, "max_age_days", RETENTION_DAYS_MAX, errors);
        check_retention_limit(retention, "max_count", RETENTION_COUNT_MAX, errors);
}

int workflow_body_check(Db *db, const StoreCaller *caller, json_t *body, bool create, json_t *errors) {
        const char *name, *slug;
        json_t *handler;
        char msg[128];
        int r;

        if (create)
                (void) json_check_fields(body, workflow_create_fields, ELEMENTSOF(workflow_create_fields),
                                         errors);
        else
                (void) json_check_fields(body, workflow_update_fields, ELEMENTSOF(workflow_update_fields),
                                         errors);

        name = json_get_string(body, "name", NULL);
        if (name && utf8_length(name) > WORKFLOW_NAME_MAX) {
                snprintf(msg, sizeof msg, "String should have at most %d characters", WORKFLOW_NAME_MAX);
                json_error_append(errors, "name", "string_too_long", msg);
        }

        slug = json_get_string(body, "slug", NULL);
        if (slug && !workflow_slug_is_valid(slug)) {
                snprintf(msg, sizeof msg,
                         "Slug should be 1 to %d lowercase letters, digits, '-' or '_'", WORKFLOW_SLUG_MAX);
                json_error_append(errors, "slug", "string_pattern_mismatch", msg);
        } else if (slug && !create && workflow_slug_is_reserved(slug)) {
                /* On create a reserved slug is de-duplicated like a taken one. */
                snprintf(msg, sizeof msg, "Slug '%s' is reserved", slug);
                json_error_append(errors, "slug", "value_error", msg);
        }

        check_tags(body, errors);
        check_schema_size(body, "input_schema", errors);
        check_schema_size(body, "output_schema", errors);
        check_settings(body, errors);

        handler = json_object_get(body, "error_handler_workflow_id");
        if (json_is_integer(handler)) {
                r = store_workflow_check_visible(db, caller, json_integer_value(handler));
                if (r == -ENOENT) {
                        snprintf(msg, sizeof msg, "Workflow %" PRIi64 " not found",
                                 (int64_t) json_integer_value(handler));
                        json_error_append(errors, "error_handler_workflow_id", "value_error", msg);
                } else if (r < 0)
                        return r;
        }

        return 0;
}
