/* The HTTP server: libwebsockets drives the main loop, sd-event (signals, timers, D-Bus,
 * listening sockets) is nested in it through its epoll fd. Listening sockets are always
 * ours — bound here or passed by systemd — and accepted connections are handed to lws, so
 * socket activation and manual starts share one code path. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

typedef struct ExecutionWatch ExecutionWatch;
typedef struct Manager Manager;
typedef struct Server Server;
typedef struct WsHub WsHub;

int server_new(Manager *m, Server **ret);
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/* Binds and listens on host:port (host NULL or "" = all addresses). */
int server_listen_tcp(Server *s, const char *host, uint16_t port);
/* Binds and listens on a unix socket path, replacing a stale socket file. */
int server_listen_unix(Server *s, const char *path);
/* Serves an already listening socket (from systemd); takes ownership of fd. */
int server_adopt_listen_fd(Server *s, int fd);
/* Human-readable list of what we listen on, for STATUS= and the log. */
const char *server_describe(Server *s);
/* Where a client on this host reaches the server: *ret_base_url ("http://127.0.0.1:8080",
 * loopback for a wildcard address) and NULL *ret_unix_path, or, with no TCP listener on
 * loopback or every address, a unix socket's path with "http://localhost". -ENXIO when no
 * listener can be reached so (none, or only abstract sockets). */
int server_local_address(Server *s, char **ret_base_url, char **ret_unix_path);

/* Closes the listening sockets: no new connections. */
void server_stop_accepting(Server *s);
/* Requests whose headers arrived and whose response has not been sent yet (deferred ones
 * included). */
unsigned server_requests_in_flight(Server *s);

/* The WebSocket hub serving /ws/, owned by the server (see ws-hub.h). */
WsHub *server_hub(Server *s);
/* The watches for the end of executions (sync webhooks), owned by the server (see
 * execution-watch.h). */
ExecutionWatch *server_execution_watch(Server *s);
/* The broker's subscriber (a BrokerMessageFunc, userdata: the server): hands every event to
 * the WebSocket hub and to the execution watches. */
void server_broker_message(const char *channel, const char *message, size_t len, json_t *parsed, void *userdata);

/* CLOCK_MONOTONIC time of the last request's end (or of the server's start). */
uint64_t server_last_activity_usec(Server *s);

/* Runs lws and sd-event until *stopping is set (by an sd-event handler) and no request is
 * in flight any more, or until *forced is set. */
int server_run(Server *s, const bool *stopping, const bool *forced);
