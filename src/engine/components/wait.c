/* wait: delays the nodes after it without holding a worker.
 *
 * extra_config.duration (a number, also as text) in extra_config.unit (seconds, minutes or
 * hours; the singular is accepted too). The keys the reference's DSL writes, delay and
 * delay_unit, are read when duration is absent instead of silently waiting 0 s. At most
 * 30 days. The component only sets run->delay_usec: the orchestrator makes the successors
 * runnable that much later, durably. Output: {"output": "Waited 5 seconds"}. */

#include <math.h>
#include <stdio.h>
#include <strings.h>

#include "engine/components/components.h"

#define WAIT_MAX_SECONDS (30.0 * 24 * 3600)

static double wait_unit_seconds(const char *unit) {
        static const struct {
                const char *name;
                double seconds;
        } units[] = {
                { "seconds", 1 }, { "second", 1 }, { "sec", 1 }, { "s", 1 },
                { "minutes", 60 }, { "minute", 60 }, { "min", 60 }, { "m", 60 },
                { "hours", 3600 }, { "hour", 3600 }, { "h", 3600 },
        };

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcasecmp(unit, units[i].name) == 0)
                        return units[i].seconds;
        return 0;
}

int component_wait(NodeRun *run) {
        const char *duration_key = node_run_setting(run, "duration") ? "duration" : "delay";
        const char *unit_key = node_run_setting(run, "unit") ? "unit" : "delay_unit";
        const char *unit = node_run_setting_string(run, unit_key, "seconds");
        _cleanup_free_ char *message = NULL;
        json_t *output;
        double duration, unit_seconds, seconds;

        if (node_run_setting(run, unit_key) && !node_run_setting_string(run, unit_key, NULL))
                return node_run_fail_config(run, "unit must be seconds, minutes or hours");
        unit_seconds = wait_unit_seconds(unit);
        if (unit_seconds == 0)
                return node_run_fail_config(run, "Unknown unit '%s' (seconds, minutes or hours)", unit);

        if (node_run_setting_number(run, duration_key, 0, &duration) < 0)
                return node_run_fail_config(run, "duration must be a number");
        if (duration < 0)
                return node_run_fail_config(run, "duration must not be negative");

        seconds = duration * unit_seconds;
        if (seconds > WAIT_MAX_SECONDS)
                return node_run_fail_config(run, "A wait of %.15g %s is longer than the limit of 30 days",
                                            duration, unit);

        if (asprintf(&message, "Waited %.15g %s", duration, unit) < 0)
                return node_run_fail_oom(run);
        output = json_string(message);
        if (!output)
                return node_run_fail_oom(run);

        run->delay_usec = (usec_t) llround(seconds * 1e6);
        return node_run_output(run, "output", output);
}
