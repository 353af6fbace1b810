/* pipelitctl's printing: colour, JSON and tables. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "ctl/ctl-output.h"

static bool use_colors;

void ctl_colors_init(void) {
        const char *term = getenv("TERM");

        use_colors = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !streq_ptr(term, "dumb");
}

const char *ctl_color(const char *code) {
        return use_colors ? code : "";
}

const char *ctl_status_color(const char *status) {
        if (streq_ptr(status, "success") || streq_ptr(status, "completed") || streq_ptr(status, "running"))
                return ctl_color(ANSI_GREEN);
        if (streq_ptr(status, "failed") || streq_ptr(status, "cancelled"))
                return ctl_color(ANSI_RED);
        return ctl_color(ANSI_YELLOW);
}

void ctl_print_json(const json_t *v) {
        _cleanup_free_ char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

        if (text)
                printf("%s\n", text);
}

char *ctl_cell_text(const json_t *v) {
        char *s = NULL;

        if (!v || json_is_null(v))
                return strdup("-");
        if (json_is_string(v))
                return strdup(json_string_value(v));
        if (json_is_true(v))
                return strdup("yes");
        if (json_is_false(v))
                return strdup("no");
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        return s ?: strdup("?");
}

void ctl_print_table(json_t *rows, const char *const *columns, const char *const *headers,
                     const char *status_column) {
        size_t n_columns = 0, widths[16] = {}, i;
        json_t *row;

        while (columns[n_columns] && n_columns < ELEMENTSOF(widths))
                n_columns++;
        for (size_t c = 0; c < n_columns; c++)
                widths[c] = strlen(headers[c]);
        json_array_foreach(rows, i, row)
                for (size_t c = 0; c < n_columns; c++) {
                        _cleanup_free_ char *text = ctl_cell_text(json_object_get(row, columns[c]));

                        if (text)
                                widths[c] = MAX(widths[c], strlen(text));
                }

        printf("%s", ctl_color(ANSI_BOLD));
        for (size_t c = 0; c < n_columns; c++)
                printf("%-*s%s", c + 1 < n_columns ? (int) widths[c] : 0, headers[c], c + 1 < n_columns ? "  " : "");
        printf("%s\n", ctl_color(ANSI_NORMAL));

        json_array_foreach(rows, i, row) {
                for (size_t c = 0; c < n_columns; c++) {
                        _cleanup_free_ char *text = ctl_cell_text(json_object_get(row, columns[c]));
                        bool colored = status_column && streq(columns[c], status_column);

                        printf("%s", colored ? ctl_status_color(text) : "");
                        printf("%-*s", c + 1 < n_columns ? (int) widths[c] : 0, text ?: "?");
                        printf("%s%s", colored ? ctl_color(ANSI_NORMAL) : "", c + 1 < n_columns ? "  " : "");
                }
                printf("\n");
        }
}
