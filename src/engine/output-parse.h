/* Reading structure out of a model's text answer: the output_parser sub-component's three
 * parsers (JSON, regular expression, list) and the categorizer's "which of these names did
 * it answer". Pure functions: no I/O, no global state, safe from any thread. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest text the parsers read; beyond it they read this much. */
#define OUTPUT_PARSE_TEXT_MAX (4U * 1024U * 1024U)
/* Most matches the regex parser lists, and most items the list parser returns. */
#define OUTPUT_PARSE_ITEMS_MAX 1000U

/* The JSON object or array in text: the whole text when it is one; else the first ```
 * fenced block (```json or bare) that holds one; else the first {…} or […] in the text
 * that parses. A new reference, or NULL when there is none (or on ENOMEM). */
json_t *output_parse_json(const char *text);

/* The items of a list: one per line, with bullets ("-", "*", "•", "+") and numbers ("1.",
 * "2)", "(3)") taken off and blank lines skipped. When some lines carry a bullet or a
 * number, only those count (an intro line such as "Here they are:" is left out). A single
 * line is split at its commas ("a, b, c"). A new array of strings; NULL on ENOMEM. */
json_t *output_parse_list(const char *text);

/* Matches pattern against text and describes what it found:
 *   {"match": the first match's text, or null when nothing matched,
 *    "groups": the first match's capture groups in order (null for a group that took no part),
 *    "named": {name: text} of its named groups,
 *    "matches": every match, as Python's re.findall() gives them: the whole match without
 *               groups, the group's text with one, the list of groups with several}
 * The syntax is POSIX extended with what people write in Python: named groups
 * "(?P<name>…)" and "(?<name>…)", non-capturing "(?:…)", "(?i)" at the start for any case,
 * \d \w \s (and \D \W \S outside brackets), \n \t. ^ and $ match at each line; . does not
 * cross lines. Backreferences, lookarounds and other "(?…)" forms are refused.
 * 0 with *ret, -EINVAL with *ret_error (malloc'ed; may be NULL) for a pattern that cannot be
 * used, -ENOMEM. */
int output_parse_regex(const char *pattern, const char *text, json_t **ret, char **ret_error);

/* One of the parsers by name: "json" (-ENODATA when the text holds no JSON object or
 * array), "regex" (with pattern) or "list". -EINVAL with *ret_error for an unknown
 * parser_type or a bad pattern. */
int output_parse(const char *parser_type, const char *pattern, const char *text, json_t **ret, char **ret_error);

/* Which of n names an answer gives, for a model asked to answer with one of them: the
 * index, or -1 when it names none. Robust to what models add: a JSON object whose
 * "category" (or "route", "choice", "label", "answer", "name") holds the name, quotes,
 * backticks, asterisks, a trailing full stop, "Category:" before it, any case, or a
 * sentence around it (then the name that comes first, as a whole word; the longer one
 * when two start at the same place). */
ssize_t output_match_choice(const char *answer, const char *const *names, size_t n);
