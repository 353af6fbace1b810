/* Limits on regular expressions that come from users and models (switch rules, the
 * output parser): glibc's regcomp() builds an automaton whose size grows with the product
 * of nested repetition counts, so a pattern like (a{1000}){1000} could take seconds and
 * gigabytes before matching anything. */
#pragma once

#include <stdbool.h>

#define REGEX_REPEAT_PRODUCT_MAX 100000ULL

/* Whether the product of the pattern's {n} / {n,m} repetition counts stays at or under
 * REGEX_REPEAT_PRODUCT_MAX (escaped braces are not counts). */
bool regex_repetitions_reasonable(const char *pattern);
