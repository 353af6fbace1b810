/* The D-Bus service's shared helpers: JSON replies, errors from the API's answers. */

#include <errno.h>

#include "bus/bus-util.h"
#include "common/json-util.h"
#include "common/macro.h"

int bus_reply_json(sd_bus_message *message, json_t *v) {
        _cleanup_json_ json_t *owned = v;
        _cleanup_free_ char *text = NULL;

        if (!owned)
                return -ENOMEM;
        text = json_dumps_compact(owned);
        if (!text)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "s", text);
}

json_t *bus_parse_json(const char *text, const char *what, json_t *def, bool want_object,
                       sd_bus_error *error) {
        json_error_t e;
        json_t *v;

        if (isempty(text))
                return json_incref(def);
        v = json_loads(text, JSON_DECODE_ANY, &e);
        if (!v) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "The %s is not valid JSON: %s (line %i, column %i).",
                                  what, e.text, e.line, e.column);
                return NULL;
        }
        if (want_object && !json_is_object(v)) {
                json_decref(v);
                sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "The %s must be a JSON object.", what);
                return NULL;
        }
        return v;
}

/* The detail of an answer as one line: a string as it is, validation errors joined. */
static char *response_message(const HttpResponse *resp) {
        json_t *detail = json_object_get(resp->json, "detail"), *list, *item;
        _cleanup_free_ char *joined = NULL;
        size_t i;

        if (json_is_string(detail))
                return strdup(json_string_value(detail));
        list = json_is_object(detail) ? json_object_get(detail, "validation_errors") : detail;
        if (!json_is_array(list))
                return json_dumps_compact(detail);
        json_array_foreach(list, i, item) {
                _cleanup_free_ char *one = NULL;
                char *next;

                if (json_is_string(item))
                        one = strdup(json_string_value(item));
                else {
                        json_t *loc = json_object_get(item, "loc");
                        const char *field = json_string_value(json_array_get(loc, json_array_size(loc) - 1));

                        if (asprintf(&one, "%s%s%s", field ?: "", field ? ": " : "",
                                     json_get_string(item, "msg", "invalid")) < 0)
                                one = NULL;
                }
                if (!one)
                        return NULL;
                if (asprintf(&next, "%s%s%s", joined ?: "", joined ? "; " : "", one) < 0)
                        return NULL;
                free(joined);
                joined = next;
        }
        return TAKE_PTR(joined) ?: strdup("Invalid argument.");
}

int bus_error_from_response(const HttpResponse *resp, const char *not_found, sd_bus_error *error) {
        _cleanup_free_ char *message = response_message(resp);
        const char *name;

        switch (resp->status) {
        case 404:
                name = not_found;
                break;
        case 409:
        case 503:
                name = BUS_ERROR_NOT_RUNNING;
                break;
        default:
                name = BUS_ERROR_INVALID_ARGUMENT;
        }
        return sd_bus_error_set(error, name, message ?: "Invalid argument.");
}
