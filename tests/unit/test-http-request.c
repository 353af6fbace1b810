/* The http_request component against a small HTTP server run by the test on 127.0.0.1:
 * methods, headers and bodies sent, JSON and text responses, HTTP errors with and without
 * fail_on_error, redirects (and redirects to other schemes), the response size limit,
 * the request timeout, a cancel and an execution deadline in the middle of a request, and
 * a server that is not there. */

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "engine/components/components.h"
#include "node-run-test.h"

static int server_fd = -1;
static unsigned server_port;
static atomic_bool server_stopping;

typedef struct Request {
        char method[16];
        char path[256];
        char *headers;          /* raw header block */
        char *body;
        size_t body_size;
} Request;

static void request_done(Request *r) {
        free(r->headers);
        free(r->body);
}

static bool send_all(int fd, const char *data, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, data, n, MSG_NOSIGNAL);

                if (k <= 0)
                        return false;
                data += k;
                n -= (size_t) k;
        }
        return true;
}

static void respond(int fd, int status, const char *content_type, const char *extra_headers,
                    const char *body, size_t body_size) {
        char head[1024];

        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                 status, content_type, body_size, extra_headers ?: "");
        if (send_all(fd, head, strlen(head)) && body_size > 0)
                (void) send_all(fd, body, body_size);
}

/* The value of header name in the raw header block, or NULL (malloc'ed). */
static char *header_value(const Request *r, const char *name) {
        size_t n = strlen(name);

        for (const char *line = r->headers; line && *line; ) {
                const char *eol = strstr(line, "\r\n");

                if (!eol)
                        break;
                if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
                        const char *v = line + n + 1;

                        while (*v == ' ')
                                v++;
                        return strndup(v, (size_t) (eol - v));
                }
                line = eol + 2;
        }
        return NULL;
}

static bool read_request(int fd, Request *r) {
        char buf[65536];
        size_t have = 0, content_length = 0;
        char *end = NULL, *cl;

        while (!end) {
                ssize_t n;

                if (have >= sizeof(buf) - 1)
                        return false;
                n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
                if (n <= 0)
                        return false;
                have += (size_t) n;
                buf[have] = '\0';
                end = strstr(buf, "\r\n\r\n");
        }
        if (sscanf(buf, "%15s %255s", r->method, r->path) != 2)
                return false;
        r->headers = strndup(strstr(buf, "\r\n") + 2, (size_t) (end + 2 - (strstr(buf, "\r\n") + 2)));
        cl = header_value(r, "Content-Length");
        if (cl)
                content_length = strtoul(cl, NULL, 10);
        free(cl);

        r->body = malloc(content_length + 1);
        if (!r->body || !r->headers)
                return false;
        r->body_size = MIN(have - (size_t) (end + 4 - buf), content_length);
        memcpy(r->body, end + 4, r->body_size);
        while (r->body_size < content_length) {
                ssize_t n = recv(fd, r->body + r->body_size, content_length - r->body_size, 0);

                if (n <= 0)
                        return false;
                r->body_size += (size_t) n;
        }
        r->body[r->body_size] = '\0';
        return true;
}

static void answer_echo(int fd, const Request *r) {
        char *x_test = header_value(r, "X-Test"), *content_type = header_value(r, "Content-Type");
        json_t *echo = json_pack("{s:s, s:s, s:s%, s:s?, s:s?}",
                                 "method", r->method, "path", r->path,
                                 "body", r->body, r->body_size,
                                 "x_test", x_test, "content_type", content_type);
        char *text = json_dumps(echo, JSON_COMPACT);

        respond(fd, 200, "application/json; charset=utf-8", "X-Server: test\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n",
                text, strlen(text));
        free(text);
        json_decref(echo);
        free(x_test);
        free(content_type);
}

static void answer_slow(int fd) {
        /* Up to 5 s, unless the client goes away or the test ends. */
        for (int i = 0; i < 100 && !atomic_load(&server_stopping); i++) {
                char c;

                if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
                        return;
                usleep(50 * 1000);
        }
        respond(fd, 200, "text/plain", NULL, "late", 4);
}

