/* Calls to the daemon's Manager, with its errors printed once for the user. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "ctl/ctl.h"

int ctl_fail(int r, const sd_bus_error *error, const char *what) {
        if (sd_bus_error_is_set(error) &&
            (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
             sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))) {
                fprintf(stderr, "pipelitctl: pipelitd is not running on this bus (%s).\n", error->message);
                return CTL_EXIT_NO_DAEMON;
        }
        if (sd_bus_error_is_set(error))
                fprintf(stderr, "pipelitctl: %s: %s\n", what, error->message ?: error->name);
        else
                fprintf(stderr, "pipelitctl: %s: %s\n", what, strerror(-r));
        return CTL_EXIT_FAILURE;
}

static int ctl_callv(sd_bus *bus, const char *member, char **ret_text, size_t n, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *text;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, member);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(call, "s", va_arg(ap, const char *));
        if (r < 0)
                return ctl_fail(r, NULL, member);

        r = sd_bus_call(bus, call, 0, &error, &reply);
        if (r < 0)
                return ctl_fail(r, &error, member);
        if (!ret_text)
                return CTL_EXIT_SUCCESS;
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return ctl_fail(r, NULL, member);
        *ret_text = strdup(text);
        if (!*ret_text)
                return ctl_fail(-ENOMEM, NULL, member);
        return CTL_EXIT_SUCCESS;
}

int ctl_call(sd_bus *bus, const char *member, char **ret_text, size_t n, ...) {
        va_list ap;
        int r;

        va_start(ap, n);
        r = ctl_callv(bus, member, ret_text, n, ap);
        va_end(ap);
        return r;
}

int ctl_call_json(sd_bus *bus, const char *member, json_t **ret, size_t n, ...) {
        _cleanup_free_ char *text = NULL;
        json_error_t e;
        va_list ap;
        int r;

        va_start(ap, n);
        r = ctl_callv(bus, member, &text, n, ap);
        va_end(ap);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        *ret = json_loads(text, JSON_DECODE_ANY, &e);
        if (!*ret) {
                fprintf(stderr, "pipelitctl: %s: the daemon's answer is not JSON: %s\n", member, e.text);
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_SUCCESS;
}

int ctl_call_typed(sd_bus *bus, const char *member, sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, member);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(call, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return ctl_fail(r, NULL, member);
        r = sd_bus_call(bus, call, 0, &error, &reply);
        if (r < 0)
                return ctl_fail(r, &error, member);
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return CTL_EXIT_SUCCESS;
}
