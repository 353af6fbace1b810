/* The filter functions shared by template-filters.c (text and numbers, and the filter
 * table) and template-functions.c (collections, tests, methods, range()). */
#pragma once

#include "engine/template-internal.h"

/* An optional integer argument (none or absent gives def). */
int argument_integer(Render *R, const Node *n, json_t *arg, const char *name, int64_t def, int64_t *ret);
int argument_string(Render *R, const Node *n, json_t *arg, const char *name, const char **ret, size_t *ret_length);
/* Turns b into a JSON string in *ret unless r (the result of filling it) failed; frees b. */
int string_result(Render *R, const Node *n, Buffer *b, int r, json_t **ret);
int strip(Render *R, const Node *n, json_t *subject, json_t *chars, bool left, bool right, json_t **ret);

int filter_upper(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_lower(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_title(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_capitalize(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_trim(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_replace(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_split(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);

int filter_join(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_first(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_last(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_list(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_sort(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_reverse(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_unique(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_min(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_max(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_sum(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_keys(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_values(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
int filter_items(Render *R, const Node *n, json_t *subject, json_t **args, json_t **ret);
