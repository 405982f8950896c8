/* fc_http.h: the broker's read-only HTTP endpoint (libmicrohttpd, threads of its own):
   /metrics (Prometheus), the live fleet page at /, its server-sent events at /events and
   its document at /fleet.json, all read from a view hub the broker publishes to. */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include "fc_view_hub.h"
#include <stdbool.h>
#include <stddef.h>

#define FC_HTTP_DEFAULT "tcp://127.0.0.1:9464"
/* Connections served at once (each a thread: a page's event stream holds one). */
#define FC_HTTP_MAX_CONNECTIONS 64
/* An event stream says something at least this often, so proxies keep it open. */
#define FC_HTTP_KEEPALIVE_MS 15000
/* A token file's size limit; a token is its first line, at least FC_HTTP_MIN_TOKEN bytes. */
#define FC_HTTP_MAX_TOKEN 4096
#define FC_HTTP_MIN_TOKEN 16

typedef struct fc_http_t fc_http_t;

/* Whether endpoint ("tcp://IPV4:PORT" or "tcp://localhost:PORT") is valid, and in
   *loopback whether it binds loopback (127.0.0.0/8) only. false: not an endpoint this
   server can bind (text says why). */
bool fc_http_endpoint_check(const char *endpoint, bool *loopback, char *text, size_t textsize);
/* Reads the token from path (its first line, trailing whitespace dropped) into a malloc'd
   string; NULL with text saying why (unreadable, empty, too short). */
char *fc_http_token_load(const char *path, char *text, size_t textsize);

/* Starts serving on endpoint. token (copied; NULL: none) is the bearer token every request
   must carry, as "Authorization: Bearer TOKEN" or as a Basic password (browsers). A
   non-loopback endpoint without a token is refused (NULL). hub is borrowed and must
   outlive the server. NULL with text saying why (bind failed, bad endpoint). */
fc_http_t *fc_http_new(const char *endpoint, const char *token, fc_view_hub_t *hub, char *text,
                       size_t textsize);
/* Stops the server: wakes every event stream (fc_view_hub_stop), closes connections, joins
   the threads. Nulls *self_p; safe on NULL. */
void fc_http_destroy(fc_http_t **self_p);
/* The port bound (the endpoint's, or the one chosen for port 0). */
int fc_http_port(fc_http_t *self);

void fc_http_test(bool verbose);

#endif
