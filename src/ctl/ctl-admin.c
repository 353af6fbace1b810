/* pipelitctl user, key and reload: users (their passwords, and MFA turned off for one who
 * lost their authenticator) and their API keys, and the configuration read again.
 * Passwords never travel on the command line: they are asked on a terminal, or else read
 * from the first line of standard input. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/i18n.h"
#include "common/json-util.h"
#include "common/macro.h"
#include "ctl/ctl-output.h"
#include "ctl/ctl.h"

/* Longer than any password the daemon takes (1024 characters of up to 4 bytes). */
#define PASSWORD_LINE_MAX 8192

static void erase_and_free(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

static void erase_and_freep(char **s) {
        erase_and_free(*s);
}

/* One line from f without its line end; NULL at end of input. */
static char *read_line(FILE *f) {
        char *line = NULL;
        size_t size = 0;
        ssize_t n;

        n = getline(&line, &size, f);
        if (n < 0 || (size_t) n > PASSWORD_LINE_MAX) {
                /* At the end of input the buffer holds no string: erase it whole. */
                if (line)
                        explicit_bzero(line, size);
                free(line);
                return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        return line;
}

/* Asks on the terminal with echo off. */
static char *ask_hidden(const char *prompt) {
        struct termios old, quiet;
        char *line;

        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) < 0)
                return read_line(stdin);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        line = read_line(stdin);
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
        return line;
}

/* The new password of username: asked twice on a terminal, else the first line of standard
 * input. Prints why there is none and returns the exit code. */
static int read_password(const char *username, char **ret) {
        _cleanup_(erase_and_freep) char *password = NULL, *again = NULL;
        _cleanup_free_ char *prompt = NULL;

        if (!isatty(STDIN_FILENO)) {
                password = read_line(stdin);
                if (isempty(password)) {
                        fprintf(stderr, "pipelitctl: %s\n", _("no password on standard input"));
                        return CTL_EXIT_FAILURE;
                }
                *ret = TAKE_PTR(password);
                return CTL_EXIT_SUCCESS;
        }

        if (asprintf(&prompt, _("New password for %s: "), username) < 0)
                return ctl_fail(-ENOMEM, NULL, "password");
        password = ask_hidden(prompt);
        if (isempty(password)) {
                fprintf(stderr, "pipelitctl: %s\n", _("no password given"));
                return CTL_EXIT_FAILURE;
        }
        again = ask_hidden(_("Retype the password: "));
        if (!streq_ptr(password, again)) {
                fprintf(stderr, "pipelitctl: %s\n", _("the passwords do not match"));
                return CTL_EXIT_FAILURE;
        }
        *ret = TAKE_PTR(password);
        return CTL_EXIT_SUCCESS;
}

