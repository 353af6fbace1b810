#include "common/macro.h"
#include "engine/regex-limits.h"

static bool digit(char c) {
        return c >= '0' && c <= '9';
}

/* The number at *p (advanced past it), saturating just above the limit. */
static unsigned long long read_count(const char **p) {
        unsigned long long n = 0;

        for (; digit(**p) && n <= REGEX_REPEAT_PRODUCT_MAX; (*p)++)
                n = n * 10 + (unsigned long long) (**p - '0');
        return n;
}

bool regex_repetitions_reasonable(const char *p) {
        unsigned long long product = 1;

        for (; *p; p++) {
                unsigned long long bound;
                const char *q;

                if (*p == '\\' && p[1]) {
                        p++;
                        continue;
                }
                if (*p != '{' || !digit(p[1]))
                        continue;
                q = p + 1;
                bound = read_count(&q);
                /* {n,m}: the upper count is what repeats. */
                if (*q == ',' && digit(q[1])) {
                        q++;
                        bound = read_count(&q);
                }
                product *= MAX(bound, 1ULL);
                if (product > REGEX_REPEAT_PRODUCT_MAX)
                        return false;
        }
        return true;
}
