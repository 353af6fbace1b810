/* pipelitd's configuration: defaults, the main file and its drop-ins, the environment. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"

#define DEFAULT_MAX_BODY_SIZE ((size_t) 1024 * 1024)
#define DEFAULT_MAX_NODES_PER_WORKFLOW 1000
#define MAX_NODES_PER_WORKFLOW_LIMIT 100000
#define DEFAULT_MAX_NODE_OUTPUT_SIZE ((size_t) 1024 * 1024)
#define DEFAULT_WORKERS 4
#define DEFAULT_MAX_SUBWORKFLOW_DEPTH 5
#define MAX_SUBWORKFLOW_DEPTH_LIMIT 1000
/* A day short of 10,000 years keeps every computed age far from overflow. */
#define RETENTION_DAYS_LIMIT 3650000
#define RETENTION_COUNT_LIMIT INT64_C(1000000000)
#define WORKERS_LIMIT 1024
#define DEFAULT_STATE_DIRECTORY "/var/lib/pipelit"
#define DEFAULT_WEBSOCKET_PING_USEC (30ULL * 1000 * 1000)
#define DEFAULT_WEBSOCKET_PONG_TIMEOUT_USEC (10ULL * 1000 * 1000)
/* Configuration files are small; anything bigger is a mistake, not a configuration. */
#define CONFIG_FILE_MAX ((size_t) 1024 * 1024)

/* --- small string helpers ------------------------------------------------------------ */

static bool ascii_isdigit(char c) {
        return c >= '0' && c <= '9';
}

static bool ascii_isspace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool all_digits(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!ascii_isdigit(*s))
                        return false;
        return true;
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);

        return ls >= lx && streq(s + ls - lx, suffix);
}

/* Trims in place and returns the first non-blank character. */
static char *strstrip(char *s) {
        size_t n;

        while (ascii_isspace(*s))
                s++;
        n = strlen(s);
        while (n > 0 && ascii_isspace(s[n - 1]))
                s[--n] = '\0';
        return s;
}

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static char **strv_free(char **l) {
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

/* Takes ownership of s, also on failure. */
static int strv_consume(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **nl;

        nl = reallocarray(*l, n + 2, sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

static void *mfree(void *p) {
        free(p);
        return NULL;
}

static int free_and_strdup(char **field, const char *value) {
        char *copy = NULL;

        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*field);
        *field = copy;
        return 0;
}

static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...) {
        va_list ap;
        char *s;

        if (!ret_error)
                return r;
        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = s;
        return r;
}

/* Database URLs may carry a password: error messages show "scheme://…@host" instead. */
static char *redact_url(const char *url) {
        const char *scheme_end = strstr(url, "://"), *at;
        char *s;

        if (!scheme_end)
                return strdup(url);
        at = strrchr(scheme_end + 3, '@');
        if (!at)
                return strdup(url);
        if (asprintf(&s, "%.*s://…%s", (int) (scheme_end - url), url, at) < 0)
                return NULL;
        return s;
}

/* --- value parsers shared with the command line --------------------------------------- */

int parse_size(const char *s, size_t *ret) {
        static const struct {
                const char *suffix;
                unsigned long long factor;
        } units[] = {
                { "",  1ULL },
                { "B", 1ULL },
                { "K", 1ULL << 10 },
                { "M", 1ULL << 20 },
                { "G", 1ULL << 30 },
                { "T", 1ULL << 40 },
        };
        unsigned long long v;
        char *end;

        /* strtoull() would accept leading blanks and a minus sign; sizes have neither. */
        if (!s || !ascii_isdigit(s[0]))
                return -EINVAL;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(end, units[i].suffix))
                        continue;
                if (v > SIZE_MAX / units[i].factor)
                        return -ERANGE;
                if (ret)
                        *ret = (size_t) (v * units[i].factor);
                return 0;
        }
        return -EINVAL;
}

