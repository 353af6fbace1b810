/* What the D-Bus service's files share: its names, and how the API's answers become D-Bus
 * replies and errors (docs/dbus.md). Who may change things: bus-polkit.h. */
#pragma once

#include <jansson.h>
#include <systemd/sd-bus.h>

#include "api/http.h"

#define BUS_NAME "org.pipelit.Pipelit1"
#define BUS_MANAGER_PATH "/org/pipelit/Pipelit1"
#define BUS_MANAGER_INTERFACE "org.pipelit.Pipelit1.Manager"

#define BUS_ERROR_NO_SUCH_WORKFLOW "org.pipelit.Pipelit1.Error.NoSuchWorkflow"
#define BUS_ERROR_NO_SUCH_EXECUTION "org.pipelit.Pipelit1.Error.NoSuchExecution"
#define BUS_ERROR_INVALID_ARGUMENT "org.pipelit.Pipelit1.Error.InvalidArgument"
#define BUS_ERROR_NOT_RUNNING "org.pipelit.Pipelit1.Error.NotRunning"
#define BUS_ERROR_NO_ADMIN "org.pipelit.Pipelit1.Error.NoAdmin"
#define BUS_ERROR_NO_SUCH_USER "org.pipelit.Pipelit1.Error.NoSuchUser"
#define BUS_ERROR_NO_SUCH_API_KEY "org.pipelit.Pipelit1.Error.NoSuchApiKey"
#define BUS_ERROR_USER_EXISTS "org.pipelit.Pipelit1.Error.UserExists"
#define BUS_ERROR_BAD_CONFIGURATION "org.pipelit.Pipelit1.Error.BadConfiguration"
#define BUS_ERROR_NO_SUCH_SCHEDULE "org.pipelit.Pipelit1.Error.NoSuchSchedule"
#define BUS_ERROR_NO_SUCH_WORKER "org.pipelit.Pipelit1.Error.NoSuchWorker"

/* Replies with the compact JSON text of v; takes ownership of v (NULL: -ENOMEM). */
int bus_reply_json(sd_bus_message *message, json_t *v);

/* Parses text handed in by a caller: "" is def (a new reference is taken), anything else must
 * be JSON, an object when want_object. NULL with InvalidArgument set in error. */
json_t *bus_parse_json(const char *text, const char *what, json_t *def, bool want_object,
                       sd_bus_error *error);

/* An answer the API code filled (4xx, 503) as a D-Bus error: 404 becomes not_found, 409
 * NotRunning, 503 NotRunning, everything else InvalidArgument, with the answer's detail as
 * the message. Returns the negative errno that sd-bus expects. */
int bus_error_from_response(const HttpResponse *resp, const char *not_found, sd_bus_error *error);
