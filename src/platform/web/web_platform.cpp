// web_platform.cpp - see web_platform.hpp.
#include "web_platform.hpp"

#include <emscripten.h>
#include <emscripten/fetch.h>
#include <emscripten/websocket.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace web {

// ---- time -----------------------------------------------------------------------------------
uint64_t BrowserScheduler::now_ms() { return static_cast<uint64_t>(emscripten_get_now()); }

wps::TimerId BrowserScheduler::after(uint64_t delay_ms, std::function<void()> fn) {
    auto* t = new Timer{this, next_++, 0, std::move(fn)};
    t->em_id = emscripten_set_timeout(&BrowserScheduler::fire, static_cast<double>(delay_ms), t);
    timers_[t->id] = t;
    return t->id;
}

void BrowserScheduler::cancel(wps::TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    emscripten_clear_timeout(it->second->em_id);
    delete it->second;
    timers_.erase(it);
}

void BrowserScheduler::fire(void* user) {
    auto* t = static_cast<Timer*>(user);
    t->owner->timers_.erase(t->id);
    std::unique_ptr<Timer> owned(t);
    t->fn();
}

// ---- WebSocket ------------------------------------------------------------------------------
namespace {

// Text frames go into wasm through TextEncoder.encodeInto and one reused buffer
// (web_ws_buffer). The library's own handler measures and copies every frame in JS
// (lengthBytesUTF8, then stringToUTF8, a character at a time): a quarter of the time a chat
// message took from the socket to the model (bench/ingest.mjs). Binary frames, and a build
// where the library's socket table is not reachable, keep the library's handler.
EM_JS(int, js_ws_fast_text, (int socket_id, void* socket), {
    if (typeof WS === "undefined" || !WS.sockets || !WS.sockets[socket_id] || typeof TextEncoder !== "function") return 0;
    var ws = WS.sockets[socket_id];
    var library = ws.onmessage;
    var fast = Module.wsFast = Module.wsFast || { encoder: new TextEncoder() };
    ws.onmessage = function (e) {
        // Binary frames, and text beyond 1 MB (rare; the buffer stays small), the library's way.
        if (typeof e.data !== "string" || e.data.length > 1048576) return library.call(ws, e);
        var cap = e.data.length * 3;  // UTF-16 units to UTF-8 bytes: at most 3 each
        var buf = _web_ws_buffer(cap);
        var r = fast.encoder.encodeInto(e.data, HEAPU8.subarray(buf, buf + cap));
        _web_ws_text(socket, buf, r.written);
    };
    return 1;
});


class EmSocket final : public wps::Socket {
public:
    EmSocket(const std::string& url, const std::string& protocol, wps::SocketCallbacks cb) : cb_(std::move(cb)) {
        EmscriptenWebSocketCreateAttributes attr;
        emscripten_websocket_init_create_attributes(&attr);
        attr.url = url.c_str();
        attr.protocols = protocol.empty() ? nullptr : protocol.c_str();
        attr.createOnMainThread = EM_TRUE;
        ws_ = emscripten_websocket_new(&attr);
        if (ws_ <= 0) {
            // Report asynchronously, as a browser would for a refused connection.
            failed_timer_ = emscripten_set_timeout([](void* self) {
                auto* s = static_cast<EmSocket*>(self);
                s->failed_timer_ = 0;
                if (s->cb_.on_close) s->cb_.on_close(1006, "the browser refused to open the WebSocket");
            }, 0, this);
            return;
        }
        emscripten_websocket_set_onopen_callback(ws_, this, [](int, const EmscriptenWebSocketOpenEvent*, void* u) -> EM_BOOL {
            auto* s = static_cast<EmSocket*>(u);
            if (s->cb_.on_open) s->cb_.on_open();
            return EM_TRUE;
        });
        emscripten_websocket_set_onmessage_callback(ws_, this, [](int, const EmscriptenWebSocketMessageEvent* e, void* u) -> EM_BOOL {
            auto* s = static_cast<EmSocket*>(u);
            std::string text(reinterpret_cast<const char*>(e->data), e->numBytes);
            while (!text.empty() && text.back() == '\0') text.pop_back();
            if (s->cb_.on_message) s->cb_.on_message(std::move(text));
            return EM_TRUE;
        });
        js_ws_fast_text(ws_, this);
        emscripten_websocket_set_onclose_callback(ws_, this, [](int, const EmscriptenWebSocketCloseEvent* e, void* u) -> EM_BOOL {
            auto* s = static_cast<EmSocket*>(u);
            s->closed_ = true;
            // Copy what we need first: the handler usually destroys this socket.
            auto on_close = s->cb_.on_close;
            const int code = e->code;
            const std::string reason = e->reason;
            if (on_close) on_close(code, reason);
            return EM_TRUE;
        });
    }
    ~EmSocket() override {
        if (failed_timer_) emscripten_clear_timeout(failed_timer_);
        if (ws_ > 0) {
            if (!closed_) emscripten_websocket_close(ws_, 1000, "");
            emscripten_websocket_delete(ws_);  // detaches every callback
        }
    }
    void received(std::string text) {
        if (cb_.on_message) cb_.on_message(std::move(text));
    }
    void send(const std::string& text) override {
        if (ws_ > 0 && !closed_) emscripten_websocket_send_utf8_text(ws_, text.c_str());
    }
    void close(int code, const std::string& reason) override {
        if (ws_ > 0 && !closed_) {
            // Browsers only allow 1000 and 3000-4999 from script.
            const unsigned short c = (code == 1000 || (code >= 3000 && code <= 4999)) ? static_cast<unsigned short>(code) : 4000;
            emscripten_websocket_close(ws_, c, reason.substr(0, 120).c_str());
            closed_ = true;
        }
    }

private:
    wps::SocketCallbacks cb_;
    EMSCRIPTEN_WEBSOCKET_T ws_ = 0;
    bool closed_ = false;
    long failed_timer_ = 0;
};

} // namespace

