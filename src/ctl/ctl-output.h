/* How pipelitctl prints: colour only on a terminal and never with $NO_COLOR, JSON as the
 * daemon sent it or indented for people, tables in aligned columns. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#define ANSI_RED "\x1B[0;31m"
#define ANSI_GREEN "\x1B[0;32m"
#define ANSI_YELLOW "\x1B[0;33m"
#define ANSI_BOLD "\x1B[1m"
#define ANSI_NORMAL "\x1B[0m"

/* Decided once at start from stdout, $NO_COLOR and $TERM. */
void ctl_colors_init(void);
/* code when colour is on, else "". */
const char *ctl_color(const char *code);
/* The colour of a status word: green for success/completed, red for failed/cancelled,
 * yellow for the rest. */
const char *ctl_status_color(const char *status);

/* Indented JSON and a newline on stdout. */
void ctl_print_json(const json_t *v);

/* A table of rows (a JSON array of objects): one column per key of columns (NULL-terminated,
 * with headers, upper-case), the cells' values as text (missing: "-"). status_column, when
 * set, is coloured by its status. */
void ctl_print_table(json_t *rows, const char *const *columns, const char *const *headers,
                     const char *status_column);

/* The text of a scalar JSON value for a cell: strings as they are, null as "-". Returned
 * text is malloc'ed. */
char *ctl_cell_text(const json_t *v);
