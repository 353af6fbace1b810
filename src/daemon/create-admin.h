/* pipelitd --create-admin NAME: the first account, made from the command line. */
#pragma once

#include <stdio.h>

#include "store/db.h"

/* Creates the admin user username. The password is the first line of password_input when
 * that is not a terminal and has data (at least 8 characters); otherwise (a terminal, no
 * data, or password_input NULL) a random one is generated and printed once to out. Then
 * prints to out how to get an API key. crypto_init() must have run.
 *
 * Logs why it fails and returns negative errno: -EEXIST when the user exists (nothing is
 * changed), -EINVAL for a bad username or password. */
int create_admin(Db *db, const char *username, FILE *password_input, FILE *out);
