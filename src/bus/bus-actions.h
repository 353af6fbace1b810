/* Starting, cancelling and resuming runs over D-Bus: what the Manager's Run(),
 * CancelExecution() and ResumeExecution() do, and the workflow and execution objects'
 * Run(), Cancel() and Resume(). Each asks bus_authorize() (org.pipelit.Pipelit1.run) first
 * and answers message; they return as a method handler does. */
#pragma once

#include <systemd/sd-bus.h>

typedef struct Manager Manager;

/* request_text: the REST execute body {"text"?, "trigger_node_id"?, "payload"?}; "" is {}.
 * The run is the workflow owner's. Replies with the new execution's id. */
int bus_run_workflow(Manager *m, sd_bus_message *message, const char *slug, const char *request_text,
                     sd_bus_error *error);
int bus_cancel_execution(Manager *m, sd_bus_message *message, const char *id, sd_bus_error *error);
/* input_text: any JSON value, the answer to the oldest pending confirmation. Replies with
 * {"execution_id", "status", "node_id", "task_id"}. */
int bus_resume_execution(Manager *m, sd_bus_message *message, const char *id, const char *input_text,
                         sd_bus_error *error);