// The text frame js_ws_fast_text put in the buffer, for its socket (copied before anything runs).
extern "C" EMSCRIPTEN_KEEPALIVE char* web_ws_buffer(int bytes) {
    static std::vector<char> buffer;
    if (buffer.size() < static_cast<std::size_t>(bytes) + 1) buffer.resize(static_cast<std::size_t>(bytes) + 1);
    return buffer.data();
}
extern "C" EMSCRIPTEN_KEEPALIVE void web_ws_text(void* socket, const char* data, int bytes) {
    static_cast<EmSocket*>(socket)->received(std::string(data, static_cast<std::size_t>(bytes)));
}

wps::SocketFactory browser_socket_factory() {
    return [](const std::string& url, const std::string& protocol, wps::SocketCallbacks cb) {
        return std::unique_ptr<wps::Socket>(new EmSocket(url, protocol, std::move(cb)));
    };
}

// ---- fetch ----------------------------------------------------------------------------------
namespace {
struct FetchCtx {
    wps::HttpRequest req;
    std::vector<std::string> header_store;
    std::vector<const char*> headers;
    std::function<void(wps::HttpResponse)> done;
};

void finish(emscripten_fetch_t* f, bool network_ok) {
    std::unique_ptr<FetchCtx> ctx(static_cast<FetchCtx*>(f->userData));
    wps::HttpResponse res;
    res.status = network_ok || f->status != 0 ? f->status : 0;
    if (f->data && f->numBytes > 0) res.body.assign(f->data, static_cast<std::size_t>(f->numBytes));
    if (res.status == 0) res.error = "network error (server unreachable or request blocked)";
    emscripten_fetch_close(f);
    if (ctx->done) ctx->done(std::move(res));
}
} // namespace

namespace {
// A request that outlives the page: the browser's own fetch with keepalive (emscripten fetch has
// no such flag). Nothing waits for its answer.
EM_JS(void, js_keepalive_fetch, (const char* method, const char* url, const char* headers_json, const char* body, int body_len), {
    try {
        var init = { method: UTF8ToString(method), headers: JSON.parse(UTF8ToString(headers_json)), keepalive: true,
                     credentials: 'same-origin' };
        if (body_len > 0) init.body = UTF8ToString(body, body_len);
        fetch(UTF8ToString(url), init).catch(function () {});
    } catch (e) {
        // No fetch, or a refused request: the socket's own close is the only goodbye then.
    }
});
} // namespace

