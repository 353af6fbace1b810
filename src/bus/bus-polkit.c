/* Privileged methods asked of polkit without blocking the I/O thread (bus-polkit.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus-polkit.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_AUTHORITY_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_AUTHORITY_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorization's flags: polkit may ask the user (through an agent) for a password. */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef enum PolkitAnswer {
        POLKIT_PENDING,
        POLKIT_YES,
        POLKIT_NO,
        POLKIT_CHALLENGE,       /* yes after authentication, which the caller did not allow */
        POLKIT_UNAVAILABLE,     /* no polkit on the bus, or it failed: the fallback rule */
} PolkitAnswer;

struct BusPolkitQuery {
        Manager *manager;
        sd_bus_message *call;   /* the method call, dispatched again once answered */
        sd_bus_slot *slot;      /* CheckAuthorization under way */
        char *action;
        PolkitAnswer answer;
        char *why;              /* POLKIT_UNAVAILABLE: polkit's error */
        BusPolkitQuery *next;
};

static BusPolkitQuery *query_free(BusPolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        free(q->action);
        free(q->why);
        free(q);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(BusPolkitQuery *, query_free);

static void query_unlink(Manager *m, BusPolkitQuery *q) {
        for (BusPolkitQuery **p = &m->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        q->next = NULL;
                        return;
                }
}

void bus_polkit_queries_free(Manager *m) {
        while (m->polkit_queries) {
                BusPolkitQuery *q = m->polkit_queries;

                m->polkit_queries = q->next;
                query_free(q);
        }
}

static PolkitAnswer read_answer(sd_bus_message *reply, char **ret_why) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized, challenge, r;

        if (e) {
                *ret_why = strdup(e->message ?: e->name);
                return POLKIT_UNAVAILABLE;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                *ret_why = strdup("its answer cannot be read");
                return POLKIT_UNAVAILABLE;
        }
        if (authorized)
                return POLKIT_YES;
        return challenge ? POLKIT_CHALLENGE : POLKIT_NO;
}

static int on_polkit_answer(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusPolkitQuery *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->call);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->answer = read_answer(reply, &q->why);
        if (q->answer == POLKIT_UNAVAILABLE)
                log_debug("polkit cannot decide %s for %s (%s): only root and the daemon's user may.",
                          q->action, sd_bus_message_get_sender(q->call) ?: "?", q->why ?: "?");

        /* The method's handler runs again and finds the answer (bus_authorize()). */
        r = sd_bus_message_rewind(q->call, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(bus, q->call);
        if (r < 0) {
                log_warning_errno(r, "Cannot dispatch %s again after polkit's answer: %m",
                                  sd_bus_message_get_member(q->call));
                (void) sd_bus_reply_method_errno(q->call, r, NULL);
                query_unlink(q->manager, q);
                query_free(q);
        }
        return 0;
}

static int ask_polkit(Manager *m, sd_bus_message *message, const char *action) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(query_freep) BusPolkitQuery *q = NULL;
        sd_bus *bus = sd_bus_message_get_bus(message);
        const char *sender = sd_bus_message_get_sender(message);
        uint32_t flags = 0;
        int r;

        if (!sender)
                return -EBADMSG;
        if (sd_bus_message_get_allow_interactive_authorization(message) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->call = sd_bus_message_ref(message);
        q->action = strdup(action);
        if (!q->action)
                return -ENOMEM;

        r = sd_bus_message_new_method_call(bus, &call, POLKIT_NAME, POLKIT_AUTHORITY_PATH,
                                           POLKIT_AUTHORITY_INTERFACE, "CheckAuthorization");
        if (r < 0)
                return r;
        /* subject (sa{sv}), action_id, details a{ss}, flags, cancellation_id */
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender, action, 0,
                                  flags, "");
        if (r < 0)
                return r;
        /* polkit may wait for a password: as long as the caller itself would. */
        r = sd_bus_call_async(bus, &q->slot, call, on_polkit_answer, q, 0);
        if (r < 0)
                return r;

        q->next = m->polkit_queries;
        m->polkit_queries = TAKE_PTR(q);
        return 0;
}

static BusPolkitQuery *query_find(Manager *m, sd_bus_message *message, const char *action) {
        for (BusPolkitQuery *q = m->polkit_queries; q; q = q->next)
                if (q->call == message && streq(q->action, action))
                        return q;
        return NULL;
}

static int sender_uid(sd_bus_message *message, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

int bus_authorize(Manager *m, sd_bus_message *message, const char *action, sd_bus_error *error) {
        _cleanup_(query_freep) BusPolkitQuery *q = NULL;
        const char *member = sd_bus_message_get_member(message);
        uid_t uid;
        int r;

        r = sender_uid(message, &uid);
        if (r < 0)
                return r;
        if (uid == 0 || uid == geteuid())
                return 1;

        q = query_find(m, message, action);
        if (!q) {
                r = ask_polkit(m, message, action);
                return r < 0 ? r : 0;
        }
        if (q->answer == POLKIT_PENDING) {
                q = NULL;       /* still its own: the answer dispatches the call again */
                return 0;
        }
        query_unlink(m, q);

        switch (q->answer) {
        case POLKIT_YES:
                return 1;
        case POLKIT_CHALLENGE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "%s needs authentication for %s: call it from a terminal with a polkit "
                                         "agent running.", member, action);
        case POLKIT_UNAVAILABLE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root and the daemon's own user may call %s: polkit cannot decide "
                                         "(%s).", member, q->why ?: "no answer");
        default:
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "polkit does not allow %s (%s) to this caller.", action, member);
        }
}
