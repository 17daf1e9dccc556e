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
//   demo_tick()                   four times a second: session expiry, outbox retries, the demo users
//   demo_drop(id)                 drop socket `id` as a lost network would (the Demo menu)
// Frames and closes to a socket go out through Module.demoSend / Module.demoClose (JS).
//
// So that one visitor finds it alive, the seeded users without a page of their own act as scripted
// users through the same paths a client uses: a hub connection of theirs sends typing signals to
// the conversation's typing group, then their reply goes through POST /chat/reply with their own
// session. Now and then the backend notifies a user who has a page open.
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
#include "core/chat_wire.hpp"
#include "core/json_limits.hpp"

#include <emscripten.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

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
    std::string connection_id, user;
    std::shared_ptr<PortSink> sink;
};

// Frames to a scripted user's own connection: nobody reads them.
class NullSink final : public ConnectionSink {
public:
    void send(std::shared_ptr<const std::string>) override {}
    void close(int, const std::string&) override {}
};

// A scripted user: their session (renewed before it expires) and their hub connection while they
// are active (closed once idle, so that they do not show online for ever).
struct ScriptUser {
    std::string token;
    int64_t token_exp_s = 0;
    std::string connection;
    std::shared_ptr<NullSink> sink;
    int64_t active_ms = 0;  // their last typing signal or message
};
constexpr int64_t kScriptIdleMs = 20000;     // online this long after their last action
constexpr int64_t kTokenRenewBeforeS = 600;  // a session this close to expiry is renewed

struct Scheduled {
    int64_t due_ms;
    std::function<void()> run;
};

// What the scripted users answer, in turn (every script: the panel shapes them all).
const char* const kReplies[] = {
    "Sounds good to me!",
    "Nice, thanks for the update 👍",
    "Let me check and get back to you.",
    "¡Perfecto! Lo reviso ahora.",
    "了解しました。後で確認します。",
    "Agreed — let's ship it.",
    "Can you say a bit more about that?",
    "Très bien, merci !",
};
const char* const kNotices[][2] = {
    {"Design review moved to 3 pm", "The room changed too: Aurora, 2nd floor."},
    {"Build #128 passed", "All 738 checks are green."},
    {"Carol shared a file", "Quarterly plan (draft).pdf"},
    {"Reminder: stand-up in 10 minutes", ""},
    {"Bob reacted to your message", "👍"},
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
    // The scripted users: their sessions and hub connections, what they will do, and when.
    std::map<std::string, ScriptUser> scripted;
    std::vector<Scheduled> scheduled;
    std::map<std::string, int64_t> busy_until;  // a scripted user answers one message at a time
    std::size_t next_reply = 0, next_notice = 0;
    int64_t next_notice_ms = 0;
};

Backend* g = nullptr;

// The outbox's rows, published now (the native server's worker thread does this after a commit).
void drain_outbox() {
    if (!g || g->draining) return;
    struct Guard {
        ~Guard() { g->draining = false; }
    } guard;
    g->draining = true;
    for (int rounds = 0; g->outbox_due && rounds < 64; ++rounds) {
        g->outbox_due = false;
        if (g->outbox->run_once(unix_now_ms()) > 0) g->outbox_due = true;
    }
}

// An exception out of an entry point would unwind through JavaScript (and skip ccall's stack
// restore): each entry point runs its body through this, which logs and goes on.
template <class F> void guarded(const char* where, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        EM_ASM({ console.error("demo backend: " + UTF8ToString($0) + ": " + UTF8ToString($1)); }, where, e.what());
    } catch (...) {
        EM_ASM({ console.error("demo backend: " + UTF8ToString($0) + " failed"); }, where);
    }
}

// Header names as the native server hands them over: lower case.
void lower(std::string& name) {
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
}

// A request to the app as the native server would hand it over.
Response app_request(const std::string& method, const std::string& target, const std::string& token, const json& body) {
    Request r;
    r.method = method;
    r.target = target;
    r.headers["content-type"] = "application/json";
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    parse_target(r);
    auto res = g->app->handle(r);
    return res ? *res : error_response(404, "NotFound", "no route");
}

// Sockets the hub closed itself (a leave, a replaced session, a policy close) go from the map.
void prune_sockets() {
    for (auto it = g->sockets.begin(); it != g->sockets.end();)
        it = it->second.sink->closed() ? g->sockets.erase(it) : std::next(it);
}

bool has_page(const std::string& user) {
    prune_sockets();
    for (const auto& [id, s] : g->sockets)
        if (s.user == user) return true;
    return false;
}

