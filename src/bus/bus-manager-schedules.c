/* The Manager's schedules: ListSchedules, PauseSchedule, ResumeSchedule. Records are the
 * REST API's ScheduleOut; reads see every schedule, as an admin does. Pausing and resuming
 * ask polkit for org.pipelit.Pipelit1.manage-schedules. */

#include <errno.h>

#include "bus/bus-manager-internal.h"
#include "bus/bus-polkit.h"
#include "bus/bus-util.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "store/store-schedules.h"

static const StoreCaller bus_admin = { .user_id = 0, .is_admin = true };

int bus_method_list_schedules(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ScheduleFilter f = { .limit = INT32_MAX };
        Manager *m = userdata;
        json_t *items = NULL;
        int64_t total;
        int r;

        r = store_schedule_list(m->db, &bus_admin, &f, &items, &total);
        if (r < 0)
                return r;
        return bus_reply_json(message, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t) total));
}

static int transition(sd_bus_message *message, Manager *m, bool pausing, sd_bus_error *error) {
        _cleanup_json_ json_t *schedule = NULL;
        ScheduleStatus status = _SCHEDULE_STATUS_INVALID;
        const char *id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_SCHEDULES, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        if (!execution_id_is_valid(id))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_SCHEDULE, "Schedule '%s' not found.", id);

        if (pausing)
                r = store_schedule_pause(m->db, &bus_admin, id, now_realtime_usec(), &schedule, &status);
        else
                r = store_schedule_resume(m->db, &bus_admin, id, now_realtime_usec(), &schedule, &status);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_SCHEDULE, "Schedule '%s' not found.", id);
        if (r == -ESTALE)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_RUNNING, "Schedule %s is %s, not %s.", id,
                                         schedule_status_to_string(status) ?: "?", pausing ? "active" : "paused");
        if (r < 0)
                return r;
        engine_schedules_changed(m->engine);
        log_info("Schedule '%s' (%s) %s over D-Bus by %s.", json_get_string(schedule, "name", ""), id,
                 pausing ? "paused" : "resumed", sd_bus_message_get_sender(message) ?: "a caller");
        return sd_bus_reply_method_return(message, NULL);
}

int bus_method_pause_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return transition(message, userdata, true, error);
}

int bus_method_resume_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return transition(message, userdata, false, error);
}
