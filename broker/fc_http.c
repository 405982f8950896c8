/* fc_http.c: the broker's read-only HTTP endpoint on libmicrohttpd: a thread per connection
   (an event stream waits on the view hub in its own), reading only what the broker's thread
   published to the hub, so the broker never waits for a client. */
#include "fc_http.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_metrics.h"
#include "fc_test_check.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* The page (fc_page.html), embedded at build time (fc_page.c, generated). */
extern const char fc_page_html[];
extern const size_t fc_page_html_len;

struct fc_http_t {
    struct MHD_Daemon *daemon;
    fc_view_hub_t *hub;
    char *token; /* NULL: none asked */
    int port;
};

/* --- endpoint and token ------------------------------------------------------------------ */

static bool s_parse(const char *endpoint, struct sockaddr_in *sa, char *text, size_t textsize)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        snprintf(text, textsize, "HTTP endpoint '%s' is not tcp://HOST:PORT", endpoint);
        return false;
    }
    const char *host = endpoint + 6, *colon = strrchr(host, ':');
    char name[64];
    if (!colon || (size_t)(colon - host) >= sizeof name || colon == host) {
        snprintf(text, textsize, "HTTP endpoint '%s' is not tcp://HOST:PORT", endpoint);
        return false;
    }
    memcpy(name, host, (size_t)(colon - host));
    name[colon - host] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(text, textsize, "HTTP endpoint '%s': port must be 0..65535", endpoint);
        return false;
    }
    sa->sin_port = htons((uint16_t)port);
    if (streq(name, "localhost"))
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (streq(name, "*"))
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, name, &sa->sin_addr) != 1) {
        snprintf(text, textsize, "HTTP endpoint '%s': host must be an IPv4 address, localhost or *",
                 endpoint);
        return false;
    }
    return true;
}

bool fc_http_endpoint_check(const char *endpoint, bool *loopback, char *text, size_t textsize)
{
    struct sockaddr_in sa;
    if (!s_parse(endpoint, &sa, text, textsize))
        return false;
    *loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
    return true;
}

char *fc_http_token_load(const char *path, char *text, size_t textsize)
{
    size_t len = 0;
    char *data = (char *)fc_read_file(path, FC_HTTP_MAX_TOKEN, &len);
    if (!data) {
        snprintf(text, textsize, "cannot read token file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *token = zmalloc(len + 1);
    memcpy(token, data, len);
    explicit_bzero(data, len);
    free(data);
    token[strcspn(token, "\r\n")] = '\0';
    size_t n = strlen(token);
    while (n && (token[n - 1] == ' ' || token[n - 1] == '\t'))
        token[--n] = '\0';
    if (n < FC_HTTP_MIN_TOKEN) {
        snprintf(text, textsize, "token file %s: the token (first line) must be at least %d bytes",
                 path, FC_HTTP_MIN_TOKEN);
        free(token);
        return NULL;
    }
    return token;
}

/* Constant time in the token's content: both sides hashed to one length first, so neither
   the comparison nor a length check tells an attacker how much of a guess was right. */
static bool s_token_equal(const char *given, const char *token)
{
    uint8_t a[FC_HASH_LEN], b[FC_HASH_LEN];
    fc_hash_buf(a, given, strlen(given));
    fc_hash_buf(b, token, strlen(token));
    return fc_hash_equal(a, b); /* sodium_memcmp */
}

static bool s_authorized(fc_http_t *self, struct MHD_Connection *conn)
{
    if (!self->token)
        return true;
    const char *auth =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        return s_token_equal(auth + 7, self->token);
    /* Browsers: the token as a Basic password (any user name); the page's event stream then
       carries it too, which a Bearer header set by script could not. */
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    bool ok = pass && s_token_equal(pass, self->token);
    if (user)
        MHD_free(user);
    if (pass)
        MHD_free(pass);
    return ok;
}

/* --- responses --------------------------------------------------------------------------- */

static enum MHD_Result s_queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r,
                               const char *type)
{
    if (!r)
        return MHD_NO;
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* Everything the page needs comes from here; nothing from anywhere else. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                            "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    return s_queue(conn, status, r, "text/plain; charset=utf-8");
}

static enum MHD_Result s_metrics(fc_http_t *self, struct MHD_Connection *conn)
{
    fc_view_counters_t counters;
    const fc_view_t *view = fc_view_hub_acquire(self->hub, &counters, NULL);
    fc_metrics_process_t proc;
    bool have_proc = fc_metrics_process(&proc);
    size_t len = 0;
    char *text = fc_metrics_render(view, &counters, have_proc ? &proc : NULL, &len);
    fc_view_hub_release(self->hub, &view);
    if (!text)
        return s_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(text);
    return s_queue(conn, MHD_HTTP_OK, r, FC_METRICS_CONTENT_TYPE);
}

static enum MHD_Result s_fleet_json(fc_http_t *self, struct MHD_Connection *conn)
{
    const fc_view_t *view = fc_view_hub_acquire(self->hub, NULL, NULL);
    char *copy = view ? strdup(view->json) : strdup("{}");
    fc_view_hub_release(self->hub, &view);
    if (!copy)
        return s_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(copy);
    return s_queue(conn, MHD_HTTP_OK, r, "application/json");
}

/* --- the event stream -------------------------------------------------------------------- */

/* One client's stream: each new view as one "data:" event, a comment when nothing changed
   for FC_HTTP_KEEPALIVE_MS. */
typedef struct {
    fc_view_hub_t *hub;
    uint64_t sent; /* generation of the last view sent; 0: none yet */
    char *buf;
    size_t len, off;
} s_stream_t;

/* Fills s->buf with the next event, waiting for one; false when the server stops. */
static bool s_stream_next(s_stream_t *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->off = 0;
    uint64_t gen = 0;
    const fc_view_t *view = fc_view_hub_acquire(s->hub, NULL, &gen);
    if (view && gen > s->sent) {
        /* The document is one line of JSON: a single data field. */
        s->len = view->json_len + 8;
        s->buf = malloc(s->len + 1);
        if (s->buf)
            snprintf(s->buf, s->len + 1, "data: %s\n\n", view->json);
        s->sent = gen;
    }
    fc_view_hub_release(s->hub, &view);
    if (s->buf)
        return true;
    if (!fc_view_hub_wait(s->hub, gen, FC_HTTP_KEEPALIVE_MS) && fc_view_hub_stopping(s->hub))
        return false;
    s->buf = strdup(": keepalive\n\n");
    s->len = s->buf ? strlen(s->buf) : 0;
    return s->buf != NULL;
}

static ssize_t s_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    s_stream_t *s = cls;
    while (s->off == s->len)
        if (!s_stream_next(s))
            return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void s_stream_free(void *cls)
{
    s_stream_t *s = cls;
    free(s->buf);
    free(s);
}

static enum MHD_Result s_events(fc_http_t *self, struct MHD_Connection *conn)
{
    s_stream_t *s = zmalloc(sizeof *s);
    s->hub = self->hub;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                               s_stream_read, s, s_stream_free);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    return s_queue(conn, MHD_HTTP_OK, r, "text/event-stream");
}

