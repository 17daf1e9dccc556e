// web_platform.hpp - browser implementations of the core's ports (emscripten only).
//
//  [X] Scheduler on emscripten_set_timeout / performance.now()
//  [X] Socket on the emscripten WebSocket API (text frames, close code + reason, subprotocol)
//  [X] HttpClient on emscripten fetch (method, headers, body, timeout, status 0 = network error)
//  [ ] binary WebSocket frames (the JSON subprotocols only use text)
// 2026-11-28: first version.
#pragma once

#include "core/ports.hpp"

#include <map>
#include <string>

namespace web {

class BrowserScheduler final : public wps::Scheduler {
public:
    uint64_t now_ms() override;
    wps::TimerId after(uint64_t delay_ms, std::function<void()> fn) override;
    void cancel(wps::TimerId id) override;

private:
    struct Timer {
        BrowserScheduler* owner;
        wps::TimerId id;
        int em_id;
        std::function<void()> fn;
    };
    static void fire(void* user);
    std::map<wps::TimerId, Timer*> timers_;
    wps::TimerId next_ = 1;
};

wps::SocketFactory browser_socket_factory();

class FetchHttpClient final : public wps::HttpClient {
public:
    void send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) override;
};

// ---- the static demo (config.json "mode": "demo") -------------------------------------------
// The backend runs in the browser, in a SharedWorker (server-stub/browser/demo_worker.js; a
// Worker per tab where SharedWorker is missing): the page reaches it through a MessagePort with
// the same requests and frames as the network path, so everything above these ports is the same.
// Starts the worker and connects this page to it; false when the browser has no workers at all.
bool demo_connect();
// Whether the backend is shared by every tab of this origin (SharedWorker), or this tab's own.
bool demo_shared();
class PortHttpClient final : public wps::HttpClient {
public:
    void send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) override;
};
wps::SocketFactory port_socket_factory();

double random01();
std::string query_param(const std::string& name);  // from location.search
bool browser_online();
bool page_visible();

} // namespace web
