/* A stand-in for polkit on a test bus: owns org.freedesktop.PolicyKit1 and answers
 * CheckAuthorization as polkitd does, from the command line instead of policy files.
 *
 *   fake-polkit [--grant=ACTION]... [--challenge=ACTION]... LOG
 *
 * Granted actions are authorized, "challenge" ones need authentication (is_challenge), all
 * others are refused. Each question becomes a line of LOG: "ACTION SUBJECT-KIND
 * SUBJECT-NAME FLAGS". Prints "ready" on standard output once it owns the name; SIGTERM
 * ends it. Connects to $DBUS_SYSTEM_BUS_ADDRESS. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "common/macro.h"

#define MAX_ACTIONS 16

static const char *granted[MAX_ACTIONS], *challenged[MAX_ACTIONS];
static size_t n_granted, n_challenged;
static FILE *log_file;

static int listed(const char *const *list, size_t n, const char *action) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], action) == 0)
                        return 1;
        return 0;
}

/* subject (sa{sv}): its kind and, for a system-bus-name, the name. */
static int read_subject(sd_bus_message *m, const char **ret_kind, const char **ret_name) {
        int r;

        *ret_name = "-";
        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", ret_kind);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", ret_name);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *kind, *name, *action, *cancellation;
        int authorized, challenge, r;
        uint32_t flags;

        r = read_subject(m, &kind, &name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &action);
        if (r < 0)
                return r;
        r = sd_bus_message_skip(m, "a{ss}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "us", &flags, &cancellation);
        if (r < 0)
                return r;

        fprintf(log_file, "%s %s %s %u\n", action, kind, name, flags);
        fflush(log_file);

        authorized = listed(granted, n_granted, action);
        challenge = !authorized && listed(challenged, n_challenged, action);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "(bba{ss})", authorized, challenge, 0);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "grant", required_argument, NULL, 'g' },
                { "challenge", required_argument, NULL, 'c' },
                {}
        };
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'g':
                        if (n_granted < MAX_ACTIONS)
                                granted[n_granted++] = optarg;
                        break;
                case 'c':
                        if (n_challenged < MAX_ACTIONS)
                                challenged[n_challenged++] = optarg;
                        break;
                default:
                        return 2;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "usage: fake-polkit [--grant=ACTION]... [--challenge=ACTION]... LOG\n");
                return 2;
        }
        log_file = fopen(argv[optind], "ae");
        if (!log_file) {
                fprintf(stderr, "fake-polkit: %s: %s\n", argv[optind], strerror(errno));
                return 1;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority",
                                             "org.freedesktop.PolicyKit1.Authority", authority_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "fake-polkit: %s\n", strerror(-r));
                return 1;
        }
        printf("ready\n");
        fflush(stdout);

        r = sd_event_loop(event);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        fclose(log_file);
        return r < 0 ? 1 : 0;
}