// A scripted user's session token: signed in at first use, renewed before it expires (the
// demo may stay open for longer than a session lasts).
const std::string& script_token(const std::string& user) {
    ScriptUser& u = g->scripted[user];
    if (u.token.empty() || u.token_exp_s - unix_now_s() < kTokenRenewBeforeS) {
        const Response r = app_request("POST", "/auth/dev-login", "", json{{"userId", user}});
        const json j = wps::parse_json_bounded(r.body);
        u.token = wps::string_or(j, "token");
        u.token_exp_s = j.is_object() && j.value("expiresAt", json()).is_number_integer() ? j["expiresAt"].get<int64_t>() : 0;
    }
    return u.token;
}
// Their hub connection, opened when they act (which makes them online).
const std::string& script_connection(const std::string& user) {
    ScriptUser& u = g->scripted[user];
    u.active_ms = unix_now_ms();
    if (u.connection.empty() || !g->hub.connection_exists(g->cfg.hub, u.connection)) {
        Hub::Connect c;
        c.hub = g->cfg.hub;
        c.userId = user;
        c.protocol = ClientProtocol::Json;
        c.roles = {"webpubsub.sendToGroups.conversation:*:typing"};  // typing signals only
        u.sink = std::make_shared<NullSink>();
        u.connection = g->hub.connect(c, u.sink);
    }
    return u.connection;
}
// Scripted users idle for a while leave, as a person closing the app would (presence follows).
// Returns whether one left (the store changed).
bool close_idle_scripts(int64_t now) {
    bool closed = false;
    for (auto& [user, u] : g->scripted) {
        if (u.connection.empty() || now - u.active_ms < kScriptIdleMs || g->busy_until[user] > now) continue;
        const std::string id = std::exchange(u.connection, std::string());
        const auto sink = std::exchange(u.sink, nullptr);
        if (g->hub.connection_exists(g->cfg.hub, id)) {
            g->hub.on_socket_closed(id, sink.get(), true);
            closed = true;
        }
    }
    return closed;
}

void send_typing(const std::string& user, const std::string& conversation) {
    const json frame{{"type", "sendToGroup"}, {"group", chat::typing_group(conversation)}, {"dataType", "json"},
                     {"data", {{"type", "typing"}, {"userId", user}}}, {"noEcho", true}};
    g->hub.on_frame(script_connection(user), frame.dump(-1, ' ', false, json::error_handler_t::replace));
}

// A message someone with a page posted: one member without a page of their own types for a
// moment, then answers.
void script_reply(const json& message) {
    const std::string conversation = wps::string_or(message, "conversationId");
    const std::string sender = wps::string_or(message, "senderId");
    if (conversation.empty() || !has_page(sender)) return;  // scripted users do not answer each other
    const int64_t now = unix_now_ms();
    std::string who;
    for (const auto& m : g->store->members(conversation))
        if (m != sender && !has_page(m) && g->busy_until[m] <= now) {
            who = m;
            break;
        }
    if (who.empty()) return;
    const std::string reply = kReplies[g->next_reply++ % (sizeof kReplies / sizeof kReplies[0])];
    const int64_t typing_ms = std::min<int64_t>(1200 + 35 * static_cast<int64_t>(reply.size()), 3500);
    const int64_t start = now + 700;
    g->busy_until[who] = start + typing_ms + 500;
    for (int64_t t = start; t < start + typing_ms; t += 2000)  // a signal every 2 s, as a typing client sends
        g->scheduled.push_back({t, [who, conversation] { send_typing(who, conversation); }});
    const std::string id = "demo-" + std::to_string(now) + "-" + who;
    g->scheduled.push_back({start + typing_ms, [who, conversation, reply, id] {
        script_connection(who);  // online while they answer
        const json body{{"conversationId", conversation}, {"message", reply}, {"clientMessageId", id}};
        if (app_request("POST", "/chat/reply", script_token(who), body).status == 401) {
            g->scripted[who].token.clear();  // a session the backend no longer takes (a new access key): once more
            app_request("POST", "/chat/reply", script_token(who), body);
        }
    }});
}

