/* Logging to the journal (with structured fields) or to stderr, chosen once at start:
 * stderr goes to the journal when $JOURNAL_STREAM names stderr's device and inode. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "common/log.h"

/* Set on the I/O thread (at start, on Reload), read by every thread: atomic. */
static int max_level = LOG_INFO;
static bool use_journal = false;
/* The program's name in the journal and on stderr: set once at start. */
static const char *identifier = "pipelitd";

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

void log_open(void) {
        use_journal = stderr_is_journal();
}

void log_set_identifier(const char *name) {
        identifier = name;
}

void log_set_max_level(int level) {
        __atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

int log_get_max_level(void) {
        return __atomic_load_n(&max_level, __ATOMIC_RELAXED);
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (streq(s, "error"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int) i;
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

static void log_to_journal(int level, int error, const char *file, int line, const char *func,
                           const char *const *extra, const char *message) {
        struct iovec iov[16];
        size_t n = 0;
        char prio[32], code_file[256], code_line[32], code_func[128], errno_field[32], ident[64];
        _cleanup_free_ char *msg = NULL;

        if (asprintf(&msg, "MESSAGE=%s", message) < 0)
                return;
        snprintf(prio, sizeof prio, "PRIORITY=%i", level);
        snprintf(code_file, sizeof code_file, "CODE_FILE=%s", file);
        snprintf(code_line, sizeof code_line, "CODE_LINE=%i", line);
        snprintf(code_func, sizeof code_func, "CODE_FUNC=%s", func);
        iov[n++] = (struct iovec) { msg, strlen(msg) };
        iov[n++] = (struct iovec) { prio, strlen(prio) };
        iov[n++] = (struct iovec) { code_file, strlen(code_file) };
        iov[n++] = (struct iovec) { code_line, strlen(code_line) };
        iov[n++] = (struct iovec) { code_func, strlen(code_func) };
        snprintf(ident, sizeof ident, "SYSLOG_IDENTIFIER=%s", identifier);
        iov[n++] = (struct iovec) { ident, strlen(ident) };
        if (error != 0) {
                snprintf(errno_field, sizeof errno_field, "ERRNO=%i", abs(error));
                iov[n++] = (struct iovec) { errno_field, strlen(errno_field) };
        }
        for (size_t i = 0; extra && extra[i] && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec) { (char *) extra[i], strlen(extra[i]) };

        /* Errors are ignored on purpose: there is nowhere better to report them. */
        (void) sd_journal_sendv(iov, (int) n);
}

static void log_to_stderr(int level, const char *const *extra, const char *message) {
        flockfile(stderr);
        fprintf(stderr, "%s[%s]: %s", identifier, level_names[level & 7], message);
        for (size_t i = 0; extra && extra[i]; i++)
                if (strncmp(extra[i], "PIPELIT_", 8) == 0)
                        fprintf(stderr, " %s", extra[i]);
        fputc('\n', stderr);
        funlockfile(stderr);
}

static int log_internalv(int level, int error, const char *file, int line, const char *func,
                         const char *const *extra_fields, const char *format, va_list ap) {
        int saved_errno = errno;
        char buf[2048];

        /* %m prints the error passed in, as systemd's log functions do. */
        errno = abs(error);
        vsnprintf(buf, sizeof buf, format, ap);

        if (use_journal)
                log_to_journal(level, error, file, line, func, extra_fields, buf);
        else
                log_to_stderr(level, extra_fields, buf);

        errno = saved_errno;
        return -abs(error);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *const *extra_fields, const char *format, ...) {
        va_list ap;
        int r;

        if (level > log_get_max_level())
                return -abs(error);

        va_start(ap, format);
        r = log_internalv(level, error, file, line, func, extra_fields, format, ap);
        va_end(ap);
        return r;
}

/* Room for the longest slug (255) and node id (64) with their field names. */
#define LOG_FIELD_MAX 320

static void add_field(char buf[static LOG_FIELD_MAX], const char *name, const char *value,
                      const char **fields, size_t *n) {
        if (isempty(value))
                return;
        snprintf(buf, LOG_FIELD_MAX, "%s=%s", name, value);
        fields[(*n)++] = buf;
}

int log_execution_internal(int level, int error, const char *file, int line, const char *func,
                           const char *workflow, const char *execution, const char *node,
                           const char *message_id, const char *format, ...) {
        char bufs[4][LOG_FIELD_MAX];
        const char *fields[5];
        size_t n = 0;
        va_list ap;
        int r;

        if (level > log_get_max_level())
                return -abs(error);

        add_field(bufs[0], "PIPELIT_WORKFLOW", workflow, fields, &n);
        add_field(bufs[1], "PIPELIT_EXECUTION", execution, fields, &n);
        add_field(bufs[2], "PIPELIT_NODE", node, fields, &n);
        add_field(bufs[3], "MESSAGE_ID", message_id, fields, &n);
        fields[n] = NULL;

        va_start(ap, format);
        r = log_internalv(level, error, file, line, func, fields, format, ap);
        va_end(ap);
        return r;
}
