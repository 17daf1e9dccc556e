// fake_platform.hpp - deterministic ports for tests: a manual clock and in-memory sockets.
//
// FakeScheduler runs timers only when the test advances time, in due order; FakeSockets records
// every socket the client opens and lets the test open it, feed it frames and close it.
#pragma once

#include "../../core/ports.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wps::fake {

class FakeScheduler final : public Scheduler {
public:
    uint64_t now_ms() override { return now_; }
    TimerId after(uint64_t delay_ms, std::function<void()> fn) override {
        const TimerId id = next_++;
        timers_.emplace(std::make_pair(now_ + delay_ms, id), std::move(fn));
        return id;
    }
    void cancel(TimerId id) override {
        for (auto it = timers_.begin(); it != timers_.end(); ++it)
            if (it->first.second == id) { timers_.erase(it); return; }
    }
    // Moves time forward by `ms`, firing every timer that falls due, in order.
    void advance(uint64_t ms) {
        const uint64_t end = now_ + ms;
        while (!timers_.empty() && timers_.begin()->first.first <= end) {
            auto node = timers_.extract(timers_.begin());
            now_ = node.key().first;
            node.mapped()();
        }
        now_ = end;
    }
    std::size_t pending() const { return timers_.size(); }
    // Time until the next timer, or -1 when none.
    int64_t next_due_in() const { return timers_.empty() ? -1 : int64_t(timers_.begin()->first.first - now_); }

private:
    uint64_t now_ = 1'000'000;
    TimerId next_ = 1;
    std::map<std::pair<uint64_t, TimerId>, std::function<void()>> timers_;
};

struct FakeSocketState {
    std::string url, protocol;
    SocketCallbacks cb;
    std::vector<std::string> sent;
    bool closed_by_client = false;
    int client_close_code = 0;
    bool alive = true;   // false once destroyed or closed by either side
};

class FakeSockets {
public:
    SocketFactory factory() {
        return [this](const std::string& url, const std::string& protocol, SocketCallbacks cb) {
            auto st = std::make_shared<FakeSocketState>();
            st->url = url;
            st->protocol = protocol;
            st->cb = std::move(cb);
            all.push_back(st);
            return std::unique_ptr<Socket>(new Sock(st));
        };
    }
    FakeSocketState& last() { return *all.back(); }
    void open() { auto& s = last(); if (s.alive && s.cb.on_open) s.cb.on_open(); }
    void receive(const std::string& text) { auto& s = last(); if (s.alive && s.cb.on_message) s.cb.on_message(text); }
    void drop(int code = 1006, const std::string& reason = "") {
        auto& s = last();
        if (!s.alive) return;
        s.alive = false;
        if (s.cb.on_close) s.cb.on_close(code, reason);
    }
    std::vector<std::shared_ptr<FakeSocketState>> all;

private:
    struct Sock final : Socket {
        explicit Sock(std::shared_ptr<FakeSocketState> s) : st(std::move(s)) {}
        ~Sock() override { st->alive = false; }
        void send(const std::string& text) override { if (st->alive) st->sent.push_back(text); }
        void close(int code, const std::string&) override {
            st->closed_by_client = true;
            st->client_close_code = code;
            st->alive = false;
        }
        std::shared_ptr<FakeSocketState> st;
    };
};

// Records requests; the test answers them in any order.
class FakeHttp final : public HttpClient {
public:
    struct Pending {
        HttpRequest request;
        std::function<void(HttpResponse)> done;
    };
    void send(HttpRequest request, std::function<void(HttpResponse)> done) override {
        pending.push_back(Pending{std::move(request), std::move(done)});
    }
    // Answers the oldest request whose URL contains `url_part`; false if none.
    bool answer(const std::string& url_part, int status, const std::string& body) {
        for (auto it = pending.begin(); it != pending.end(); ++it) {
            if (it->request.url.find(url_part) == std::string::npos) continue;
            auto done = std::move(it->done);
            pending.erase(it);
            done(HttpResponse{status, body, status == 0 ? "network error" : ""});
            return true;
        }
        return false;
    }
    bool has(const std::string& url_part) const {
        for (auto& p : pending)
            if (p.request.url.find(url_part) != std::string::npos) return true;
        return false;
    }
    std::vector<Pending> pending;
};

} // namespace wps::fake