static void answer_big(int fd) {
        size_t total = 11u * 1024 * 1024, sent = 0;
        char head[256], chunk[65536];

        memset(chunk, 'x', sizeof(chunk));
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", total);
        if (!send_all(fd, head, strlen(head)))
                return;
        while (sent < total && send_all(fd, chunk, MIN(sizeof(chunk), total - sent)))
                sent += MIN(sizeof(chunk), total - sent);
}

static void *connection_thread(void *userdata) {
        int fd = (int) (intptr_t) userdata;
        Request r = {};

        if (read_request(fd, &r)) {
                if (streq(r.path, "/json") || streq(r.path, "/echo"))
                        answer_echo(fd, &r);
                else if (streq(r.path, "/text"))
                        respond(fd, 200, "text/plain", NULL, "hello world", 11);
                else if (streq(r.path, "/status/404"))
                        respond(fd, 404, "text/plain", NULL, "not here", 8);
                else if (streq(r.path, "/status/503"))
                        respond(fd, 503, "application/json", NULL, "{\"error\": \"busy\"}", 17);
                else if (streq(r.path, "/redirect"))
                        respond(fd, 302, "text/plain", "Location: /json\r\n", "", 0);
                else if (streq(r.path, "/redirect-file"))
                        respond(fd, 302, "text/plain", "Location: file:///etc/passwd\r\n", "", 0);
                else if (streq(r.path, "/binary"))
                        respond(fd, 200, "application/octet-stream", NULL, "ab\xff\xfe" "c", 5);
                else if (streq(r.path, "/not-json"))
                        respond(fd, 200, "application/json", NULL, "not json", 8);
                else if (streq(r.path, "/slow"))
                        answer_slow(fd);
                else if (streq(r.path, "/big"))
                        answer_big(fd);
                else
                        respond(fd, 404, "text/plain", NULL, "", 0);
        }
        request_done(&r);
        close(fd);
        return NULL;
}

static void *server_thread(void *userdata) {
        for (;;) {
                int fd = accept4(server_fd, NULL, NULL, SOCK_CLOEXEC);
                pthread_t thread;

                if (fd < 0) {
                        if (atomic_load(&server_stopping) || errno == EBADF || errno == EINVAL)
                                return NULL;
                        continue;
                }
                if (pthread_create(&thread, NULL, connection_thread, (void *) (intptr_t) fd) != 0)
                        close(fd);
                else
                        pthread_detach(thread);
        }
}

static pthread_t server;

static void server_start(void) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(addr);

        server_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(server_fd, 0);
        ck_assert_int_eq(bind(server_fd, (struct sockaddr *) &addr, sizeof(addr)), 0);
        ck_assert_int_eq(listen(server_fd, 64), 0);
        ck_assert_int_eq(getsockname(server_fd, (struct sockaddr *) &addr, &len), 0);
        server_port = ntohs(addr.sin_port);
        atomic_store(&server_stopping, false);
        ck_assert_int_eq(pthread_create(&server, NULL, server_thread, NULL), 0);
}

static void server_stop(void) {
        atomic_store(&server_stopping, true);
        shutdown(server_fd, SHUT_RDWR);
        pthread_join(server, NULL);
        close(server_fd);
        server_fd = -1;
}

/* Runs http_request with extra_config (JSON text in which "URL" stands for the server's
 * address, e.g. "URL/json"). */
static TestRun *request(const char *extra_config, int *ret) {
        _cleanup_free_ char *config = NULL;
        char base[64];
        const char *p;
        size_t n = 0;
        TestRun *t;

        snprintf(base, sizeof(base), "http://127.0.0.1:%u", server_port);
        config = malloc(strlen(extra_config) * 2 + 256);
        ck_assert_ptr_nonnull(config);
        for (p = extra_config; *p; )
                if (strncmp(p, "URL", 3) == 0) {
                        n += (size_t) sprintf(config + n, "%s", base);
                        p += 3;
                } else
                        config[n++] = *p++;
        config[n] = '\0';

        t = test_run_new("http_request", config, "{\"trigger\": {}}", NULL);
        *ret = component_http_request(&t->run);
        return t;
}