void FetchHttpClient::send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) {
    if (request.keepalive) {
        nlohmann::json headers = nlohmann::json::object();
        for (auto& [k, v] : request.headers) headers[k] = v;
        js_keepalive_fetch(request.method.c_str(), request.url.c_str(), headers.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(),
                           request.body.data(), static_cast<int>(request.body.size()));
        return;
    }
    auto* ctx = new FetchCtx{std::move(request), {}, {}, std::move(done)};
    for (auto& [k, v] : ctx->req.headers) {
        ctx->header_store.push_back(k);
        ctx->header_store.push_back(v);
    }
    for (auto& s : ctx->header_store) ctx->headers.push_back(s.c_str());
    ctx->headers.push_back(nullptr);
    emscripten_fetch_attr_t attr;
    emscripten_fetch_attr_init(&attr);
    std::strncpy(attr.requestMethod, ctx->req.method.c_str(), sizeof(attr.requestMethod) - 1);
    attr.attributes = EMSCRIPTEN_FETCH_LOAD_TO_MEMORY;
    attr.requestHeaders = ctx->headers.data();
    attr.timeoutMSecs = static_cast<unsigned long>(ctx->req.timeout_ms);
    if (!ctx->req.body.empty()) {
        attr.requestData = ctx->req.body.data();
        attr.requestDataSize = ctx->req.body.size();
    }
    attr.userData = ctx;
    attr.onsuccess = [](emscripten_fetch_t* f) { finish(f, true); };
    attr.onerror = [](emscripten_fetch_t* f) { finish(f, false); };
    emscripten_fetch(&attr, ctx->req.url.c_str());
}

