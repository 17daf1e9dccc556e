// event_upstream.hpp - the embedded emulator's event handler calls: its hub's connected and
// disconnected events posted to an event handler URL, in order, the way the service does (an
// OPTIONS abuse-protection handshake first, then binary-mode CloudEvents signed with the key).
#pragma once

#include "cloud_events.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace stub {

struct UpstreamOptions {
    std::string url;                   // the event handler, e.g. http://127.0.0.1:8080/eventhandler
    std::string origin;                // WebHook-Request-Origin (service_origin of the emulator)
    std::string key;                   // signs ce-signature
    std::size_t max_queued = 10000;    // events waiting past this are dropped (and logged)
    int max_attempts = 5;              // per event, 100 ms apart, doubling
    int timeout_ms = 2000;             // per request: one slow handler delays every later event
};

// One worker thread delivers the queued events in order (a connection's connected before its
// disconnected). Before the first event, and again after a refusal, it asks the handler with
// OPTIONS whether it takes events from this origin; events are not sent until it does.
class EventUpstream {
public:
    explicit EventUpstream(UpstreamOptions options);
    ~EventUpstream();  // stops the worker; events still queued are dropped
    void start();
    void stop();
    // Thread-safe, never blocks on the network.
    void post(SystemEvent e);
    // For tests and logs: delivered and dropped so far.
    uint64_t delivered() const;
    uint64_t dropped() const;
    // Runs `log` for each line worth logging (defaults to stderr).
    std::function<void(const std::string&)> log;

private:
    void run();
    bool handshake();
    bool deliver(const SystemEvent& e);
    UpstreamOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<SystemEvent> queue_;
    bool stopping_ = false, allowed_ = false;
    uint64_t delivered_ = 0, dropped_ = 0, next_id_ = 0;
    std::thread worker_;
};

} // namespace stub