int parse_seconds(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "",     UINT64_C(1000000) },
                { "s",    UINT64_C(1000000) },
                { "sec",  UINT64_C(1000000) },
                { "m",    UINT64_C(60000000) },
                { "min",  UINT64_C(60000000) },
                { "h",    UINT64_C(3600000000) },
                { "ms",   UINT64_C(1000) },
                { "msec", UINT64_C(1000) },
                { "us",   UINT64_C(1) },
                { "usec", UINT64_C(1) },
        };
        unsigned long long v;
        char *end;

        if (!s || !ascii_isdigit(s[0]))
                return -EINVAL;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        while (*end == ' ')
                end++;

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(end, units[i].suffix))
                        continue;
                if (v > UINT64_MAX / units[i].usec)
                        return -ERANGE;
                if (ret_usec)
                        *ret_usec = (uint64_t) v * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        if (ret)
                                *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        if (ret)
                                *ret = false;
                        return 0;
                }
        return -EINVAL;
}

static int parse_port(const char *s, uint16_t *ret) {
        unsigned long v;

        /* At most five digits, so strtoul() cannot overflow and "+80" or " 80" never pass. */
        if (!all_digits(s) || strlen(s) > 5)
                return -EINVAL;
        v = strtoul(s, NULL, 10);
        if (v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens; the last
 * label is not all digits, so a mistyped IPv4 address is not taken for a name. */
static bool hostname_is_valid(const char *s) {
        size_t n = strlen(s), label_len = 0;
        bool label_all_digits = true;

        if (n == 0 || n > 253)
                return false;

        for (size_t i = 0; i <= n; i++) {
                char c = s[i];

                if (c == '.' || c == '\0') {
                        if (label_len == 0 || label_len > 63 || s[i - 1] == '-')
                                return false;
                        if (c == '\0')
                                return !label_all_digits;
                        label_len = 0;
                        label_all_digits = true;
                        continue;
                }
                if (!ascii_isdigit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-')
                        return false;
                if (c == '-' && label_len == 0)
                        return false;
                if (!ascii_isdigit(c))
                        label_all_digits = false;
                label_len++;
        }
        return false; /* not reached */
}

int parse_listen_address(const char *s, char **ret_host, uint16_t *ret_port) {
        _cleanup_free_ char *host = NULL;
        const char *port_str;
        uint16_t port;
        int r;

        if (!s)
                return -EINVAL;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                struct in6_addr a6;

                if (!close || close[1] != ':')
                        return -EINVAL;
                host = strndup(s + 1, close - s - 1);
                if (!host)
                        return -ENOMEM;
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return -EINVAL;
                port_str = close + 2;
        } else {
                const char *colon = strrchr(s, ':');
                struct in_addr a4;

                if (!colon)
                        return -EINVAL;
                host = strndup(s, colon - s);
                if (!host)
                        return -ENOMEM;
                /* A bare IPv6 address is ambiguous next to a port; it needs brackets. */
                if (strchr(host, ':'))
                        return -EINVAL;
                if (*host && inet_pton(AF_INET, host, &a4) != 1 && !hostname_is_valid(host))
                        return -EINVAL;
                port_str = colon + 1;
        }

        r = parse_port(port_str, &port);
        if (r < 0)
                return r;

        if (ret_host)
                *ret_host = isempty(host) ? NULL : TAKE_PTR(host);
        if (ret_port)
                *ret_port = port;
        return 0;
}

/* --- the settings ---------------------------------------------------------------------- */

/* Absolute, without trailing slashes (so "<dir>/file" joins cleanly); "" resets. */
static int set_path(char **field, const char *value, size_t max_len) {
        _cleanup_free_ char *copy = NULL;
        size_t n;

        if (isempty(value))
                return free_and_strdup(field, NULL);
        if (value[0] != '/')
                return -EINVAL;

        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        if (max_len > 0 && n > max_len)
                return -EINVAL;

        free(*field);
        *field = TAKE_PTR(copy);
        return 0;
}

static int config_listen_append(Config *c, const char *value) {
        char *copy;
        int r;

        /* An empty assignment drops what earlier files said, as in systemd units. */
        if (isempty(value)) {
                c->listen = strv_free(c->listen);
                return 0;
        }
        r = parse_listen_address(value, NULL, NULL);
        if (r < 0)
                return r;
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        return strv_consume(&c->listen, copy);
}

/* PIPELIT_LISTEN="a:1,b:2" replaces the whole list; "" clears it. */
static int config_listen_replace(Config *c, const char *value) {
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *p, *item;
        int r;

        copy = strdup(value);
        if (!copy)
                return -ENOMEM;

        if (!isempty(copy))
                for (p = copy; (item = strsep(&p, ",")); ) {
                        char *dup;

                        item = strstrip(item);
                        r = parse_listen_address(item, NULL, NULL);
                        if (r < 0)
                                return r;
                        dup = strdup(item);
                        if (!dup)
                                return -ENOMEM;
                        r = strv_consume(&l, dup);
                        if (r < 0)
                                return r;
                }

        strv_free(c->listen);
        c->listen = TAKE_PTR(l);
        return 0;
}

static int config_set_listen_unix(Config *c, const char *value) {
        return set_path(&c->listen_unix, value, sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
}

static int config_set_max_body_size(Config *c, const char *value) {
        size_t v;
        int r;

        if (isempty(value)) {
                c->max_body_size = DEFAULT_MAX_BODY_SIZE;
                return 0;
        }
        r = parse_size(value, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        c->max_body_size = v;
        return 0;
}

static int config_set_static_directory(Config *c, const char *value) {
        return set_path(&c->static_directory, value, 0);
}

static int config_set_idle_timeout(Config *c, const char *value) {
        if (isempty(value)) {
                c->idle_timeout_usec = 0;
                return 0;
        }
        return parse_seconds(value, &c->idle_timeout_usec);
}

static int config_set_websocket_ping(Config *c, const char *value) {
        if (isempty(value)) {
                c->websocket_ping_usec = DEFAULT_WEBSOCKET_PING_USEC;
                return 0;
        }
        return parse_seconds(value, &c->websocket_ping_usec);
}

static int config_set_websocket_pong_timeout(Config *c, const char *value) {
        uint64_t v;
        int r;

        if (isempty(value)) {
                c->websocket_pong_timeout_usec = DEFAULT_WEBSOCKET_PONG_TIMEOUT_USEC;
                return 0;
        }
        r = parse_seconds(value, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        c->websocket_pong_timeout_usec = v;
        return 0;
}

static bool database_url_is_supported(const char *url) {
        return startswith(url, "sqlite:") ||
                startswith(url, "postgresql://") ||
                startswith(url, "postgres://");
}

static int config_set_database(Config *c, const char *value) {
        if (!isempty(value) && !database_url_is_supported(value))
                return -EINVAL;
        return free_and_strdup(&c->database, isempty(value) ? NULL : value);
}

static int config_set_state_directory(Config *c, const char *value) {
        return set_path(&c->state_directory, value, 0);
}

static int config_set_max_nodes(Config *c, const char *value) {
        long long v;

        if (isempty(value)) {
                c->max_nodes_per_workflow = DEFAULT_MAX_NODES_PER_WORKFLOW;
                return 0;
        }
        /* Six digits at most: the range check below cannot be fooled by overflow. */
        if (!all_digits(value) || strlen(value) > 6)
                return -EINVAL;
        v = strtoll(value, NULL, 10);
        if (v < 1 || v > MAX_NODES_PER_WORKFLOW_LIMIT)
                return -EINVAL;
        c->max_nodes_per_workflow = v;
        return 0;
}

static int config_set_max_node_output_size(Config *c, const char *value) {
        size_t v;
        int r;

        if (isempty(value)) {
                c->max_node_output_size = DEFAULT_MAX_NODE_OUTPUT_SIZE;
                return 0;
        }
        r = parse_size(value, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        c->max_node_output_size = v;
        return 0;
}

static int config_set_workers(Config *c, const char *value) {
        if (isempty(value)) {
                c->workers = DEFAULT_WORKERS;
                return 0;
        }
        /* Four digits at most: the range check below cannot be fooled by overflow. */
        if (!all_digits(value) || strlen(value) > 4)
                return -EINVAL;
        c->workers = (unsigned) strtoul(value, NULL, 10);
        if (c->workers > WORKERS_LIMIT)
                return -EINVAL;
        return 0;
}

static int config_set_worker_launcher(Config *c, const char *value) {
        if (isempty(value) || streq(value, "systemd"))
                c->worker_launcher = WORKER_LAUNCHER_SYSTEMD;
        else if (streq(value, "exec"))
                c->worker_launcher = WORKER_LAUNCHER_EXEC;
        else
                return -EINVAL;
        return 0;
}

static int config_set_worker_socket(Config *c, const char *value) {
        return set_path(&c->worker_socket, value, sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
}

static int config_set_price_table(Config *c, const char *value) {
        return set_path(&c->price_table, value, 0);
}

static int config_set_max_subworkflow_depth(Config *c, const char *value) {
        if (isempty(value)) {
                c->max_subworkflow_depth = DEFAULT_MAX_SUBWORKFLOW_DEPTH;
                return 0;
        }
        if (!all_digits(value) || strlen(value) > 4)
                return -EINVAL;
        c->max_subworkflow_depth = (unsigned) strtoul(value, NULL, 10);
        if (c->max_subworkflow_depth > MAX_SUBWORKFLOW_DEPTH_LIMIT)
                return -EINVAL;
        return 0;
}

static int config_set_retention_keep_successful(Config *c, const char *value) {
        if (isempty(value) || streq(value, "all"))
                c->retention_keep_successful = true;
        else if (streq(value, "none"))
                c->retention_keep_successful = false;
        else
                return -EINVAL;
        return 0;
}

static int config_set_bus_enabled(Config *c, const char *value) {
        if (isempty(value)) {
                c->bus_enabled = true;
                return 0;
        }
        return parse_bool(value, &c->bus_enabled);
}

/* An empty value (the default) sets no limit; otherwise a whole number from 1 to max. */
static int parse_retention_limit(const char *value, int64_t max, int64_t *ret) {
        long long v;

        if (isempty(value)) {
                *ret = 0;
                return 0;
        }
        if (!all_digits(value) || strlen(value) > 10)
                return -EINVAL;
        v = strtoll(value, NULL, 10);
        if (v < 1 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int config_set_retention_max_age_days(Config *c, const char *value) {
        return parse_retention_limit(value, RETENTION_DAYS_LIMIT, &c->retention_max_age_days);
}

static int config_set_retention_max_count(Config *c, const char *value) {
        return parse_retention_limit(value, RETENTION_COUNT_LIMIT, &c->retention_max_count);
}

static int config_set_log_level(Config *c, const char *value) {
        int level;

        if (isempty(value)) {
                c->log_level = LOG_INFO;
                return 0;
        }
        level = log_level_from_string(value);
        if (level < 0)
                return -EINVAL;
        c->log_level = level;
        return 0;
}

typedef int (*ConfigSetter)(Config *c, const char *value);

typedef struct ConfigKey {
        const char *section;
        const char *key;
        const char *env;
        ConfigSetter set;
        ConfigSetter set_from_env; /* NULL when the variable means the same as the key */
} ConfigKey;

static const ConfigKey config_keys[] = {
        { "Server",  "Listen",              "PIPELIT_LISTEN",                 config_listen_append, config_listen_replace },
        { "Server",  "ListenUnix",          "PIPELIT_LISTEN_UNIX",            config_set_listen_unix },
        { "Server",  "MaxBodySize",         "PIPELIT_MAX_BODY_SIZE",          config_set_max_body_size },
        { "Server",  "StaticDirectory",     "PIPELIT_STATIC_DIRECTORY",       config_set_static_directory },
        { "Server",  "IdleTimeoutSec",      "PIPELIT_IDLE_TIMEOUT_SEC",       config_set_idle_timeout },
        { "Server",  "WebSocketPingSec",    "PIPELIT_WEBSOCKET_PING_SEC",     config_set_websocket_ping },
        { "Server",  "WebSocketPongTimeoutSec", "PIPELIT_WEBSOCKET_PONG_TIMEOUT_SEC", config_set_websocket_pong_timeout },
        { "Storage", "Database",            "PIPELIT_DATABASE",               config_set_database },
        { "Storage", "StateDirectory",      "PIPELIT_STATE_DIRECTORY",        config_set_state_directory },
        { "Limits",  "MaxNodesPerWorkflow", "PIPELIT_MAX_NODES_PER_WORKFLOW", config_set_max_nodes },
        { "Limits",  "MaxNodeOutputSize",   "PIPELIT_MAX_NODE_OUTPUT_SIZE",   config_set_max_node_output_size },
        { "Limits",  "MaxSubworkflowDepth", "PIPELIT_MAX_SUBWORKFLOW_DEPTH",  config_set_max_subworkflow_depth },
        { "Engine",  "Workers",             "PIPELIT_WORKERS",                config_set_workers },
        { "Engine",  "PriceTable",          "PIPELIT_PRICE_TABLE",            config_set_price_table },
        { "Engine",  "WorkerLauncher",      "PIPELIT_WORKER_LAUNCHER",        config_set_worker_launcher },
        { "Engine",  "WorkerSocket",        "PIPELIT_WORKER_SOCKET",          config_set_worker_socket },
        { "Retention", "KeepSuccessful",    "PIPELIT_RETENTION_KEEP_SUCCESSFUL", config_set_retention_keep_successful },
        { "Retention", "MaxAgeDays",        "PIPELIT_RETENTION_MAX_AGE_DAYS", config_set_retention_max_age_days },
        { "Retention", "MaxCount",          "PIPELIT_RETENTION_MAX_COUNT",    config_set_retention_max_count },
        { "Bus",     "Enabled",             "PIPELIT_BUS",                    config_set_bus_enabled },
        { "Log",     "Level",               "PIPELIT_LOG_LEVEL",              config_set_log_level },
};

static bool section_is_known(const char *section) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, section))
                        return true;
        return false;
}

static const ConfigKey *config_key_find(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, section) && streq(config_keys[i].key, key))
                        return config_keys + i;
        return NULL;
}

static const ConfigKey *config_key_find_env(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].env, name))
                        return config_keys + i;
        return NULL;
}

/* --- lifecycle --------------------------------------------------------------------------- */

void config_init(Config *c) {
        *c = (Config) {
                .max_body_size = DEFAULT_MAX_BODY_SIZE,
                .websocket_ping_usec = DEFAULT_WEBSOCKET_PING_USEC,
                .websocket_pong_timeout_usec = DEFAULT_WEBSOCKET_PONG_TIMEOUT_USEC,
                .max_nodes_per_workflow = DEFAULT_MAX_NODES_PER_WORKFLOW,
                .max_node_output_size = DEFAULT_MAX_NODE_OUTPUT_SIZE,
                .workers = DEFAULT_WORKERS,
                .max_subworkflow_depth = DEFAULT_MAX_SUBWORKFLOW_DEPTH,
                .retention_keep_successful = true,
                .bus_enabled = true,
                .log_level = LOG_INFO,
        };
}

void config_done(Config *c) {
        if (!c)
                return;
        c->listen = strv_free(c->listen);
        c->listen_unix = mfree(c->listen_unix);
        c->static_directory = mfree(c->static_directory);
        c->database = mfree(c->database);
        c->state_directory = mfree(c->state_directory);
        c->price_table = mfree(c->price_table);
        c->worker_socket = mfree(c->worker_socket);
}

/* --- files ------------------------------------------------------------------------------- */

static int config_parse_line(Config *c, const char *name, unsigned line, char *l,
                             char **section, char **ret_error) {
        const ConfigKey *k;
        char *eq, *key, *value;
        int r;

        if (l[0] == '[') {
                size_t n = strlen(l);
                char *s;

                if (l[n - 1] != ']')
                        return set_error(ret_error, -EINVAL, "%s:%u: invalid section header '%s'",
                                         name, line, l);
                s = strndup(l + 1, n - 2);
                if (!s)
                        return -ENOMEM;
                if (!section_is_known(s)) {
                        r = set_error(ret_error, -EINVAL, "%s:%u: unknown section [%s]", name, line, s);
                        free(s);
                        return r;
                }
                free(*section);
                *section = s;
                return 0;
        }

        eq = strchr(l, '=');
        if (!eq)
                return set_error(ret_error, -EINVAL, "%s:%u: expected Key=Value", name, line);
        *eq = '\0';
        key = strstrip(l);
        value = strstrip(eq + 1);
        if (isempty(key))
                return set_error(ret_error, -EINVAL, "%s:%u: expected Key=Value", name, line);
        if (!*section)
                return set_error(ret_error, -EINVAL, "%s:%u: key outside of any section", name, line);

        k = config_key_find(*section, key);
        if (!k)
                return set_error(ret_error, -EINVAL, "%s:%u: unknown key '%s' in section [%s]",
                                 name, line, key, *section);

        r = k->set(c, value);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *shown = redact_url(value);

                if (!shown)
                        return -ENOMEM;
                return set_error(ret_error, -EINVAL, "%s:%u: invalid value '%s' for %s=",
                                 name, line, shown, k->key);
        }
        return 0;
}