// ---- the static demo: HTTP and WebSocket over a MessagePort to the in-browser backend ---------
namespace {

// Module.demo: the port to the worker and what waits for its answers. Messages to the worker:
//   {type: 'http', id, method, target, headers, body: Uint8Array}
//   {type: 'ws-open', sid, url, protocol} / {type: 'ws-send', sid, text} / {type: 'ws-close', sid, code, reason}
// and from it: {type: 'http', id, status, headers: [[name, value]], body: Uint8Array}, {type: 'ws-open',
// sid, ok, protocol, status}, {type: 'ws-message', sid, text}, {type: 'ws-close', sid, code, reason},
// {type: 'demo-error', text} (a line the user reads), {type: 'demo-note', text} (the Demo menu's
// note, replaced) and {type: 'demo-reset'}. The page's own requests (attachments: Module.demo.fetch and .openBlob) have string ids.
EM_JS(int, js_demo_connect, (), {
    if (Module.demo) return 1;
    var port = null, shared = false;
    // ?demoWorker=tab: this tab's own backend even where SharedWorker exists (what a browser
    // without it gets; the tests use it to prove that path).
    var ownBackend = new URLSearchParams(location.search).get("demoWorker") === "tab";
    try {
        if (typeof SharedWorker === "function" && !ownBackend) {
            var w = new SharedWorker("demo_worker.js", { name: "chat-demo" });
            port = w.port; shared = true;
        } else if (typeof Worker === "function") {
            port = new Worker("demo_worker.js");
        }
    } catch (e) {
        console.error("demo: cannot start the backend worker", e);
    }
    if (!port) return 0;
    Module.demo = { port: port, shared: shared };
    var toWasm = function (bytes) {
        var ptr = _web_demo_alloc(bytes.length);
        HEAPU8.set(bytes, ptr);
        return ptr;
    };
    // An attachment's link (/blobs/...) names the backend, which is in the worker, not on the
    // static host: the page fetches it through the port, as a Response.
    var pending = {}, nextFetch = 0;
    Module.demo.fetch = function (target) {
        return new Promise(function (resolve, reject) {
            var id = "page-" + (++nextFetch);
            var timer = setTimeout(function () { delete pending[id]; reject(new Error("the demo backend did not answer")); }, 30000);
            pending[id] = function (m) {
                clearTimeout(timer);
                try {
                    if (!m.status) throw new Error("offline");
                    resolve(new Response(m.body instanceof Uint8Array ? m.body : null, { status: m.status, headers: m.headers || [] }));
                } catch (err) { reject(err); }
            };
            port.postMessage({ type: "http", id: id, method: "GET", target: target, headers: {}, body: new Uint8Array(0) });
        });
    };
    // Opening an attachment: an image shows in a new window (opened now, inside the click, so it
    // is not blocked as a popup; the file follows); anything else downloads under its name. Both
    // from an object URL of the type the backend served (a raster image type only when the bytes
    // are that image, else application/octet-stream), so nothing in a file runs on this origin.
    // `win`: a blank window opened for it in the click (null: blocked); undefined: opened here.
    Module.demo.openBlob = function (url, image, win) {
        var w = win === undefined ? (image ? window.open("", "_blank") : null) : win;
        if (w && !image) { w.close(); w = null; }
        if (w && win === undefined) { try { w.opener = null; } catch (err) {} }
        Module.demo.fetch(url).then(function (r) {
            if (!r.ok) throw new Error("HTTP " + r.status);
            var type = r.headers.get("Content-Type") || "application/octet-stream";
            var cd = r.headers.get("Content-Disposition") || "";
            // The backend always sends the RFC 5987 form (filename*=UTF-8 and two quotes).
            var at = cd.indexOf("filename*=UTF-8"), name = "attachment";
            if (at >= 0) { try { name = decodeURIComponent(cd.slice(at + 17).split(";")[0]); } catch (err) {} }
            return r.arrayBuffer().then(function (bytes) {
                var isImage = ["image/png", "image/jpeg", "image/gif", "image/webp"].indexOf(type) >= 0;
                var href = URL.createObjectURL(new Blob([bytes], { type: isImage ? type : "application/octet-stream" }));
                setTimeout(function () { URL.revokeObjectURL(href); }, 60000);
                if (isImage && w) { w.location.replace(href); return; }
                if (w) w.close();
                var a = document.createElement("a");
                a.href = href;
                a.download = name;
                a.rel = "noopener";
                a.style.display = "none";
                document.body.appendChild(a);
                a.click();
                a.remove();
            });
        }).catch(function (err) {
            if (w) w.close();
            console.warn("demo: the attachment could not be opened", err);
            Module.chat.errors.push("The attachment could not be opened (" + (err && err.message || err) + ").");
            Module.chat.wake = 3;
        });
    };
    port.onmessage = function (e) {
        var m = e.data || {};
        if (m.type === "http" && typeof m.id === "string") {
            var done = pending[m.id];
            delete pending[m.id];
            if (done) done(m);
        } else if (m.type === "demo-error") {
            Module.chat.errors.push(String(m.text || ""));
            Module.chat.wake = 3;
        } else if (m.type === "demo-reset") {
            location.reload();
        } else if (m.type === "demo-note") {
            var note = document.getElementById("demo-note");
            if (note) note.textContent = String(m.text || "");
        } else if (m.type === "http") {
            var body = m.body instanceof Uint8Array ? m.body : new Uint8Array(0);
            _web_demo_http_done(m.id, m.status | 0, toWasm(body), body.length);
        } else if (m.type === "ws-open") {
            if (m.ok) _web_demo_ws_event(m.sid, 0, 0, 0, 0);
            else _web_demo_ws_event(m.sid, 2, 1006, 0, 0);
        } else if (m.type === "ws-message" || m.type === "ws-close") {
            var bytes = new TextEncoder().encode(m.type === "ws-message" ? m.text : (m.reason || ""));
            _web_demo_ws_event(m.sid, m.type === "ws-message" ? 1 : 2, m.code | 0, toWasm(bytes), bytes.length);
        }
    };
    if (port.start) port.start();
    // Alive: the worker ends the sockets of a page that stopped pinging (a killed tab).
    setInterval(function () { port.postMessage({ type: "ping" }); }, 10000);
    if (Module.demoMenu) Module.demoMenu(shared);
    return 1;
});

EM_JS(int, js_demo_shared, (), { return Module.demo && Module.demo.shared ? 1 : 0; });

EM_JS(void, js_demo_post_http, (int id, const char* method, const char* target, const char* headers_json, const char* body, int len), {
    Module.demo.port.postMessage({ type: "http", id: id, method: UTF8ToString(method), target: UTF8ToString(target),
                                   headers: JSON.parse(UTF8ToString(headers_json)), body: HEAPU8.slice(body, body + len) });
});

EM_JS(void, js_demo_post_ws, (int kind, int sid, const char* a, const char* b, int code), {
    var port = Module.demo.port;
    if (kind === 0) port.postMessage({ type: "ws-open", sid: sid, url: UTF8ToString(a), protocol: UTF8ToString(b) });
    else if (kind === 1) port.postMessage({ type: "ws-send", sid: sid, text: UTF8ToString(a) });
    else port.postMessage({ type: "ws-close", sid: sid, code: code, reason: UTF8ToString(a) });
});

std::map<int, std::function<void(wps::HttpResponse)>>& http_waiting() {
    static std::map<int, std::function<void(wps::HttpResponse)>> waiting;
    return waiting;
}

class PortSocket;
std::map<int, PortSocket*>& port_sockets() {
    static std::map<int, PortSocket*> sockets;
    return sockets;
}

class PortSocket final : public wps::Socket {
public:
    PortSocket(const std::string& url, const std::string& protocol, wps::SocketCallbacks cb) : cb_(std::move(cb)) {
        static int next = 1;
        sid_ = next++;
        port_sockets()[sid_] = this;
        js_demo_post_ws(0, sid_, url.c_str(), protocol.c_str(), 0);
    }
    ~PortSocket() override {
        port_sockets().erase(sid_);
        if (!closed_) js_demo_post_ws(2, sid_, "", "", 1000);
    }
    void send(const std::string& text) override {
        if (!closed_) js_demo_post_ws(1, sid_, text.c_str(), "", 0);
    }
    void close(int code, const std::string& reason) override {
        if (closed_) return;
        closed_ = true;
        js_demo_post_ws(2, sid_, reason.substr(0, 120).c_str(), "", code);
    }
    void event(int kind, int code, std::string text) {
        if (kind == 0) {
            if (cb_.on_open) cb_.on_open();
        } else if (kind == 1) {
            if (!closed_ && cb_.on_message) cb_.on_message(std::move(text));
        } else {
            closed_ = true;
            auto on_close = cb_.on_close;  // the handler usually destroys this socket
            if (on_close) on_close(code, text);
        }
    }

private:
    wps::SocketCallbacks cb_;
    int sid_ = 0;
    bool closed_ = false;
};

} // namespace