static json_t *response_of(TestRun *t) {
        json_t *response = json_object_get(t->run.output, "response");

        ck_assert_msg(json_is_object(response), "no response: %s", t->run.error ?: "?");
        return response;
}

START_TEST(test_http_get_json) {
        int r;
        TestRun *t = request("{\"url\": \"URL/json\"}", &r);
        json_t *response = response_of(t), *body = json_object_get(response, "body");

        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(json_integer_value(json_object_get(response, "status")), 200);
        ck_assert_str_eq(json_string_value(json_object_get(body, "method")), "GET");
        ck_assert_str_eq(json_string_value(json_object_get(body, "path")), "/json");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(response, "headers"), "x-server")), "test");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(response, "headers"), "set-cookie")),
                         "a=1, b=2");
        test_run_free(t);
}
END_TEST

START_TEST(test_http_post_json_body_and_headers) {
        int r;
        TestRun *t = request("{\"method\": \"POST\", \"url\": \"URL/echo\","
                             " \"headers\": {\"X-Test\": \"yes\", \"X-Number\": 5, \"X-Skipped\": null},"
                             " \"body\": {\"a\": [1, 2], \"b\": \"c\"}}", &r);
        json_t *body = json_object_get(response_of(t), "body");
        json_t *sent, *expected = test_json("{\"a\": [1, 2], \"b\": \"c\"}");

        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(body, "method")), "POST");
        ck_assert_str_eq(json_string_value(json_object_get(body, "x_test")), "yes");
        ck_assert_str_eq(json_string_value(json_object_get(body, "content_type")), "application/json");
        sent = test_json(json_string_value(json_object_get(body, "body")));
        ck_assert(json_equal(sent, expected));
        json_decref(sent);
        json_decref(expected);
        test_run_free(t);
}
END_TEST

START_TEST(test_http_text_body_and_methods) {
        static const char *const methods[] = { "PUT", "PATCH", "DELETE", "OPTIONS" };
        int r;
        TestRun *t = request("{\"method\": \"post\", \"url\": \"URL/echo\", \"body\": \"plain words\","
                             " \"headers\": {\"Content-Type\": \"text/plain\"}}", &r);
        json_t *body = json_object_get(response_of(t), "body");

        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(body, "body")), "plain words");
        ck_assert_str_eq(json_string_value(json_object_get(body, "content_type")), "text/plain");
        test_run_free(t);

        /* Text that is a JSON document goes out labelled as JSON. */
        t = request("{\"method\": \"POST\", \"url\": \"URL/echo\", \"body\": \" {\\\"k\\\": 1}\"}", &r);
        body = json_object_get(response_of(t), "body");
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(body, "body")), " {\"k\": 1}");
        ck_assert_str_eq(json_string_value(json_object_get(body, "content_type")), "application/json");
        test_run_free(t);

        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                char config[128];

                snprintf(config, sizeof(config), "{\"method\": \"%s\", \"url\": \"URL/echo\"}", methods[i]);
                t = request(config, &r);
                ck_assert_int_eq(r, 0);
                ck_assert_str_eq(json_string_value(json_object_get(json_object_get(response_of(t), "body"), "method")),
                                 methods[i]);
                test_run_free(t);
        }

        t = request("{\"method\": \"HEAD\", \"url\": \"URL/text\"}", &r);
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(json_integer_value(json_object_get(response_of(t), "status")), 200);
        ck_assert_str_eq(json_string_value(json_object_get(response_of(t), "body")), "");
        test_run_free(t);
}
END_TEST

START_TEST(test_http_text_and_binary_responses) {
        int r;
        TestRun *t = request("{\"url\": \"URL/text\"}", &r);

        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(response_of(t), "body")), "hello world");
        test_run_free(t);

        t = request("{\"url\": \"URL/binary\"}", &r);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(response_of(t), "body")), "ab\xef\xbf\xbd\xef\xbf\xbd" "c");
        test_run_free(t);

        /* Said to be JSON but is not: the text. */
        t = request("{\"url\": \"URL/not-json\"}", &r);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(response_of(t), "body")), "not json");
        test_run_free(t);
}
END_TEST

