/* settings.worker: checking what the API is given, and reading the limits back. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "worker/worker-settings.h"

static const char *const known_keys[] = { "dedicated", "memory_max", "cpu_quota", "tasks_max", "runtime_max_sec" };

/* "256M", "1G", "1048576", or a whole number: bytes. */
static int parse_memory(json_t *v, uint64_t *ret) {
        const char *s = json_string_value(v), *p;
        uint64_t n = 0, factor = 1;

        if (json_is_integer(v)) {
                if (json_integer_value(v) < 0)
                        return -ERANGE;
                n = (uint64_t) json_integer_value(v);
        } else if (s) {
                for (p = s; *p >= '0' && *p <= '9'; p++) {
                        if (n > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        n = n * 10 + (uint64_t) (*p - '0');
                }
                if (p == s)
                        return -EINVAL;
                switch (*p) {
                case 0: break;
                case 'K': factor = 1ULL << 10; break;
                case 'M': factor = 1ULL << 20; break;
                case 'G': factor = 1ULL << 30; break;
                case 'T': factor = 1ULL << 40; break;
                default: return -EINVAL;
                }
                if (*p && p[1])
                        return -EINVAL;
                if (n > UINT64_MAX / factor)
                        return -ERANGE;
                n *= factor;
        } else
                return -EINVAL;
        if (n < WORKER_MEMORY_MIN || n > WORKER_MEMORY_MAX)
                return -ERANGE;
        *ret = n;
        return 0;
}

/* "50%": CPU time per second of wall-clock time, in µs (as systemd's CPUQuotaPerSecUSec). */
static int parse_cpu_quota(json_t *v, uint64_t *ret) {
        const char *s = json_string_value(v), *p;
        uint64_t percent = 0;

        if (!s)
                return -EINVAL;
        for (p = s; *p >= '0' && *p <= '9' && percent <= WORKER_CPU_PERCENT_MAX; p++)
                percent = percent * 10 + (uint64_t) (*p - '0');
        if (p == s || *p != '%' || p[1])
                return percent > WORKER_CPU_PERCENT_MAX ? -ERANGE : -EINVAL;
        if (percent < 1 || percent > WORKER_CPU_PERCENT_MAX)
                return -ERANGE;
        *ret = percent * 10000;
        return 0;
}

static int parse_count(json_t *v, int64_t min, int64_t max, uint64_t *ret) {
        if (!json_is_integer(v))
                return -EINVAL;
        if (json_integer_value(v) < min || json_integer_value(v) > max)
                return -ERANGE;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static bool key_is_known(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(known_keys); i++)
                if (streq(key, known_keys[i]))
                        return true;
        return false;
}

void worker_settings_check_json(json_t *worker, json_t *loc, json_t *errors) {
        const char *key;
        uint64_t ignored;
        char msg[160];
        json_t *v;
        int r;

        if (!worker || json_is_null(worker))
                return;
        if (!json_is_object(worker)) {
                json_error_append_at(errors, loc, NULL, "dict_type", "Input should be an object or null");
                return;
        }
        json_object_foreach(worker, key, v) {
                if (!key_is_known(key)) {
                        json_error_append_at(errors, loc, key, "extra_forbidden", "Unknown worker setting (known: dedicated, "
                                     "memory_max, cpu_quota, tasks_max, runtime_max_sec)");
                        continue;
                }
                if (json_is_null(v))
                        continue;
                if (streq(key, "dedicated")) {
                        if (!json_is_boolean(v))
                                json_error_append_at(errors, loc, key, "bool_type", "Input should be a valid boolean");
                } else if (streq(key, "memory_max")) {
                        r = parse_memory(v, &ignored);
                        if (r == -ERANGE)
                                snprintf(msg, sizeof msg, "Memory should be from %lluM to %lluT",
                                         WORKER_MEMORY_MIN >> 20, WORKER_MEMORY_MAX >> 40);
                        if (r < 0)
                                json_error_append_at(errors, loc, key, r == -ERANGE ? "value_error" : "string_pattern_mismatch",
                                             r == -ERANGE ? msg : "Input should be bytes, or a number with K, M, G "
                                             "or T (e.g. \"256M\")");
                } else if (streq(key, "cpu_quota")) {
                        r = parse_cpu_quota(v, &ignored);
                        if (r == -ERANGE)
                                snprintf(msg, sizeof msg, "CPU quota should be from 1%% to %d%%", WORKER_CPU_PERCENT_MAX);
                        if (r < 0)
                                json_error_append_at(errors, loc, key, r == -ERANGE ? "value_error" : "string_pattern_mismatch",
                                             r == -ERANGE ? msg : "Input should be a percentage of one CPU "
                                             "(e.g. \"50%\")");
                } else if (streq(key, "tasks_max")) {
                        r = parse_count(v, WORKER_TASKS_MIN, WORKER_TASKS_MAX, &ignored);
                        snprintf(msg, sizeof msg, "Input should be a whole number from %d to %d", WORKER_TASKS_MIN,
                                 WORKER_TASKS_MAX);
                        if (r < 0)
                                json_error_append_at(errors, loc, key, r == -ERANGE ? "value_error" : "int_type", msg);
                } else {
                        r = parse_count(v, 1, WORKER_RUNTIME_SEC_MAX, &ignored);
                        snprintf(msg, sizeof msg, "Input should be a whole number of seconds from 1 to %lld",
                                 WORKER_RUNTIME_SEC_MAX);
                        if (r < 0)
                                json_error_append_at(errors, loc, key, r == -ERANGE ? "value_error" : "int_type", msg);
                }
        }
}

void worker_limits_from_settings(json_t *settings, WorkerLimits *ret) {
        json_t *w = json_object_get(settings, "worker");
        uint64_t v;

        *ret = (WorkerLimits) {};
        if (!json_is_object(w))
                return;
        ret->dedicated = json_is_true(json_object_get(w, "dedicated"));
        if (parse_memory(json_object_get(w, "memory_max"), &v) >= 0)
                ret->memory_max = v;
        if (parse_cpu_quota(json_object_get(w, "cpu_quota"), &v) >= 0)
                ret->cpu_quota_per_sec_usec = v;
        if (parse_count(json_object_get(w, "tasks_max"), WORKER_TASKS_MIN, WORKER_TASKS_MAX, &v) >= 0)
                ret->tasks_max = v;
        if (parse_count(json_object_get(w, "runtime_max_sec"), 1, WORKER_RUNTIME_SEC_MAX, &v) >= 0)
                ret->runtime_max_usec = v * 1000000;
}

bool worker_limits_equal(const WorkerLimits *a, const WorkerLimits *b) {
        return a->dedicated == b->dedicated && a->memory_max == b->memory_max &&
                a->cpu_quota_per_sec_usec == b->cpu_quota_per_sec_usec && a->tasks_max == b->tasks_max &&
                a->runtime_max_usec == b->runtime_max_usec;
}

json_t *worker_limits_to_json(const WorkerLimits *l) {
        json_t *o = json_pack("{s:b}", "dedicated", l->dedicated);
        char quota[32];

        snprintf(quota, sizeof quota, "%" PRIu64 "%%", l->cpu_quota_per_sec_usec / 10000);
        if (o && ((l->memory_max && json_object_set_new(o, "memory_max", json_integer((json_int_t) l->memory_max)) < 0) ||
                  (l->cpu_quota_per_sec_usec && json_object_set_new(o, "cpu_quota", json_string(quota)) < 0) ||
                  (l->tasks_max && json_object_set_new(o, "tasks_max", json_integer((json_int_t) l->tasks_max)) < 0) ||
                  (l->runtime_max_usec &&
                   json_object_set_new(o, "runtime_max_sec", json_integer((json_int_t) (l->runtime_max_usec / 1000000))) < 0)))
                return json_decref(o), NULL;
        return o;
}
