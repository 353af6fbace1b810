/* The checks of user and API key bodies that the REST API and D-Bus share. */

#include <stdio.h>

#include "api/user-check.h"
#include "store/store-api-keys.h"
#include "store/store-users.h"

const char *const user_role_choices[] = { "admin", "normal", NULL };

static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

void user_check_length(json_t *body, json_t *errors, const char *field, size_t min, size_t max) {
        json_t *v = json_object_get(body, field);
        char msg[96];
        size_t n;

        if (!json_is_string(v))
                return;
        n = utf8_length(json_string_value(v));
        if (n < min) {
                snprintf(msg, sizeof msg, "String should have at least %zu character%s", min,
                         min == 1 ? "" : "s");
                json_error_append(errors, field, "string_too_short", msg);
        } else if (n > max) {
                snprintf(msg, sizeof msg, "String should have at most %zu characters", max);
                json_error_append(errors, field, "string_too_long", msg);
        }
}

static void check_username(json_t *body, json_t *errors) {
        json_t *v = json_object_get(body, "username");

        if (json_is_string(v) && !user_name_is_valid(json_string_value(v)))
                json_error_append(errors, "username", "string_pattern_mismatch",
                                  "Username must be 1 to 150 letters, digits or _ . @ + -");
}

void user_check_body(json_t *body, const JsonField *fields, size_t n_fields, json_t *errors) {
        (void) json_check_fields(body, fields, n_fields, errors);
        check_username(body, errors);
        user_check_length(body, errors, "password", USER_PASSWORD_MIN, USER_PASSWORD_MAX);
        user_check_length(body, errors, "first_name", 0, USER_PERSON_NAME_MAX);
        user_check_length(body, errors, "last_name", 0, USER_PERSON_NAME_MAX);
}

void api_key_check_name(json_t *body, json_t *errors) {
        static const JsonField fields[] = {
                { "name", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY },
        };

        (void) json_check_fields(body, fields, ELEMENTSOF(fields), errors);
        /* JSON_FIELD_NONEMPTY already refuses "" and blanks. */
        user_check_length(body, errors, "name", 0, API_KEY_NAME_MAX);
}