START_TEST(test_http_error_status) {
        int r;
        TestRun *t = request("{\"url\": \"URL/status/404\"}", &r);

        /* By default an error status is an answer like another. */
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(json_integer_value(json_object_get(response_of(t), "status")), 404);
        ck_assert_str_eq(json_string_value(json_object_get(response_of(t), "body")), "not here");
        test_run_free(t);

        t = request("{\"url\": \"URL/status/404\", \"fail_on_error\": true}", &r);
        ck_assert_failed(t, r, "http");
        ck_assert_ptr_nonnull(strstr(t->run.error, "404"));
        ck_assert_ptr_nonnull(strstr(t->run.error, "not here"));
        ck_assert(!t->run.retryable);
        test_run_free(t);

        t = request("{\"url\": \"URL/status/503\", \"fail_on_error\": \"true\"}", &r);
        ck_assert_failed(t, r, "http");
        ck_assert(t->run.retryable);
        test_run_free(t);

        t = request("{\"url\": \"URL/status/503\"}", &r);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(response_of(t), "body"), "error")), "busy");
        test_run_free(t);
}
END_TEST

START_TEST(test_http_redirects) {
        int r;
        TestRun *t = request("{\"url\": \"URL/redirect\"}", &r);

        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(json_integer_value(json_object_get(response_of(t), "status")), 200);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(response_of(t), "body"), "path")), "/json");
        test_run_free(t);

        /* A redirect may not lead out of http and https. */
        t = request("{\"url\": \"URL/redirect-file\"}", &r);
        ck_assert_int_lt(r, 0);
        ck_assert_ptr_null(t->run.output);
        ck_assert_ptr_null(strstr(t->run.error, "root:"));
        test_run_free(t);
}
END_TEST

START_TEST(test_http_private_network_refused) {
        int r;
        TestRun *t = request("{\"url\": \"URL/json\", \"allow_private_network\": false}", &r);

        /* The test server listens on loopback: refused before a byte is sent. */
        ck_assert_failed(t, r, "http");
        ck_assert(!t->run.retryable);
        ck_assert_ptr_nonnull(strstr(t->run.error, "private network"));
        test_run_free(t);

        t = request("{\"url\": \"URL/json\", \"allow_private_network\": true}", &r);
        ck_assert_int_eq(r, 0);
        test_run_free(t);
}
END_TEST

START_TEST(test_http_bad_settings) {
        static const char *const configs[] = {
                "{}",
                "{\"url\": \"file:///etc/passwd\"}",
                "{\"url\": \"ftp://127.0.0.1/x\"}",
                "{\"url\": \"gopher://127.0.0.1/x\"}",
                "{\"url\": \"URL/json\", \"method\": \"BREW\"}",
                "{\"url\": \"URL/json\", \"headers\": {\"X-Evil\": \"a\\r\\nX-Injected: 1\"}}",
                "{\"url\": \"URL/json\", \"headers\": {\"Bad Name\": \"a\"}}",
                "{\"url\": \"URL/json\", \"headers\": [\"X: y\"]}",
                "{\"url\": \"URL/json\", \"timeout\": 0}",
                "{\"url\": \"URL/json\", \"timeout\": \"soon\"}",
                "{\"url\": \"URL/js on\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                int r;
                TestRun *t = request(configs[i], &r);

                ck_assert_msg(r < 0 && t->run.error_code && streq(t->run.error_code, "config"),
                              "%s: r=%d code=%s error=%s", configs[i], r, t->run.error_code ?: "-", t->run.error ?: "-");
                ck_assert(!t->run.retryable);
                test_run_free(t);
        }
}
END_TEST

START_TEST(test_http_response_too_large) {
        int r;
        TestRun *t = request("{\"url\": \"URL/big\"}", &r);

        ck_assert_failed(t, r, "limit");
        ck_assert_ptr_null(t->run.output);
        test_run_free(t);
}
END_TEST