extern "C" {
EMSCRIPTEN_KEEPALIVE char* web_demo_alloc(int len) { return static_cast<char*>(std::malloc(len > 0 ? len : 1)); }

EMSCRIPTEN_KEEPALIVE void web_demo_http_done(int id, int status, char* body, int len) {
    std::string text(body, static_cast<std::size_t>(len));
    std::free(body);
    auto it = http_waiting().find(id);
    if (it == http_waiting().end()) return;
    auto done = std::move(it->second);
    http_waiting().erase(it);
    wps::HttpResponse res;
    res.status = status;
    res.body = std::move(text);
    if (status == 0) res.error = "the demo backend did not answer";
    done(std::move(res));
}

EMSCRIPTEN_KEEPALIVE void web_demo_ws_event(int sid, int kind, int code, char* text, int len) {
    std::string s = text ? std::string(text, static_cast<std::size_t>(len)) : std::string();
    std::free(text);
    auto it = port_sockets().find(sid);
    if (it != port_sockets().end()) it->second->event(kind, code, std::move(s));
}
} // extern "C"

bool demo_connect() { return js_demo_connect() != 0; }
bool demo_shared() { return js_demo_shared() != 0; }

void PortHttpClient::send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) {
    static int next = 1;
    const int id = next++;
    // The target: the request's path and query (the URL's origin, if any, is the page's own).
    std::string target = request.url;
    if (const auto scheme = target.find("://"); scheme != std::string::npos) {
        const auto path = target.find('/', scheme + 3);
        target = path == std::string::npos ? "/" : target.substr(path);
    }
    if (target.empty() || target[0] != '/') target = "/" + target;
    nlohmann::json headers = nlohmann::json::object();
    for (auto& [k, v] : request.headers) headers[k] = v;
    if (!request.keepalive) {  // a keepalive request's answer is not awaited
        http_waiting()[id] = std::move(done);
        // Never waits forever: past the request's timeout it fails as a network error would.
        emscripten_set_timeout([](void* user) {
            const int waited = static_cast<int>(reinterpret_cast<intptr_t>(user));
            auto it = http_waiting().find(waited);
            if (it == http_waiting().end()) return;
            auto late = std::move(it->second);
            http_waiting().erase(it);
            late(wps::HttpResponse{0, {}, "the demo backend did not answer in time"});
        }, static_cast<double>(request.timeout_ms), reinterpret_cast<void*>(static_cast<intptr_t>(id)));
    }
    js_demo_post_http(id, request.method.c_str(), target.c_str(),
                      headers.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(), request.body.data(),
                      static_cast<int>(request.body.size()));
}

wps::SocketFactory port_socket_factory() {
    return [](const std::string& url, const std::string& protocol, wps::SocketCallbacks cb) {
        return std::unique_ptr<wps::Socket>(new PortSocket(url, protocol, std::move(cb)));
    };
}

// ---- page -----------------------------------------------------------------------------------
double random01() {
    return EM_ASM_DOUBLE({ return Math.random(); });
}

namespace {
EM_JS(int, js_query_param, (const char* name, char* out, int cap), {
    var v = new URLSearchParams(location.search).get(UTF8ToString(name)) || "";
    stringToUTF8(v, out, cap);
    return lengthBytesUTF8(v);
});
} // namespace

std::string query_param(const std::string& name) {
    std::string out(2048, '\0');
    const int n = js_query_param(name.c_str(), out.data(), static_cast<int>(out.size()));
    out.resize(static_cast<std::size_t>(n) < out.size() ? static_cast<std::size_t>(n) : out.size() - 1);
    return out;
}

bool browser_online() { return EM_ASM_INT({ return navigator.onLine ? 1 : 0; }) != 0; }
bool page_visible() { return EM_ASM_INT({ return document.visibilityState === "visible" ? 1 : 0; }) != 0; }

} // namespace web
