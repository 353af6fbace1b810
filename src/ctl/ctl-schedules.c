/* pipelitctl schedules, pause and resume-schedule: the daemon's schedules, and stopping and
 * restarting one. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "ctl/ctl-output.h"
#include "ctl/ctl.h"

/* "1d2h", "5m", "90s" → "1m30s": the interval as people read it. */
static json_t *interval_text(int64_t seconds) {
        static const struct {
                int64_t seconds;
                const char *unit;
        } units[] = { { 86400, "d" }, { 3600, "h" }, { 60, "m" }, { 1, "s" } };
        char text[64] = "";
        size_t len = 0;

        for (size_t i = 0; i < ELEMENTSOF(units) && seconds > 0; i++)
                if (seconds >= units[i].seconds) {
                        len += (size_t) snprintf(text + len, sizeof text - len, "%" PRIi64 "%s",
                                                 seconds / units[i].seconds, units[i].unit);
                        seconds %= units[i].seconds;
                }
        return json_string(len > 0 ? text : "-");
}

int ctl_schedules(sd_bus *bus, const CtlOptions *o) {
        static const char *const columns[] = { "id", "name", "workflow_slug", "status", "every", "run_count",
                                                "error_count", "next_run_at", NULL };
        static const char *const headers[] = { "ID", "NAME", "WORKFLOW", "STATUS", "EVERY", "RUNS", "ERRORS",
                                               "NEXT RUN" };
        _cleanup_json_ json_t *list = NULL;
        json_t *item;
        size_t i;
        int r;

        r = ctl_call_json(bus, "ListSchedules", &list, 0);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json) {
                ctl_print_json(list);
                return CTL_EXIT_SUCCESS;
        }
        json_array_foreach(json_object_get(list, "items"), i, item)
                if (json_object_set_new(item, "every", interval_text(json_get_integer(item, "interval_seconds", 0))) < 0)
                        return ctl_fail(-ENOMEM, NULL, "schedules");
        ctl_print_table(json_object_get(list, "items"), columns, headers, NULL);
        return CTL_EXIT_SUCCESS;
}

int ctl_schedule_pause(sd_bus *bus, const char *id, bool pausing) {
        return ctl_call(bus, pausing ? "PauseSchedule" : "ResumeSchedule", NULL, 1, id);
}
