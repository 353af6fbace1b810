/* Building and checking the code socket's messages (code-protocol.h). */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/code-protocol.h"

_Static_assert(sizeof(CodeRequestHeader) == 72, "CodeRequestHeader has no padding");
_Static_assert(sizeof(CodeFrameHeader) == 8, "CodeFrameHeader has no padding");
_Static_assert(sizeof(CodeEndPayload) == 16, "CodeEndPayload has no padding");
_Static_assert(sizeof(CodeHelloPayload) == 8, "CodeHelloPayload has no padding");

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
}

bool code_workspace_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > CODE_WORKSPACE_NAME_MAX)
                return false;
        /* No "." or ".." (no component starts with '.'), no empty component. */
        for (const char *p = name; *p; p++) {
                bool starts = p == name || p[-1] == '/';

                if (*p == '/' ? starts || p[1] == '\0' : !is_name_char(*p) || (starts && *p == '.'))
                        return false;
        }
        return true;
}

int code_request_build(const CodeRequestHeader *limits, char *const *argv, const char *workspace,
                       uint64_t input_size, char **ret, size_t *ret_size) {
        CodeRequestHeader h = *limits;
        size_t argc = 0, argv_size = 0, workspace_size = 0;
        char *buf, *p;

        if (!argv || !argv[0] || argv[0][0] != '/')
                return -EINVAL;
        if (workspace) {
                if (!code_workspace_name_is_valid(workspace))
                        return -EINVAL;
                workspace_size = strlen(workspace) + 1;
        }
        for (; argv[argc]; argc++) {
                if (argc >= CODE_ARGC_MAX)
                        return -EINVAL;
                argv_size += strlen(argv[argc]) + 1;
                if (argv_size > CODE_ARGV_SIZE_MAX)
                        return -EINVAL;
        }

        h.magic = CODE_PROTOCOL_MAGIC;
        h.argc = (uint32_t) argc;
        h.argv_size = argv_size;
        h.input_size = input_size;
        h.workspace_size = (uint32_t) workspace_size;
        h.reserved = 0;

        buf = malloc(sizeof(h) + argv_size + workspace_size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &h, sizeof(h));
        p = buf + sizeof(h);
        for (size_t i = 0; i < argc; i++)
                p = stpcpy(p, argv[i]) + 1;
        if (workspace)
                strcpy(p, workspace);

        *ret = buf;
        *ret_size = sizeof(h) + argv_size + workspace_size;
        return 0;
}

int code_request_check(const CodeRequestHeader *h) {
        if (h->magic != CODE_PROTOCOL_MAGIC)
                return -EPROTO;
        if (h->argc == 0 || h->argc > CODE_ARGC_MAX || h->argv_size > CODE_ARGV_SIZE_MAX ||
            h->workspace_size > CODE_WORKSPACE_NAME_MAX + 1)
                return -E2BIG;
        return 0;
}

int code_request_split_argv(const char *data, size_t size, uint32_t argc, char ***ret) {
        const char *p = data, *end = data + size;
        char **argv;

        if (argc == 0 || argc > CODE_ARGC_MAX || size == 0 || data[size - 1] != '\0')
                return -EPROTO;
        argv = calloc((size_t) argc + 1, sizeof(char *));
        if (!argv)
                return -ENOMEM;

        for (uint32_t i = 0; i < argc; i++) {
                if (p >= end) {
                        free(argv);
                        return -EPROTO;
                }
                argv[i] = (char *) p;
                p += strlen(p) + 1;
        }
        /* Exactly argc strings, the program by its absolute path. */
        if (p != end || argv[0][0] != '/') {
                free(argv);
                return -EPROTO;
        }
        *ret = argv;
        return 0;
}

int code_frame_check(const CodeFrameHeader *h) {
        switch (h->type) {
        case CODE_FRAME_STDOUT:
        case CODE_FRAME_STDERR:
                return h->size > 0 && h->size <= CODE_FRAME_DATA_MAX ? 0 : -EPROTO;
        case CODE_FRAME_END:
                return h->size == sizeof(CodeEndPayload) ? 0 : -EPROTO;
        case CODE_FRAME_HELLO:
                return h->size == sizeof(CodeHelloPayload) ? 0 : -EPROTO;
        default:
                return -EPROTO;
        }
}
