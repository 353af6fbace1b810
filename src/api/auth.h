/* Bearer API key authentication: "Authorization: Bearer <key>" is hashed and looked up;
 * the key must be active, unexpired and belong to an active user. last_used_at is
 * refreshed at most once a minute. */
#pragma once

#include "api/http.h"

/* Fills req->user. Returns 0, or -EACCES when the key is missing, unknown, revoked or
 * expired (the caller answers 401), or another negative errno on database failure. */
int auth_authenticate(HttpRequest *req);
void auth_user_done(AuthUser *u);
