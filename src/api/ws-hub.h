/* The WebSocket endpoint GET /ws/?token=<api key> (docs/api.md "WebSocket"): clients
 * subscribe to channels ("workflow:<slug>", "execution:<id>") they may read, and the hub
 * fans out every event the broker delivers on a channel to its subscribers.
 *
 * Everything here runs on the I/O thread. Each client has a bounded queue; a client that
 * does not keep up is dropped, so a slow reader never holds back the daemon. */
#pragma once

#include <libwebsockets.h>
#include <stddef.h>

#include "common/macro.h"
#include "common/time-util.h"

typedef struct Manager Manager;
typedef struct WsHub WsHub;
typedef struct WsClient WsClient;

int ws_hub_new(Manager *m, WsHub **ret);
/* Call after the lws context is gone (it reports the clients' ends to the hub). */
WsHub *ws_hub_free(WsHub *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(WsHub *, ws_hub_free);

/* The lws callback of a WebSocket connection. slot is the connection's own storage for its
 * client (zeroed by lws); the hub fills it at LWS_CALLBACK_ESTABLISHED and clears it when
 * the connection closes. Handles FILTER_PROTOCOL_CONNECTION (only /ws and /ws/ are
 * accepted), ESTABLISHED, RECEIVE, SERVER_WRITEABLE and CLOSED; other reasons answer 0. */
int ws_hub_callback(WsHub *h, struct lws *wsi, enum lws_callback_reasons reason, WsClient **slot,
                    void *in, size_t len);

/* A BrokerMessageFunc (userdata: the hub): queues message for the channel's subscribers. */
void ws_hub_broker_message(const char *channel, const char *message, size_t len, void *userdata);

/* Connected clients, and when the last one left (CLOCK_MONOTONIC µs, 0 if none ever did):
 * the daemon does not exit idle while clients are connected. */
unsigned ws_hub_clients(const WsHub *h);
usec_t ws_hub_last_activity_usec(const WsHub *h);
