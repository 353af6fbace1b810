/* The browser UI's files (StaticDirectory=, by default $(pkgdatadir)/ui, as the build
 * installs them).
 *
 * Every GET or HEAD outside the API (/api, /ws, /health) is the UI's: a file of the
 * directory when there is one, else index.html, so that the UI's client routes
 * (/workflows/<slug>, /executions/<id>) can be loaded and reloaded directly. Only a missing
 * file under /assets/ — where the build puts its hashed files — answers 404.
 *
 * Hashed assets never change under their name: they are cached for a year; everything else
 * (index.html first) is revalidated with its ETag on every use. When the client accepts
 * gzip and the build left FILE.gz beside FILE, that is sent instead. */
#pragma once

#include <stdbool.h>

#include "api/http.h"

/* Whether a request for path belongs to the UI rather than to the API. */
bool ui_path(HttpMethod method, const char *path);

/* Whether an Accept-Encoding header value (may be NULL) accepts gzip. */
bool ui_accepts_gzip(const char *accept_encoding);

/* Whether an If-None-Match header value (may be NULL) names etag. */
bool ui_etag_matches(const char *if_none_match, const char *etag);

/* Answers path from the UI in directory into resp (200, 304 or 404); a HEAD gets the
 * headers alone. -ENOENT when path names no file and directory holds no index.html (no UI
 * there: the caller answers as for any unknown path), another negative errno when a file
 * cannot be read. */
int ui_answer(const char *directory, HttpMethod method, const char *path, bool accept_gzip,
              const char *if_none_match, HttpResponse *resp);
