// event_upstream.cpp - see event_upstream.hpp.
#include "event_upstream.hpp"

#include "cloud_events.hpp"
#include "jwt.hpp"
#include "net.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <map>

namespace stub {


EventUpstream::EventUpstream(UpstreamOptions options) : options_(std::move(options)) {
    log = [](const std::string& line) { std::cerr << line << "\n"; };
}

EventUpstream::~EventUpstream() { stop(); }

void EventUpstream::start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (worker_.joinable()) return;
    stopping_ = false;
    worker_ = std::thread([this] { run(); });
}

void EventUpstream::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void EventUpstream::post(SystemEvent e) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.size() >= options_.max_queued) {
            if (dropped_++ % 1000 == 0)  // logged, but not once per event of a flood
                log(nlohmann::json{{"level", "warn"}, {"msg", "event handler: queue full, event dropped"}, {"event", e.event},
                                   {"dropped", dropped_}}.dump());
            return;
        }
        queue_.push_back(std::move(e));
    }
    cv_.notify_one();
}

uint64_t EventUpstream::delivered() const {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
}

uint64_t EventUpstream::dropped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
}

void EventUpstream::run() {
    for (;;) {
        SystemEvent e;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            e = queue_.front();
        }
        bool done = false;
        int delay_ms = 100;
        for (int attempt = 1; !done && attempt <= options_.max_attempts; ++attempt) {
            if (attempt > 1) {
                std::unique_lock<std::mutex> lock(mu_);
                if (cv_.wait_for(lock, std::chrono::milliseconds(delay_ms), [&] { return stopping_; })) return;
                delay_ms *= 2;
            }
            done = (allowed_ || handshake()) && deliver(e);
        }
        std::lock_guard<std::mutex> lock(mu_);
        queue_.pop_front();
        if (done) ++delivered_;
        else {
            ++dropped_;
            log(nlohmann::json{{"level", "warn"}, {"msg", "event handler: event dropped"}, {"event", e.event},
                               {"connectionId", e.connectionId}}.dump());
        }
    }
}

bool EventUpstream::handshake() {
    // ce-awpsversion too: Microsoft's handler (@azure/web-pubsub-express) answers only requests that have it.
    std::map<std::string, std::string> headers{{"WebHook-Request-Origin", options_.origin}, {"ce-awpsversion", "1.0"}};
    std::map<std::string, std::string> response_headers;
    std::string body, error;
    const int status = http_request("OPTIONS", options_.url, headers, "", body, error, options_.timeout_ms, "", &response_headers);
    bool ok = false;
    if (status == 200) {
        const std::vector<std::string> ours = header_list(options_.origin);
        for (const auto& one : header_list(response_headers["webhook-allowed-origin"]))
            ok = ok || one == "*" || (!ours.empty() && one == ours.front());
    }
    if (!ok)
        log(nlohmann::json{{"level", "warn"}, {"msg", "event handler refused the abuse-protection handshake"}, {"url", options_.url},
                           {"status", status}, {"error", error}}.dump());
    allowed_ = ok;
    return ok;
}

bool EventUpstream::deliver(const SystemEvent& e) {
    const std::string type = "azure.webpubsub.sys." + e.event;
    std::string body;
    const auto headers = system_event_request(e, options_.origin, options_.key, std::to_string(++next_id_) + "-" + random_hex(6), body);
    std::string answer, error;
    const int status = http_request("POST", options_.url, headers, body, answer, error, options_.timeout_ms);
    if (status >= 200 && status < 300) return true;
    if (status == 401 || status == 403) allowed_ = false;  // keys or origin changed: ask again
    log(nlohmann::json{{"level", "warn"}, {"msg", "event handler failed"}, {"type", type}, {"status", status}, {"error", error},
                       {"answer", answer.substr(0, 200)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return false;
}

} // namespace stub
