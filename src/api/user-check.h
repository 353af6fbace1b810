/* The checks of user and API key bodies, shared by the REST API (api-users.c) and the D-Bus
 * methods (src/bus/bus-manager-users.c), so that both refuse the same input with the same
 * words. Each appends pydantic-style errors ({loc, msg, type}) to errors. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "common/json-util.h"

#define USER_PASSWORD_MIN 8
#define USER_PASSWORD_MAX 1024
#define USER_PERSON_NAME_MAX 150

/* "admin", "normal", NULL: the choices of a body's "role". */
extern const char *const user_role_choices[];

/* An error when field is a string outside min..max characters (not bytes, as clients count
 * them). Other types are json_check_fields()'s business. */
void user_check_length(json_t *body, json_t *errors, const char *field, size_t min, size_t max);

/* json_check_fields() with fields, then the rules every user body follows: the username's
 * characters, the password's and the names' lengths. */
void user_check_body(json_t *body, const JsonField *fields, size_t n_fields, json_t *errors);

/* A key body's "name": present, not blank, at most API_KEY_NAME_MAX characters. */
void api_key_check_name(json_t *body, json_t *errors);