int config_parse_string(Config *c, const char *name, const char *text, char **ret_error) {
        _cleanup_free_ char *section = NULL;
        unsigned line = 0;
        const char *p = text;

        if (!c || !name || !text)
                return -EINVAL;

        while (*p) {
                const char *nl = strchrnul(p, '\n');
                _cleanup_free_ char *copy = NULL;
                char *l;
                int r;

                line++;
                copy = strndup(p, nl - p);
                if (!copy)
                        return -ENOMEM;
                p = *nl ? nl + 1 : nl;

                l = strstrip(copy);
                if (l[0] == '\0' || l[0] == '#' || l[0] == ';')
                        continue;

                r = config_parse_line(c, name, line, l, &section, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_config_file(const char *path, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;

        buf = malloc(CONFIG_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > CONFIG_FILE_MAX)
                        return -EFBIG;
        }
        /* A NUL would silently cut the text short. */
        if (memchr(buf, '\0', n))
                return -EBADMSG;
        buf[n] = '\0';

        *ret = TAKE_PTR(buf);
        return 0;
}

static int config_load_one(Config *c, const char *path, bool must_exist, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_config_file(path, &text);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r == -EBADMSG)
                return set_error(ret_error, r, "cannot read %s: file contains a NUL byte", path);
        if (r < 0) {
                errno = -r;
                return set_error(ret_error, r, "cannot read %s: %m", path);
        }
        return config_parse_string(c, path, text, ret_error);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The "*.conf" regular files of dir, sorted. A missing dir gives an empty list. */
static int list_drop_ins(const char *dir, char ***ret) {
        _cleanup_(strv_freep) char **names = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        return 0;
                }
                return -errno;
        }

        errno = 0;
        while ((de = readdir(d))) {
                struct stat st;
                char *copy;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf"))
                        continue;
                /* Follows symlinks; anything but a regular file (a FIFO, a link to /dev/null
                 * that masks a drop-in) is skipped rather than read. */
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue;
                copy = strdup(de->d_name);
                if (!copy) {
                        r = -ENOMEM;
                        break;
                }
                r = strv_consume(&names, copy);
                if (r < 0)
                        break;
                errno = 0;
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;

        /* Not with NULL (an empty folder): qsort()'s nonnull attribute would let the compiler
         * drop the caller's NULL check. */
        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_strings);
        *ret = TAKE_PTR(names);
        return 0;
}

