/* run_command's output as the model reads it (agent-tool-command.c). */
#pragma once

#include <stddef.h>

/* The reference's cut: longer output loses its middle. */
#define COMMAND_OUTPUT_MAX_CHARS 50000

/* What the model is told of a command that ran: its standard output, then each line of its
 * standard error as "[stderr] <line>", then last_line (NULL: none; "[exit code: N]" when it
 * failed), or "(no output)" for nothing at all. Bytes that are not UTF-8, and NULs, become
 * U+FFFD. Longer than max_chars characters, its middle makes way for a note of how many
 * were left out. NULL on ENOMEM. */
char *command_output_format(const char *out, size_t out_size, const char *err, size_t err_size,
                            const char *last_line, size_t max_chars);
