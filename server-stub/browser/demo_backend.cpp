// demo_backend.cpp - the stub's backend compiled to WebAssembly for the static demo (issue 15):
// the embedded Web PubSub emulator (Hub), the app API (AppApi: dev login, access URLs, chat and
// notifications), the transactional outbox and SqliteStore, the same code the native server runs,
// without Beast, threads or OpenSSL (jwt_portable.cpp). It runs in a (Shared)Worker and is driven
// from JavaScript (server-stub/browser/demo_worker.js) through the C functions below; a page's
// HTTP requests and WebSocket frames reach it through a MessagePort unchanged.
//
//   demo_start(dir, key, origin)  open (or create) the store under `dir`, seed the demo users
//   demo_http(request)            one HTTP request as JSON -> the response as JSON
//   demo_ws_open(id, url, proto)  a WebSocket upgrade for socket `id` -> accepted or refused
//   demo_ws_message(id, text)     a frame from socket `id`;  demo_ws_closed(id, code): it went away
//   demo_tick()                   once a second: session expiry, outbox retries
// Frames and closes to a socket go out through Module.demoSend / Module.demoClose (JS).
#include "app_api.hpp"
#include "client_endpoint.hpp"
#include "cloud_events.hpp"
#include "config.hpp"
#include "hub.hpp"
#include "io_poster.hpp"
#include "jwt.hpp"
#include "outbox.hpp"
#include "publishers.hpp"
#include "sqlite_store.hpp"

#include "core/base64.hpp"
#include "core/json_limits.hpp"

#include <emscripten.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

using namespace stub;
using nlohmann::json;