// Now and then (the first about 20 s after someone opened a page, then every 60-120 s) the
// backend notifies everyone who has a page open.
bool maybe_notify(int64_t now) {
    prune_sockets();
    std::set<std::string> users;
    for (const auto& [id, s] : g->sockets)
        if (!s.user.empty()) users.insert(s.user);
    if (users.empty()) {
        g->next_notice_ms = 0;
        return false;
    }
    if (g->next_notice_ms == 0) g->next_notice_ms = now + 20000;
    if (now < g->next_notice_ms) return false;
    const auto& n = kNotices[g->next_notice++ % (sizeof kNotices / sizeof kNotices[0])];
    for (const auto& user : users) {
        Request r;
        r.method = "POST";
        r.target = "/notifications";
        r.body = json{{"title", n[0]}, {"body", n[1]}, {"target", {{"kind", "user"}, {"id", user}}}}.dump();
        parse_target(r);
        const Response res = g->app->create_notification_as_backend(r);
        if (res.status >= 300) EM_ASM({ console.warn("demo: a notification was refused: " + UTF8ToString($0)); }, res.body.c_str());
    }
    g->next_notice_ms = now + 60000 + static_cast<int64_t>(g->next_notice % 3) * 30000;
    return true;
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
            lower(name);
            r.headers[name] = v;
        }
        parse_target(r);
        g->app->handle(r);
    };
    g = b;
    bool seeded = true;
    try {
        if (g->cfg.seed) g->app->seed();
    } catch (const std::exception& e) {  // a store the seed cannot write: no backend (the worker starts afresh)
        EM_ASM({ console.error("demo backend: seed: " + UTF8ToString($0)); }, e.what());
        seeded = false;
    }
    if (!seeded) {
        g = nullptr;
        delete b;
        return 0;
    }
    g->outbox_due = true;
    guarded("start", drain_outbox);
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
            lower(name);
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
    guarded("http", [&] {
        if (r.path == "/chat/reply" && r.method == "POST" && res.status == 201) {
            const json sent = wps::parse_json_bounded(res.body);
            if (sent.is_object() && sent.contains("message")) script_reply(sent["message"]);
        }
        drain_outbox();
    });
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
    Socket s{"", up->connect.userId, sink};
    json result{{"ok", true}, {"protocol", up->subprotocol}};
    guarded("ws-open", [&] {
    if (!up->recover_id.empty()) {
        std::string error;
        g->sockets[id] = s;
        if (!g->hub.recover(up->connect.hub, up->recover_id, up->recover_token, up->connect.protocol, sink, error)) {
            g->sockets.erase(id);
            // Accepted, then closed: how the service refuses a recovery.
            result = json{{"ok", true}, {"protocol", up->subprotocol}, {"closeCode", 1008}, {"closeReason", error.substr(0, 120)}};
            return;
        }
        g->sockets[id].connection_id = up->recover_id;
        for (const auto& c : g->hub.connections())
            if (c.id == up->recover_id) g->sockets[id].user = c.userId;
    } else {
        g->sockets[id] = s;
        g->sockets[id].connection_id = g->hub.connect(up->connect, sink);
    }
    drain_outbox();
    });
    return answer(result);
}

EMSCRIPTEN_KEEPALIVE void demo_ws_message(int id, const char* text) {
    if (!g) return;
    auto it = g->sockets.find(id);
    if (it == g->sockets.end() || it->second.sink->closed()) return;
    const std::string conn = it->second.connection_id;
    guarded("ws-message", [&] {
        g->hub.on_frame(conn, text, false);
        drain_outbox();
    });
}

// Socket `id` went away (the page closed it with `code`, or its port is gone: 1006).
EMSCRIPTEN_KEEPALIVE void demo_ws_closed(int id, int code) {
    if (!g) return;
    auto it = g->sockets.find(id);
    if (it == g->sockets.end()) return;
    const Socket s = it->second;
    g->sockets.erase(it);
    guarded("ws-closed", [&] {
        g->hub.on_socket_closed(s.connection_id, s.sink.get(), code == 1000);
        drain_outbox();
    });
}

// Returns 1 when it ran something that may have written to the store (the worker saves then).
EMSCRIPTEN_KEEPALIVE int demo_tick() {
    if (!g) return 0;
    bool wrote = false;
    guarded("tick", [&] {
    g->hub.tick();
    const int64_t now = unix_now_ms();
    std::vector<Scheduled> due;
    for (auto it = g->scheduled.begin(); it != g->scheduled.end();) {
        if (it->due_ms <= now) {
            due.push_back(std::move(*it));
            it = g->scheduled.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& d : due) guarded("scheduled", d.run);
    wrote = !due.empty() || maybe_notify(now);
    wrote = close_idle_scripts(now) || wrote;
    g->outbox_due = true;  // retries that came due
    drain_outbox();
    });
    return wrote ? 1 : 0;
}

// The Demo menu's "Drop the connection": socket `id` goes away as on a lost network (1006, no
// close handshake), so a reliable session waits for its recovery and the page shows it.
EMSCRIPTEN_KEEPALIVE void demo_drop(int id) {
    if (!g) return;
    auto it = g->sockets.find(id);
    if (it == g->sockets.end()) return;
    const Socket s = it->second;
    g->sockets.erase(it);
    s.sink->close(1006, "The demo dropped the connection.");
    guarded("drop", [&] {
        g->hub.on_socket_closed(s.connection_id, s.sink.get(), false);
        drain_outbox();
    });
}

EMSCRIPTEN_KEEPALIVE void demo_free(char* p) { std::free(p); }

} // extern "C"
