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

double random01();
std::string query_param(const std::string& name);  // from location.search
bool browser_online();
bool page_visible();

} // namespace web
