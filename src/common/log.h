/* Logging: to the journal with structured fields when stderr is connected to it, else to
 * stderr. The choice is made once by log_open(). */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "common/macro.h"

void log_open(void);
/* The program's name (SYSLOG_IDENTIFIER=, the stderr prefix): "pipelitd" unless set at start. */
void log_set_identifier(const char *name);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Parses "debug", "info", "notice", "warning", "err"/"error", "crit", "alert", "emerg";
 * returns the syslog level or -EINVAL. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/* Logs one message. extra_fields is NULL or a NULL-terminated list of "FIELD=value" strings
 * added to the journal entry (ignored on stderr except PIPELIT_* ones, which are appended).
 * Returns -abs(error) when error != 0 so callers can 'return log_error_errno(r, ...)'. */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *const *extra_fields, const char *format, ...) _printf_(7, 8);

/* log_internal() with the journal fields of a line about an execution or one of its nodes:
 * PIPELIT_WORKFLOW= (slug), PIPELIT_EXECUTION= (id), PIPELIT_NODE= (node id) and MESSAGE_ID=
 * (common/message-ids.h), each left out when NULL or empty. */
int log_execution_internal(int level, int error, const char *file, int line, const char *func,
                           const char *workflow, const char *execution, const char *node,
                           const char *message_id, const char *format, ...) _printf_(10, 11);

#define log_execution_errno(level, error, workflow, execution, node, message_id, ...)              \
        log_execution_internal((level), (error), __FILE__, __LINE__, __func__, (workflow), (execution), \
                               (node), (message_id), __VA_ARGS__)
#define log_execution(level, workflow, execution, node, message_id, ...) \
        log_execution_errno((level), 0, (workflow), (execution), (node), (message_id), __VA_ARGS__)
/* A line with a MESSAGE_ID= only (the daemon's start and stop). */
#define log_message_id(level, message_id, ...) \
        log_execution_errno((level), 0, NULL, NULL, NULL, (message_id), __VA_ARGS__)

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, NULL, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

/* Skips formatting when the level is filtered out. */
#define log_enabled(level) ((level) <= log_get_max_level())