/* --- dispatch ---------------------------------------------------------------------------- */

static enum MHD_Result s_request(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    fc_http_t *self = cls;
    /* Nothing here writes: any method but GET and HEAD is refused before its body is read. */
    if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen("read-only: GET or HEAD\n"),
                                                                 (void *)"read-only: GET or HEAD\n",
                                                                 MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        return s_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r, "text/plain; charset=utf-8");
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a GET with a body: ignored */
        return MHD_YES;
    }
    (void)req_cls;
    if (!s_authorized(self, conn)) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            strlen("unauthorized\n"), (void *)"unauthorized\n", MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    "Basic realm=\"fleetcast\", charset=\"UTF-8\"");
        return s_queue(conn, MHD_HTTP_UNAUTHORIZED, r, "text/plain; charset=utf-8");
    }
    if (streq(url, "/metrics"))
        return s_metrics(self, conn);
    if (streq(url, "/events"))
        return s_events(self, conn);
    if (streq(url, "/fleet.json"))
        return s_fleet_json(self, conn);
    if (streq(url, "/") || streq(url, "/index.html")) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            fc_page_html_len, (void *)fc_page_html, MHD_RESPMEM_PERSISTENT);
        return s_queue(conn, MHD_HTTP_OK, r, "text/html; charset=utf-8");
    }
    return s_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* --- server ------------------------------------------------------------------------------ */

fc_http_t *fc_http_new(const char *endpoint, const char *token, fc_view_hub_t *hub, char *text,
                       size_t textsize)
{
    struct sockaddr_in sa;
    if (!s_parse(endpoint, &sa, text, textsize))
        return NULL;
    if (!token && (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        snprintf(text, textsize,
                 "HTTP endpoint %s is not loopback: it needs a token (--http-token FILE)",
                 endpoint);
        return NULL;
    }
    fc_http_t *self = zmalloc(sizeof *self);
    self->hub = hub;
    self->token = token ? strdup(token) : NULL;
    self->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL,
        NULL, s_request, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)FC_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)FC_HTTP_MAX_CONNECTIONS / 2,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(text, textsize, "cannot serve HTTP on %s: %s", endpoint, strerror(errno));
        fc_http_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : ntohs(sa.sin_port);
    return self;
}

