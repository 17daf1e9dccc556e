// ports.hpp - the seams between the platform-free core and a platform (browser, native, tests).
//
// Each port is a tiny interface; the browser implements it with emscripten WebSocket/fetch and
// browser timers (src/platform/web), tests with deterministic fakes (src/platform/fake), native
// tools with Boost.Beast. Callbacks always arrive on the thread that owns the core object (the
// browser's main thread; the test's thread), never re-entrantly from inside a call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace wps {

// ---- time ----------------------------------------------------------------------------------
using TimerId = uint64_t;

class Scheduler {
public:
    virtual ~Scheduler() = default;
    virtual uint64_t now_ms() = 0;                                       // monotonic
    virtual TimerId after(uint64_t delay_ms, std::function<void()> fn) = 0;
    virtual void cancel(TimerId id) = 0;                                  // unknown ids are ignored
};

// ---- WebSocket -----------------------------------------------------------------------------
struct SocketCallbacks {
    std::function<void()> on_open;
    std::function<void(std::string text)> on_message;
    // Once per socket, for a refused handshake as well as a dropped connection. 1006 = abnormal.
    std::function<void(int code, std::string reason)> on_close;
};

class Socket {
public:
    // Destroying a Socket closes it and guarantees no further callbacks.
    virtual ~Socket() = default;
    virtual void send(const std::string& text) = 0;
    virtual void close(int code, const std::string& reason) = 0;
};

using SocketFactory = std::function<std::unique_ptr<Socket>(const std::string& url, const std::string& subprotocol,
                                                            SocketCallbacks callbacks)>;

// ---- HTTP ----------------------------------------------------------------------------------
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::map<std::string, std::string> headers;
    std::string body;
    uint64_t timeout_ms = 15000;
    // The request must outlive the page (fetch's keepalive: sent while the page goes away). Its
    // answer may never arrive: nobody waits for it.
    bool keepalive = false;
};

struct HttpResponse {
    int status = 0;          // 0 = transport failure (no HTTP answer at all)
    std::string body;
    std::string error;       // transport failure reason when status == 0
    bool ok() const { return status >= 200 && status < 300; }
};

class HttpClient {
public:
    virtual ~HttpClient() = default;
    virtual void send(HttpRequest request, std::function<void(HttpResponse)> done) = 0;
};

// ---- randomness (jitter) -------------------------------------------------------------------
using RandomSource = std::function<double()>; // uniform in [0, 1)

} // namespace wps
