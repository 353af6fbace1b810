/* Timestamps as the API and the database carry them: ISO-8601 UTC with microseconds,
 * "2026-11-26T00:54:34.123456Z" (fixed width, so text order is time order). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define TIMESTAMP_BUFSZ 32

typedef uint64_t usec_t;

usec_t now_realtime_usec(void);
usec_t now_monotonic_usec(void);

/* Formats t (microseconds since the epoch) into buf. */
const char *timestamp_format(char buf[static TIMESTAMP_BUFSZ], usec_t t);
/* The current time, formatted. */
const char *timestamp_now(char buf[static TIMESTAMP_BUFSZ]);
/* Parses ISO-8601 ("2026-11-26T00:54:34Z", with optional fraction and ±HH:MM offset, or a
 * plain date "2026-11-26"); returns -EINVAL when malformed. */
int timestamp_parse(const char *s, usec_t *ret);