int config_load_file(Config *c, const char *path, bool must_exist, char **ret_error) {
        _cleanup_(strv_freep) char **drop_ins = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!c || !path)
                return -EINVAL;

        r = config_load_one(c, path, must_exist, ret_error);
        if (r < 0)
                return r;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = list_drop_ins(dir, &drop_ins);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                errno = -r;
                return set_error(ret_error, r, "cannot read %s: %m", dir);
        }

        for (size_t i = 0; drop_ins && drop_ins[i]; i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s", dir, drop_ins[i]) < 0)
                        return -ENOMEM;
                r = config_load_one(c, p, true, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- environment and derived settings ---------------------------------------------------- */

int config_apply_env(Config *c, char *const *envp, char **ret_error) {
        if (!c)
                return -EINVAL;

        for (size_t i = 0; envp && envp[i]; i++) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                const ConfigKey *k;
                const char *eq;
                int r;

                if (!startswith(envp[i], "PIPELIT_"))
                        continue;
                eq = strchr(envp[i], '=');
                if (!eq)
                        continue;
                name = strndup(envp[i], eq - envp[i]);
                if (!name)
                        return -ENOMEM;
                /* Other PIPELIT_* variables belong to tests and tools, not to us. */
                k = config_key_find_env(name);
                if (!k)
                        continue;

                value = strdup(eq + 1);
                if (!value)
                        return -ENOMEM;
                r = (k->set_from_env ?: k->set)(c, strstrip(value));
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        _cleanup_free_ char *shown = redact_url(eq + 1);

                        if (!shown)
                                return -ENOMEM;
                        return set_error(ret_error, -EINVAL, "environment variable %s: invalid value '%s'",
                                         name, shown);
                }
        }
        return 0;
}