void fc_http_destroy(fc_http_t **self_p)
{
    fc_http_t *self = *self_p;
    if (!self)
        return;
    if (self->daemon) {
        fc_view_hub_stop(self->hub); /* event streams end, so their threads can be joined */
        MHD_stop_daemon(self->daemon);
    }
    if (self->token)
        explicit_bzero(self->token, strlen(self->token));
    free(self->token);
    free(self);
    *self_p = NULL;
}

int fc_http_port(fc_http_t *self)
{
    return self->port;
}

/* --- self-test --------------------------------------------------------------------------- */

/* One request over a plain socket; the status code, and the body in body (may be NULL). */
static int s_get(int port, const char *request, char *body, size_t bodysize)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    FC_CHECK(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
    char buf[65536];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    const char *start = strstr(buf, "\r\n\r\n");
    if (body && bodysize)
        snprintf(body, bodysize, "%s", start ? start + 4 : "");
    return status;
}

void fc_http_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_http: ");
    char text[256];
    bool loop = false;
    FC_CHECK(fc_http_endpoint_check("tcp://127.0.0.1:9464", &loop, text, sizeof text) && loop);
    FC_CHECK(fc_http_endpoint_check("tcp://localhost:1", &loop, text, sizeof text) && loop);
    FC_CHECK(fc_http_endpoint_check("tcp://0.0.0.0:9464", &loop, text, sizeof text) && !loop);
    FC_CHECK(fc_http_endpoint_check("tcp://*:9464", &loop, text, sizeof text) && !loop);
    FC_CHECK(!fc_http_endpoint_check("tcp://127.0.0.1", &loop, text, sizeof text));
    FC_CHECK(!fc_http_endpoint_check("tcp://127.0.0.1:70000", &loop, text, sizeof text));
    FC_CHECK(!fc_http_endpoint_check("http://127.0.0.1:80", &loop, text, sizeof text));
    FC_CHECK(!fc_http_endpoint_check("tcp://host.example:80", &loop, text, sizeof text));

    fc_view_hub_t *hub = fc_view_hub_new();
    /* Not loopback and no token: refused. */
    FC_CHECK(!fc_http_new("tcp://0.0.0.0:0", NULL, hub, text, sizeof text));
    FC_CHECK(strstr(text, "token"));

    fc_http_t *http =
        fc_http_new("tcp://127.0.0.1:0", "0123456789abcdef-token", hub, text, sizeof text);
    FC_CHECK(http && fc_http_port(http) > 0);
    int port = fc_http_port(http);
    char body[65536];
    FC_CHECK(s_get(port, "GET /metrics HTTP/1.0\r\n\r\n", NULL, 0) == 401);
    FC_CHECK(s_get(port, "GET /metrics HTTP/1.0\r\nAuthorization: Bearer wrong\r\n\r\n", NULL, 0) ==
             401);
    FC_CHECK(s_get(port,
                   "GET /metrics HTTP/1.0\r\nAuthorization: Bearer 0123456789abcdef-toke\r\n\r\n",
                   NULL, 0) == 401);
    fc_view_counters_t c = {.broker = {.requests = 42}};
    fc_view_hub_counters(hub, &c);
    FC_CHECK(s_get(port,
                   "GET /metrics HTTP/1.0\r\nAuthorization: Bearer 0123456789abcdef-token\r\n\r\n",
                   body, sizeof body) == 200);
    FC_CHECK(strstr(body, "fleetcast_requests_total 42\n"));
    /* Basic, any user, the token as password: "x:0123456789abcdef-token". */
    FC_CHECK(s_get(port,
                   "GET / HTTP/1.0\r\nAuthorization: Basic "
                   "eDowMTIzNDU2Nzg5YWJjZGVmLXRva2Vu\r\n\r\n",
                   body, sizeof body) == 200);
    FC_CHECK(strstr(body, "<html"));
    /* Read-only: a write is refused whatever it carries. */
    FC_CHECK(s_get(port,
                   "POST /metrics HTTP/1.0\r\nAuthorization: Bearer 0123456789abcdef-token\r\n"
                   "Content-Length: 2\r\n\r\nxx",
                   NULL, 0) == 405);
    FC_CHECK(s_get(port,
                   "GET /nothing HTTP/1.0\r\nAuthorization: Bearer 0123456789abcdef-token\r\n\r\n",
                   NULL, 0) == 404);
    fc_http_destroy(&http);
    FC_CHECK(!http);
    fc_view_hub_destroy(&hub);
    printf("OK\n");
}