/* The JSON text of the first string in reply. */
static int reply_json(sd_bus_message *reply, const char *member, json_t **ret) {
        const char *text;
        json_error_t e;
        int r;

        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return ctl_fail(r, NULL, member);
        *ret = json_loads(text, JSON_DECODE_ANY, &e);
        if (!*ret) {
                fprintf(stderr, "pipelitctl: %s: the daemon's answer is not JSON: %s\n", member, e.text);
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_SUCCESS;
}

static int user_create(sd_bus *bus, const char *username, const CtlOptions *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(erase_and_freep) char *password = NULL;
        uint64_t id;
        int r;

        r = read_password(username, &password);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        r = ctl_call_typed(bus, "CreateUser", &reply, "sss", username, password, o->role ?: "");
        if (r != CTL_EXIT_SUCCESS)
                return r;
        r = sd_bus_message_read(reply, "t", &id);
        if (r < 0)
                return ctl_fail(r, NULL, "CreateUser");
        if (o->json)
                printf("{\"id\": %" PRIu64 "}\n", id);
        else
                printf("%" PRIu64 "\n", id);
        return CTL_EXIT_SUCCESS;
}

static int user_passwd(sd_bus *bus, const char *username) {
        _cleanup_(erase_and_freep) char *password = NULL;
        int r;

        r = read_password(username, &password);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        return ctl_call_typed(bus, "SetPassword", NULL, "ss", username, password);
}

static int user_list(sd_bus *bus, const CtlOptions *o) {
        static const char *const columns[] = { "id", "username", "role", "key_count", "created_at", NULL };
        static const char *const headers[] = { "ID", "USERNAME", "ROLE", "KEYS", "CREATED" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_t *list = NULL;
        int r;

        r = ctl_call_typed(bus, "ListUsers", &reply, "");
        if (r == CTL_EXIT_SUCCESS)
                r = reply_json(reply, "ListUsers", &list);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                ctl_print_json(list);
        else
                ctl_print_table(json_object_get(list, "users"), columns, headers, NULL);
        return CTL_EXIT_SUCCESS;
}

int ctl_user(sd_bus *bus, char **args, int n_args, const CtlOptions *o) {
        const char *sub = args[0];

        if (streq(sub, "list")) {
                if (n_args != 1)
                        return ctl_usage_error(_("%s: too many arguments"), "user list");
                return user_list(bus, o);
        }
        if (!streq(sub, "create") && !streq(sub, "passwd") && !streq(sub, "disable-mfa"))
                return ctl_usage_error(_("%s: unknown subcommand '%s'"), "user", sub);
        if (n_args != 2)
                return ctl_usage_error(_("%s: missing argument"), streq(sub, "create") ? "user create" :
                                       streq(sub, "passwd") ? "user passwd" : "user disable-mfa");
        if (streq(sub, "create"))
                return user_create(bus, args[1], o);
        if (streq(sub, "disable-mfa"))
                return ctl_call_typed(bus, "DisableMfa", NULL, "s", args[1]);
        return user_passwd(bus, args[1]);
}

static int key_create(sd_bus *bus, const char *username, const char *name, const CtlOptions *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_t *key = NULL;
        int r;

        r = ctl_call_typed(bus, "CreateApiKey", &reply, "ssu", username, name, o->expires_in_days);
        if (r == CTL_EXIT_SUCCESS)
                r = reply_json(reply, "CreateApiKey", &key);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                ctl_print_json(key);
        else
                printf("%s\n", json_get_string(key, "key", ""));
        return CTL_EXIT_SUCCESS;
}

static int key_list(sd_bus *bus, const char *username, const CtlOptions *o) {
        static const char *const columns[] = { "id", "name", "prefix", "is_active", "expires_at", "last_used_at",
                                               NULL };
        static const char *const headers[] = { "ID", "NAME", "PREFIX", "ACTIVE", "EXPIRES", "LAST USED" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_t *keys = NULL;
        int r;

        r = ctl_call_typed(bus, "ListApiKeys", &reply, "s", username);
        if (r == CTL_EXIT_SUCCESS)
                r = reply_json(reply, "ListApiKeys", &keys);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                ctl_print_json(keys);
        else
                ctl_print_table(keys, columns, headers, NULL);
        return CTL_EXIT_SUCCESS;
}

static int key_revoke(sd_bus *bus, const char *username, const char *id_text) {
        unsigned long long id;
        char *end;

        errno = 0;
        id = strtoull(id_text, &end, 10);
        if (errno != 0 || *end || end == id_text || id_text[0] == '-' || id == 0)
                return ctl_usage_error(_("not a key id: '%s'"), id_text);
        return ctl_call_typed(bus, "RevokeApiKey", NULL, "st", username, (uint64_t) id);
}

int ctl_key(sd_bus *bus, char **args, int n_args, const CtlOptions *o) {
        const char *sub = args[0];

        if (streq(sub, "list")) {
                if (n_args != 2)
                        return ctl_usage_error(_("%s: too many arguments"), "key list");
                return key_list(bus, args[1], o);
        }
        if (!streq(sub, "create") && !streq(sub, "revoke"))
                return ctl_usage_error(_("%s: unknown subcommand '%s'"), "key", sub);
        if (n_args != 3)
                return ctl_usage_error(_("%s: missing argument"), streq(sub, "create") ? "key create" : "key revoke");
        if (streq(sub, "create"))
                return key_create(bus, args[1], args[2], o);
        return key_revoke(bus, args[1], args[2]);
}

/* The names of a JSON array joined with ", ". */
static char *names_joined(json_t *names) {
        _cleanup_free_ char *text = NULL;
        json_t *name;
        size_t i;

        json_array_foreach(names, i, name) {
                char *next;

                if (asprintf(&next, "%s%s%s", text ?: "", text ? ", " : "", json_string_value(name) ?: "?") < 0)
                        return NULL;
                free(text);
                text = next;
        }
        return text ? TAKE_PTR(text) : strdup("");
}

int ctl_reload(sd_bus *bus, const CtlOptions *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_t *report = NULL;
        _cleanup_free_ char *changed = NULL, *restart = NULL;
        int r;

        r = ctl_call_typed(bus, "Reload", &reply, "");
        if (r == CTL_EXIT_SUCCESS)
                r = reply_json(reply, "Reload", &report);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json) {
                ctl_print_json(report);
                return CTL_EXIT_SUCCESS;
        }
        changed = names_joined(json_object_get(report, "changed"));
        restart = names_joined(json_object_get(report, "restart_needed"));
        if (!changed || !restart)
                return ctl_fail(-ENOMEM, NULL, "Reload");
        fputs(_("Reloaded the configuration.\n"), stdout);
        if (!isempty(changed))
                printf(_("Now in effect: %s\n"), changed);
        if (!isempty(restart))
                printf(_("Changed, but kept until pipelitd restarts: %s\n"), restart);
        if (isempty(changed) && isempty(restart))
                fputs(_("Nothing changed.\n"), stdout);
        return CTL_EXIT_SUCCESS;
}