/* $STATE_DIRECTORY as systemd sets it: one or more absolute paths separated by ':'. */
static int state_directory_from_environment(char **ret) {
        const char *e = getenv("STATE_DIRECTORY");
        size_t n;

        if (isempty(e) || e[0] != '/') {
                *ret = NULL;
                return 0;
        }
        n = strcspn(e, ":");
        while (n > 1 && e[n - 1] == '/')
                n--;
        *ret = strndup(e, n);
        return *ret ? 0 : -ENOMEM;
}

int config_finish(Config *c, char **ret_error) {
        int r;

        if (!c)
                return -EINVAL;

        if (!c->state_directory) {
                r = state_directory_from_environment(&c->state_directory);
                if (r < 0)
                        return r;
        }
        if (!c->state_directory) {
                c->state_directory = strdup(DEFAULT_STATE_DIRECTORY);
                if (!c->state_directory)
                        return -ENOMEM;
        }

        if (!c->database) {
                /* "/" stays "/", so the root never gives "//pipelit.db". */
                bool root = streq(c->state_directory, "/");

                if (asprintf(&c->database, "sqlite://%s%spipelit.db",
                             c->state_directory, root ? "" : "/") < 0) {
                        c->database = NULL;
                        return -ENOMEM;
                }
        }

        /* Dedicated workers reach the daemon here (the state directory is theirs too); a path
         * too long for a socket is said when the daemon listens. */
        if (!c->worker_socket) {
                bool root = streq(c->state_directory, "/");

                if (asprintf(&c->worker_socket, "%s%sworker.sock", c->state_directory, root ? "" : "/") < 0) {
                        c->worker_socket = NULL;
                        return -ENOMEM;
                }
        }

        if (!database_url_is_supported(c->database)) {
                _cleanup_free_ char *shown = redact_url(c->database);

                if (!shown)
                        return -ENOMEM;
                return set_error(ret_error, -EINVAL,
                                 "Database=%s: unsupported URL (use sqlite:///path or postgresql://…)",
                                 shown);
        }
        return 0;
}
