/* Clocks and the ISO-8601 timestamps of the API and the database. */

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "common/time-util.h"

#define USEC_PER_SEC UINT64_C(1000000)

static usec_t timespec_to_usec(const struct timespec *ts) {
        return (usec_t) ts->tv_sec * USEC_PER_SEC + (usec_t) ts->tv_nsec / 1000;
}

static usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        /* Cannot fail for these clocks on Linux. */
        (void) clock_gettime(clock, &ts);
        return timespec_to_usec(&ts);
}

usec_t now_realtime_usec(void) {
        return now_usec(CLOCK_REALTIME);
}

usec_t now_monotonic_usec(void) {
        return now_usec(CLOCK_MONOTONIC);
}

const char *timestamp_format(char buf[static TIMESTAMP_BUFSZ], usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        /* Four-digit years keep the text fixed-width (and text order time order). */
        if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999) {
                snprintf(buf, TIMESTAMP_BUFSZ, "9999-12-31T23:59:59.999999Z");
                return buf;
        }
        /* The modulo only tells the compiler the widths; gmtime_r() keeps each in range. */
        snprintf(buf, TIMESTAMP_BUFSZ, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ",
                 (unsigned) (tm.tm_year + 1900) % 10000, (unsigned) (tm.tm_mon + 1) % 100,
                 (unsigned) tm.tm_mday % 100, (unsigned) tm.tm_hour % 100,
                 (unsigned) tm.tm_min % 100, (unsigned) tm.tm_sec % 100,
                 (unsigned) (t % USEC_PER_SEC));
        return buf;
}

const char *timestamp_now(char buf[static TIMESTAMP_BUFSZ]) {
        return timestamp_format(buf, now_realtime_usec());
}

static bool ascii_isdigit(char c) {
        return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *p and advances past them. */
static bool read_digits(const char **p, unsigned n, int *ret) {
        int v = 0;

        for (unsigned i = 0; i < n; i++) {
                if (!ascii_isdigit((*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

static bool read_char(const char **p, char c) {
        if (**p != c)
                return false;
        (*p)++;
        return true;
}

/* "Z", "z", "+HH:MM", "-HH:MM", "+HHMM", "+HH", or nothing (UTC); in seconds east of UTC. */
static int parse_zone(const char *p, int *ret_offset) {
        int sign, hh, mm = 0;

        if (*p == '\0' || ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')) {
                *ret_offset = 0;
                return 0;
        }
        if (*p != '+' && *p != '-')
                return -EINVAL;
        sign = *p == '-' ? -1 : 1;
        p++;

        if (!read_digits(&p, 2, &hh))
                return -EINVAL;
        if (*p != '\0') {
                (void) read_char(&p, ':');
                if (!read_digits(&p, 2, &mm) || *p != '\0')
                        return -EINVAL;
        }
        if (hh > 23 || mm > 59)
                return -EINVAL;

        *ret_offset = sign * (hh * 3600 + mm * 60);
        return 0;
}

int timestamp_parse(const char *s, usec_t *ret) {
        struct tm tm = {}, check;
        int year, month, day, hour = 0, minute = 0, second = 0, offset, r;
        unsigned long frac = 0;
        const char *p = s;
        time_t t;
        long long total;

        if (!s)
                return -EINVAL;

        if (!read_digits(&p, 4, &year) || !read_char(&p, '-') ||
            !read_digits(&p, 2, &month) || !read_char(&p, '-') ||
            !read_digits(&p, 2, &day))
                return -EINVAL;

        if (*p != '\0') {
                if (*p != 'T' && *p != 't' && *p != ' ')
                        return -EINVAL;
                p++;
                if (!read_digits(&p, 2, &hour) || !read_char(&p, ':') || !read_digits(&p, 2, &minute))
                        return -EINVAL;
                if (read_char(&p, ':')) {
                        if (!read_digits(&p, 2, &second))
                                return -EINVAL;
                        if (read_char(&p, '.') || read_char(&p, ',')) {
                                unsigned n = 0;

                                /* Microseconds are all we keep; further digits are cut off. */
                                for (; ascii_isdigit(*p); p++, n++)
                                        if (n < 6)
                                                frac = frac * 10 + (unsigned long) (*p - '0');
                                if (n == 0)
                                        return -EINVAL;
                                for (; n < 6; n++)
                                        frac *= 10;
                        }
                }
                r = parse_zone(p, &offset);
                if (r < 0)
                        return r;
        } else
                offset = 0;

        if (month < 1 || month > 12 || day < 1 || day > 31 ||
            hour > 23 || minute > 59 || second > 59)
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;
        t = timegm(&tm);

        /* timegm() rolls February 30 over into March; a date that moved did not exist. */
        if (!gmtime_r(&t, &check) || check.tm_mday != day || check.tm_mon != month - 1)
                return -EINVAL;

        total = (long long) t - offset;
        if (total < 0)
                return -ERANGE;

        if (ret)
                *ret = (usec_t) total * USEC_PER_SEC + frac;
        return 0;
}
