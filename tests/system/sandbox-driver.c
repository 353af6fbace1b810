/* Runs one command through sandbox_run() and reports how it went, for the system tests
 * (tests/system/test-sandbox-systemd.py runs it inside a container booted with systemd).
 *
 *   sandbox-driver [--backend auto|socket|systemd|bubblewrap] [--timeout SEC] [--max-stdout BYTES]
 *                  [--stop-after SEC] [--input-size BYTES] [--max-memory BYTES]
 *                  [--workspace-root DIR --workspace NAME] [--allow-network]
 *                  -- /absolute/program [ARG…]
 *   sandbox-driver [--backend …] --which
 *
 * Prints one line "end=NAME status=N stdout=BYTES stderr=BYTES msec=N" followed by the
 * program's standard output on our standard output, and its standard error on ours.
 * --which prints the backend sandbox_run() would pick. Exits 0 when sandbox_run() returned
 * 0, else 1 with the error on standard error. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/sandbox.h"

static usec_t stop_at;

static bool stop_requested(void *userdata) {
        return stop_at > 0 && now_monotonic_usec() >= stop_at;
}

static int parse_seconds(const char *s, usec_t *ret) {
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end || d < 0)
                return -EINVAL;
        *ret = (usec_t) (d * 1e6);
        return 0;
}

static int parse_size(const char *s, size_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end)
                return -EINVAL;
        *ret = (size_t) v;
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "backend", required_argument, NULL, 'b' },
                { "timeout", required_argument, NULL, 't' },
                { "max-stdout", required_argument, NULL, 'o' },
                { "stop-after", required_argument, NULL, 's' },
                { "input-size", required_argument, NULL, 'i' },
                { "max-memory", required_argument, NULL, 'm' },
                { "which", no_argument, NULL, 'w' },
                { "workspace-root", required_argument, NULL, 'R' },
                { "workspace", required_argument, NULL, 'W' },
                { "allow-network", no_argument, NULL, 'n' },
                {}
        };
        SandboxOptions o = { .should_stop = stop_requested };
        _cleanup_free_ char *input = NULL;
        SandboxResult result = {};
        usec_t stop_after = 0;
        size_t input_size = 0;
        bool which = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        o.backend = sandbox_backend_from_string(optarg);
                        if (o.backend < 0) {
                                fprintf(stderr, "unknown backend %s\n", optarg);
                                return 2;
                        }
                        break;
                case 't':
                        if (parse_seconds(optarg, &o.timeout_usec) < 0)
                                return 2;
                        break;
                case 'o':
                        if (parse_size(optarg, &o.max_stdout) < 0)
                                return 2;
                        break;
                case 's':
                        if (parse_seconds(optarg, &stop_after) < 0)
                                return 2;
                        break;
                case 'i':
                        if (parse_size(optarg, &input_size) < 0)
                                return 2;
                        break;
                case 'm': {
                        size_t bytes;

                        if (parse_size(optarg, &bytes) < 0)
                                return 2;
                        o.max_address_space = bytes;
                        break;
                }
                case 'w':
                        which = true;
                        break;
                case 'R':
                        o.workspace_root = optarg;
                        break;
                case 'W':
                        o.workspace = optarg;
                        break;
                case 'n':
                        o.allow_network = true;
                        break;
                default:
                        return 2;
                }
        }

        if (which) {
                SandboxBackend b;

                r = sandbox_pick_backend(&o, &b);
                if (r < 0) {
                        fprintf(stderr, "sandbox_pick_backend: %s\n", strerror(-r));
                        return 1;
                }
                printf("%s\n", sandbox_backend_to_string(b));
                return 0;
        }

        if (optind >= argc) {
                fprintf(stderr, "no command\n");
                return 2;
        }
        o.argv = argv + optind;

        /* Input of a known size and content: line after line of "x", so wc can check it. */
        if (input_size > 0) {
                input = malloc(input_size);
                if (!input)
                        return 1;
                for (size_t i = 0; i < input_size; i++)
                        input[i] = (i % 64 == 63) ? '\n' : 'x';
                o.input = input;
                o.input_size = input_size;
        }

        stop_at = stop_after > 0 ? now_monotonic_usec() + stop_after : 0;
        r = sandbox_run(&o, &result);
        if (r < 0) {
                fprintf(stderr, "sandbox_run: %s\n", strerror(-r));
                return 1;
        }

        printf("end=%s status=%d stdout=%zu stderr=%zu msec=%" PRIu64 "\n",
               sandbox_end_to_string(result.end), result.exit_status, result.stdout_size, result.stderr_size,
               result.duration_usec / 1000);
        fwrite(result.stdout_data, 1, result.stdout_size, stdout);
        fwrite(result.stderr_data, 1, result.stderr_size, stderr);
        sandbox_result_done(&result);
        return 0;
}