START_TEST(test_http_timeout) {
        usec_t start = now_monotonic_usec(), elapsed;
        int r;
        TestRun *t = request("{\"url\": \"URL/slow\", \"timeout\": 1}", &r);

        elapsed = now_monotonic_usec() - start;
        ck_assert_failed(t, r, "http");
        ck_assert_ptr_nonnull(strstr(t->run.error, "timed out"));
        ck_assert_msg(elapsed >= 900000 && elapsed < 3000000, "took %llu us", (unsigned long long) elapsed);
        test_run_free(t);
}
END_TEST

typedef struct Canceller {
        TestRun *t;
        usec_t after;
} Canceller;

static void *cancel_later(void *userdata) {
        Canceller *c = userdata;

        usleep((useconds_t) c->after);
        c->t->cancelled = true;
        return NULL;
}

START_TEST(test_http_cancel_mid_request) {
        char config[128];
        TestRun *t;
        Canceller c;
        pthread_t thread;
        usec_t start, elapsed;
        int r;

        snprintf(config, sizeof(config), "{\"url\": \"http://127.0.0.1:%u/slow\"}", server_port);
        t = test_run_new("http_request", config, "{}", NULL);
        c = (Canceller) { .t = t, .after = 300000 };
        ck_assert_int_eq(pthread_create(&thread, NULL, cancel_later, &c), 0);

        start = now_monotonic_usec();
        r = component_http_request(&t->run);
        elapsed = now_monotonic_usec() - start;
        pthread_join(thread, NULL);

        ck_assert_failed(t, r, "cancelled");
        ck_assert_msg(elapsed >= 250000 && elapsed < 1500000, "took %llu us", (unsigned long long) elapsed);
        test_run_free(t);
}
END_TEST

START_TEST(test_http_execution_deadline) {
        char config[128];
        TestRun *t;
        usec_t start, elapsed;
        int r;

        snprintf(config, sizeof(config), "{\"url\": \"http://127.0.0.1:%u/slow\", \"timeout\": 30}", server_port);
        t = test_run_new("http_request", config, "{}", NULL);
        start = now_monotonic_usec();
        t->run.deadline = start + 300000;
        r = component_http_request(&t->run);
        elapsed = now_monotonic_usec() - start;

        ck_assert_failed(t, r, "timeout");
        ck_assert_msg(elapsed < 1500000, "took %llu us", (unsigned long long) elapsed);
        test_run_free(t);
}
END_TEST

START_TEST(test_http_connection_refused) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(addr);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;
        char config[128];
        TestRun *t;

        /* A port that was free a moment ago and has no listener. */
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof(addr)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
        close(fd);

        snprintf(config, sizeof(config), "{\"url\": \"http://127.0.0.1:%u/\"}", ntohs(addr.sin_port));
        t = test_run_new("http_request", config, "{}", NULL);
        r = component_http_request(&t->run);
        ck_assert_failed(t, r, "http");
        ck_assert(t->run.retryable);
        ck_assert_ptr_nonnull(strstr(t->run.error, "connect"));
        test_run_free(t);
}
END_TEST

static Suite *http_suite(void) {
        Suite *s = suite_create("http_request");
        TCase *tc = tcase_create("local server");

        tcase_add_checked_fixture(tc, server_start, server_stop);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_http_get_json);
        tcase_add_test(tc, test_http_post_json_body_and_headers);
        tcase_add_test(tc, test_http_text_body_and_methods);
        tcase_add_test(tc, test_http_text_and_binary_responses);
        tcase_add_test(tc, test_http_error_status);
        tcase_add_test(tc, test_http_redirects);
        tcase_add_test(tc, test_http_private_network_refused);
        tcase_add_test(tc, test_http_bad_settings);
        tcase_add_test(tc, test_http_response_too_large);
        tcase_add_test(tc, test_http_timeout);
        tcase_add_test(tc, test_http_cancel_mid_request);
        tcase_add_test(tc, test_http_execution_deadline);
        tcase_add_test(tc, test_http_connection_refused);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
        SRunner *sr;
        int failed;

        /* The test server is local: no proxy from the environment in between. */
        for (size_t i = 0; i < ELEMENTSOF(proxies); i++)
                unsetenv(proxies[i]);

        sr = srunner_create(http_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
