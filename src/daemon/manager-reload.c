/* Reading the configuration again while the daemon runs (Reload() on the bus, SIGHUP).
 *
 * Only settings that are read afresh on the I/O thread each time they are needed can
 * change: the log level, request and WebSocket limits. Everything else was handed out at
 * start (listeners, the database, the engine's threads, limits and retention, the price
 * table, the bus) and keeps its value until a restart; the report names it, and m->config
 * keeps describing what runs. */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "engine/platform-link.h"

typedef enum SettingKind {
        SETTING_SCALAR,         /* compared and copied bytewise */
        SETTING_STRING,
        SETTING_STRV,
} SettingKind;

typedef struct Setting {
        const char *name;       /* Section.Key, as in pipelitd.conf(5) */
        size_t offset;
        size_t size;
        SettingKind kind;
        bool live;              /* applied by a reload; else only after a restart */
} Setting;

#define FIELD(name, field, kind, live) \
        { name, offsetof(Config, field), sizeof(((Config *) NULL)->field), kind, live }

static const Setting settings[] = {
        FIELD("Server.Listen", listen, SETTING_STRV, false),
        FIELD("Server.ListenUnix", listen_unix, SETTING_STRING, false),
        FIELD("Server.MaxBodySize", max_body_size, SETTING_SCALAR, true),
        FIELD("Server.StaticDirectory", static_directory, SETTING_STRING, false),
        /* The idle timer is armed at start from this value: 0 then is no timer at all. */
        FIELD("Server.IdleTimeoutSec", idle_timeout_usec, SETTING_SCALAR, false),
        FIELD("Server.WebSocketPingSec", websocket_ping_usec, SETTING_SCALAR, true),
        FIELD("Server.WebSocketPongTimeoutSec", websocket_pong_timeout_usec, SETTING_SCALAR, true),
        FIELD("Storage.Database", database, SETTING_STRING, false),
        FIELD("Storage.StateDirectory", state_directory, SETTING_STRING, false),
        FIELD("Limits.MaxNodesPerWorkflow", max_nodes_per_workflow, SETTING_SCALAR, true),
        /* The engine copies these when it starts; its threads read them without a lock. */
        FIELD("Limits.MaxNodeOutputSize", max_node_output_size, SETTING_SCALAR, false),
        FIELD("Limits.MaxSubworkflowDepth", max_subworkflow_depth, SETTING_SCALAR, false),
        FIELD("Engine.Workers", workers, SETTING_SCALAR, false),
        FIELD("Engine.PriceTable", price_table, SETTING_STRING, false),
        /* Read at each start of a dedicated worker. */
        FIELD("Engine.WorkerLauncher", worker_launcher, SETTING_SCALAR, true),
        FIELD("Engine.WorkerSocket", worker_socket, SETTING_STRING, false),
        FIELD("Retention.KeepSuccessful", retention_keep_successful, SETTING_SCALAR, false),
        FIELD("Retention.MaxAgeDays", retention_max_age_days, SETTING_SCALAR, false),
        FIELD("Retention.MaxCount", retention_max_count, SETTING_SCALAR, false),
        FIELD("Bus.Enabled", bus_enabled, SETTING_SCALAR, false),
        FIELD("Log.Level", log_level, SETTING_SCALAR, true),
};

static bool strv_equal(char **a, char **b) {
        for (; a && *a && b && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !(a && *a) && !(b && *b);
}

static bool setting_differs(const Setting *s, const Config *a, const Config *b) {
        const void *x = (const char *) a + s->offset, *y = (const char *) b + s->offset;

        switch (s->kind) {
        case SETTING_SCALAR:
                return memcmp(x, y, s->size) != 0;
        case SETTING_STRING:
                return !streq_ptr(*(char *const *) x, *(char *const *) y);
        case SETTING_STRV:
                return !strv_equal(*(char **const *) x, *(char **const *) y);
        }
        return false;
}

/* The names joined with ", " for the log, or "nothing". */
static char *names_joined(json_t *names) {
        _cleanup_free_ char *text = NULL;
        json_t *name;
        size_t i;

        json_array_foreach(names, i, name) {
                char *next;

                if (asprintf(&next, "%s%s%s", text ?: "", text ? ", " : "", json_string_value(name)) < 0)
                        return NULL;
                free(text);
                text = next;
        }
        return text ? TAKE_PTR(text) : strdup("nothing");
}

int manager_reload(Manager *m, json_t **ret_report, char **ret_error) {
        _cleanup_json_ json_t *changed = json_array(), *restart_needed = json_array(), *report = NULL;
        _cleanup_free_ char *error = NULL, *changed_text = NULL, *restart_text = NULL;
        _cleanup_(config_done) Config fresh;
        int r;

        config_init(&fresh);
        if (!changed || !restart_needed)
                return -ENOMEM;
        if (!m->config_loader) {
                *ret_error = strdup("This daemon has no configuration to reload.");
                return -EOPNOTSUPP;
        }

        r = m->config_loader(&fresh, m->config_loader_userdata, &error);
        if (r < 0) {
                log_error("Cannot reload the configuration, keeping the one in effect: %s",
                          error ?: "unknown error");
                *ret_error = error ? TAKE_PTR(error) : strdup("The configuration cannot be read.");
                return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                const Setting *s = &settings[i];

                if (!setting_differs(s, &m->config, &fresh))
                        continue;
                if (json_array_append_new(s->live ? changed : restart_needed, json_string(s->name)) < 0)
                        return -ENOMEM;
                /* Only scalars are live: nothing to free or take over. */
                if (s->live)
                        memcpy((char *) &m->config + s->offset, (const char *) &fresh + s->offset, s->size);
        }
        log_set_max_level(m->config.log_level);
        /* The agents' workflow_create tool checks imports against the limit too. */
        if (m->engine)
                platform_link_set_max_nodes(engine_platform_link(m->engine), m->config.max_nodes_per_workflow);

        changed_text = names_joined(changed);
        restart_text = names_joined(restart_needed);
        if (!changed_text || !restart_text)
                return -ENOMEM;
        if (json_array_size(restart_needed) > 0)
                log_notice("Reloaded the configuration: changed %s; %s keep their values until a restart.",
                           changed_text, restart_text);
        else
                log_info("Reloaded the configuration: changed %s.", changed_text);

        if (ret_report) {
                report = json_pack("{s:O, s:O}", "changed", changed, "restart_needed", restart_needed);
                if (!report)
                        return -ENOMEM;
                *ret_report = TAKE_PTR(report);
        }
        return 0;
}