namespace {

EM_JS(void, js_ws_send, (int id, const char* text, int len), { Module.demoSend(id, UTF8ToString(text, len)); });
EM_JS(void, js_ws_close, (int id, int code, const char* reason), { Module.demoClose(id, code, UTF8ToString(reason)); });

// One page's WebSocket, on the other side of the MessagePort.
class PortSink final : public ConnectionSink {
public:
    explicit PortSink(int id) : id_(id) {}
    void send(std::shared_ptr<const std::string> text) override {
        if (!closed_) js_ws_send(id_, text->data(), static_cast<int>(text->size()));
    }
    void close(int code, const std::string& reason) override {
        if (closed_) return;
        closed_ = true;
        js_ws_close(id_, code, reason.c_str());
    }
    bool closed() const { return closed_; }

private:
    int id_;
    bool closed_ = false;
};

struct Socket {
    std::string connection_id;
    std::shared_ptr<PortSink> sink;
};

struct Backend {
    Config cfg;
    std::unique_ptr<SqliteStore> store;
    Hub hub{[] { return unix_now_ms(); }};
    std::shared_ptr<IoPoster> poster = std::make_shared<IoPoster>();
    std::unique_ptr<HubPublisher> publisher;
    std::unique_ptr<OutboxWorker> outbox;
    std::unique_ptr<AppApi> app;
    std::map<int, Socket> sockets;
    bool outbox_due = false;
    bool draining = false;
    uint64_t next_event = 0;
};

Backend* g = nullptr;

// The outbox's rows, published now (the native server's worker thread does this after a commit).
void drain_outbox() {
    if (!g || g->draining) return;
    g->draining = true;
    for (int rounds = 0; g->outbox_due && rounds < 64; ++rounds) {
        g->outbox_due = false;
        if (g->outbox->run_once(unix_now_ms()) > 0) g->outbox_due = true;
    }
    g->draining = false;
}

char* answer(const json& j) {
    const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

json response_json(const Response& r) {
    json headers = json::array();
    for (const auto& [k, v] : r.headers) headers.push_back({k, v});
    if (!r.content_type.empty()) headers.push_back({"Content-Type", r.content_type});
    return json{{"status", r.status}, {"headers", headers}, {"bodyBase64", wps::base64_encode(r.body)}};
}

} // namespace

extern "C" {

// `dir`: a folder of the module's file system that holds chat.db and the attachments; `key`: the
// demo's access key (32+ random characters, kept with the data); `origin`: the page's origin
// (scheme://host[:port], no path), the emulator's public endpoint that access URLs and token
// audiences name.
EMSCRIPTEN_KEEPALIVE int demo_start(const char* dir, const char* key, const char* origin) {
    if (g) return 1;
    auto* b = new Backend();
    b->cfg.db = std::string(dir) + "/chat.db";
    b->cfg.blob_dir = std::string(dir) + "/blobs";
    b->cfg.access_key = key;
    b->cfg.public_url = origin;
    b->cfg.quiet = true;
    try {
        b->store = std::make_unique<SqliteStore>(b->cfg.db);
        b->store->presence_reset(unix_now_ms());  // nobody is connected when the backend starts
    } catch (const std::exception& e) {
        EM_ASM({ console.error('demo backend: ' + UTF8ToString($0)); }, e.what());
        delete b;
        return 0;
    }
    b->poster->bind([](std::function<void()> work) { work(); });  // one thread: run it now
    b->publisher = std::make_unique<HubPublisher>(b->hub, b->cfg.hub, b->poster);
    b->outbox = std::make_unique<OutboxWorker>(*b->store, *b->publisher);
    b->app = std::make_unique<AppApi>(b->cfg, *b->store, [] { if (g) g->outbox_due = true; },
                                      PubSubTarget{"", b->cfg.access_key, b->cfg.hub});
    b->app->set_public_endpoint(origin);
    b->app->set_group_control([](const GroupChange& c, std::string& error) { return g->publisher->change_groups(c, error); });
    b->app->set_leave_control([](const std::string& owner, const std::string& id, std::string& error) {
        return g->publisher->close_connection(owner, id, error);
    });
    // Presence: the hub's connected/disconnected events reach the app's event handler as the
    // service's signed CloudEvents requests, in process.
    b->hub.on_system_event = [](const ConnectionInfo& c, const std::string& event, const std::string& reason) {
        if (!g || c.hub != g->cfg.hub) return;
        const char* proto = c.protocol == ClientProtocol::ReliableJson ? "json.reliable.webpubsub.azure.v1"
                            : c.protocol == ClientProtocol::Json     ? "json.webpubsub.azure.v1"
                                                                     : "";
        Request r;
        r.method = "POST";
        r.target = "/eventhandler";
        const auto headers = system_event_request(SystemEvent{event, c.hub, c.id, c.userId, proto, reason},
                                                  service_origin(g->cfg.public_url), g->cfg.access_key,
                                                  std::to_string(++g->next_event), r.body);
        for (const auto& [k, v] : headers) {
            std::string name = k;
            for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            r.headers[name] = v;
        }
        parse_target(r);
        g->app->handle(r);
    };
    g = b;
    if (g->cfg.seed) g->app->seed();
    g->outbox_due = true;
    drain_outbox();
    return 1;
}

// {"method", "target" (path and query), "headers": {name: value}, "body" (text) or "bodyBase64"}
// -> {"status", "headers": [[name, value]], "bodyBase64"}.
EMSCRIPTEN_KEEPALIVE char* demo_http(const char* request_json) {
    if (!g) return answer(response_json(error_response(503, "ServiceUnavailable", "The demo backend has not started.")));
    const json j = wps::parse_json_bounded(request_json);
    if (!j.is_object()) return answer(response_json(error_response(400, "BadRequest", "Malformed request.")));
    Request r;
    r.method = wps::string_or(j, "method", "GET");
    r.target = wps::string_or(j, "target", "/");
    if (auto h = j.find("headers"); h != j.end() && h->is_object())
        for (auto it = h->begin(); it != h->end(); ++it) {
            if (!it.value().is_string()) continue;
            std::string name = it.key();
            for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            r.headers[name] = it.value().get<std::string>();
        }
    if (auto b = j.find("bodyBase64"); b != j.end() && b->is_string()) r.body = wps::base64_decode(b->get<std::string>()).value_or("");
    else r.body = wps::string_or(j, "body");
    parse_target(r);
    Response res;
    try {
        if (r.body.size() > (r.path == "/blobs" ? g->cfg.max_blob_bytes : g->cfg.max_body_bytes))
            res = error_response(413, "PayloadTooLarge", "The request body is too large.");
        else if (auto handled = g->app->handle(r))
            res = *handled;
        else
            res = error_response(404, "NotFound", "No route for " + r.method + " " + r.path + " in the demo backend.");
    } catch (const std::exception& e) {
        res = error_response(500, "InternalServerError", e.what());
    }
    drain_outbox();
    return answer(response_json(res));
}

// A WebSocket upgrade: `url` is the access URL (path and query are what count), `protocols` the
// offered subprotocols, comma-separated. -> {"ok": true, "protocol"} or {"ok": false, "status",
// "bodyBase64"}.
EMSCRIPTEN_KEEPALIVE char* demo_ws_open(int id, const char* url, const char* protocols) {
    if (!g) return answer(json{{"ok", false}, {"status", 503}});
    Request r;
    r.method = "GET";
    const auto path = path_of_url(url);
    const std::string u(url);
    const auto q = u.find('?');
    r.target = path.value_or("/") + (q == std::string::npos ? "" : u.substr(q));
    r.headers["sec-websocket-protocol"] = protocols;
    parse_target(r);
    Response refused;
    auto up = client_upgrade(r, g->cfg.access_key, g->hub, unix_now_s(), refused);
    if (!up) return answer(json{{"ok", false}, {"status", refused.status}, {"bodyBase64", wps::base64_encode(refused.body)}});
    auto sink = std::make_shared<PortSink>(id);
    Socket s{"", sink};
    if (!up->recover_id.empty()) {
        std::string error;
        g->sockets[id] = s;
        if (!g->hub.recover(up->connect.hub, up->recover_id, up->recover_token, up->connect.protocol, sink, error)) {
            g->sockets.erase(id);
            json ok{{"ok", true}, {"protocol", up->subprotocol}, {"closeCode", 1008}, {"closeReason", error.substr(0, 120)}};
            return answer(ok);  // accepted, then closed: how the service refuses a recovery
        }
        g->sockets[id].connection_id = up->recover_id;
    } else {
        g->sockets[id] = s;
        g->sockets[id].connection_id = g->hub.connect(up->connect, sink);
    }
    drain_outbox();
    return answer(json{{"ok", true}, {"protocol", up->subprotocol}});
}

EMSCRIPTEN_KEEPALIVE void demo_ws_message(int id, const char* text) {
    if (!g) return;
    auto it = g->sockets.find(id);
    if (it == g->sockets.end() || it->second.sink->closed()) return;
    g->hub.on_frame(it->second.connection_id, text, false);
    drain_outbox();
}

// Socket `id` went away (the page closed it with `code`, or its port is gone: 1006).
EMSCRIPTEN_KEEPALIVE void demo_ws_closed(int id, int code) {
    if (!g) return;
    auto it = g->sockets.find(id);
    if (it == g->sockets.end()) return;
    const Socket s = it->second;
    g->sockets.erase(it);
    g->hub.on_socket_closed(s.connection_id, s.sink.get(), code == 1000);
    drain_outbox();
}

EMSCRIPTEN_KEEPALIVE void demo_tick() {
    if (!g) return;
    g->hub.tick();
    g->outbox_due = true;  // retries that came due
    drain_outbox();
}

EMSCRIPTEN_KEEPALIVE void demo_free(char* p) { std::free(p); }

} // extern "C"
