// outbox.cpp - see outbox.hpp.
#include "outbox.hpp"

#include "jwt.hpp"

#include "core/chat_wire.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <set>
#include <vector>

namespace stub {

namespace {
// An error text as a row keeps it: valid UTF-8 (a service's answer or an exception may not be;
// PostgreSQL refuses such text, and one row would stop the outbox) and at most 500 bytes.
std::string storable_error(std::string e) {
    if (!chat::valid_utf8(e)) e = nlohmann::json(e).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    if (e.size() > 500) {
        std::size_t cut = 500;
        while (cut > 0 && (static_cast<unsigned char>(e[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
        e.resize(cut);
    }
    return e;
}

// Structured log: one JSON object per line (strings escaped by the JSON library).
void log_line(const nlohmann::json& j) { std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str()); }
} // namespace

OutboxWorker::OutboxWorker(Store& store, Publisher& publisher, OutboxOptions options)
    : store_(store), publisher_(publisher), options_(options) {}

OutboxWorker::~OutboxWorker() { stop(); }

void OutboxWorker::start() {
    if (running_) return;
    stop_ = false;
    running_ = true;
    thread_ = std::thread([this] { loop(); });
}

void OutboxWorker::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
        wake_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    running_ = false;
}

void OutboxWorker::notify() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        wake_ = true;
    }
    cv_.notify_all();
}

void OutboxWorker::set_paused(bool p) {
    paused_ = p;
    if (!p) notify();
}

std::size_t OutboxWorker::run_once(int64_t now_ms) {
    if (paused_) return 0;
    std::size_t handled = 0;
    // A target whose row failed in this pass: its newer rows wait for that row's retry (in order).
    std::set<std::string> failed_targets;
    // Published rows are marked together, at the pass's end (or every 16): before the next pass
    // asks what is due, so a target's order holds. A mark that never lands publishes its row once
    // more, which clients drop by id.
    std::vector<std::string> published;
    auto mark = [&] {
        if (published.empty()) return;
        store_.mark_published_all(published, unix_now_ms());
        published.clear();
    };
    struct MarkOnThrow {
        decltype(mark)& f;
        ~MarkOnThrow() {
            if (std::uncaught_exceptions() == 0) return;
            try {
                f();
            } catch (const std::exception&) {  // the store is failing: the rows go out again later
            }
        }
    } mark_on_throw{mark};
    const auto pass_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.pass_budget_ms);
    for (const OutboxRow& row : store_.due_outbox(now_ms, options_.batch)) {
        if (stop_ || paused_) break;
        if (handled > 0 && std::chrono::steady_clock::now() >= pass_end) break;  // the rest next pass, still inside the claim
        if (failed_targets.count(row.target)) continue;
        std::string error;
        if (delay_count_ > 0) {
            --delay_count_;
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
        }
        if (fail_next_ > 0) {
            --fail_next_;
            error = "fault injection: publish failed";
        } else {
            // conversation.activity and conversation.created go to each member's user channel
            // (members as of publishing: someone added since still gets it, someone removed does
            // not), except connections subscribed to the conversation: they have the message
            // itself (or opened the conversation). The rest to a group.
            // A publish that throws is a failed publish: the row waits for its retry like any
            // other (thrown out of the pass, it would be due again at once, in a tight loop).
            // The members are read first: a store that fails fails the pass (the loop waits and
            // tries again) and never counts against the row's attempts.
            const bool to_users = row.type == "conversation.activity" || row.type == chat::kConversationCreatedEvent;
            const std::vector<std::string> members = to_users ? store_.members(row.target) : std::vector<std::string>{};
            try {
                error = to_users ? publisher_.publish_to_users(members, row.payloadJson, chat::conversation_group(row.target))
                                 : publisher_.publish_to_group(row.target, row.payloadJson);
            } catch (const std::exception& e) {
                error = std::string("publish threw: ") + e.what();
            }
        }
        if (error.empty()) {
            published.push_back(row.eventId);
            if (published.size() >= 16) mark();
        } else {
            failed_targets.insert(row.target);
            const int attempt = row.retryCount + 1;
            const bool dead = attempt >= options_.max_attempts;
            const int64_t delay = std::min(options_.max_retry_ms, options_.base_retry_ms << std::min(attempt - 1, 20));
            error = storable_error(std::move(error));  // the row and the log line say the same, bounded
            store_.mark_failed(row.eventId, error, now_ms + delay, dead);
            log_line(nlohmann::json{{"level", "warn"}, {"msg", "outbox publish failed"}, {"eventId", row.eventId},
                                    {"attempt", attempt}, {"dead", dead}, {"error", error}});
        }
        ++handled;
    }
    mark();
    return handled;
}

void OutboxWorker::loop() {
    // A pass that throws means the store is failing (a publish that throws is handled per row):
    // wait, longer each time up to max_retry_ms, before the next try rather than spin on it.
    int64_t backoff_ms = 0;
    while (!stop_) {
        bool failed = false;
        try {
            while (!stop_ && run_once(unix_now_ms()) > 0) {
            }
        } catch (const std::exception& e) {
            failed = true;
            log_line(nlohmann::json{{"level", "error"}, {"msg", "outbox pass failed"}, {"error", e.what()}});
        }
        // Sleep until notified or until the earliest retry is due.
        std::optional<int64_t> due;
        if (!failed && !paused_) {
            try {
                due = store_.next_outbox_due();
            } catch (const std::exception& e) {
                failed = true;
                log_line(nlohmann::json{{"level", "error"}, {"msg", "outbox due time failed"}, {"error", e.what()}});
            }
        }
        std::unique_lock<std::mutex> lock(mu_);
        if (stop_) break;
        if (failed) {
            backoff_ms = backoff_ms == 0 ? std::max<int64_t>(1, options_.base_retry_ms / 4) : std::min(options_.max_retry_ms, backoff_ms * 2);
            cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stop_.load(); });
            wake_ = false;
            continue;
        }
        backoff_ms = 0;
        if (wake_) { wake_ = false; continue; }
        if (due) {
            const int64_t wait = std::max<int64_t>(1, *due - unix_now_ms());
            cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return wake_ || stop_.load(); });
        } else {
            cv_.wait(lock, [this] { return wake_ || stop_.load(); });
        }
        wake_ = false;
    }
}

} // namespace stub
