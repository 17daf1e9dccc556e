// outbox.hpp - the transactional outbox worker: publishes committed OutboxEvents rows.
//
// Wakes on notify() after a commit (no busy polling, no fixed sleep on the latency path), and
// otherwise sleeps until the earliest retry is due. Publishes through a Publisher (the REST data
// plane of the embedded emulator or of Azure Web PubSub), marks rows processed, retries failures
// with exponential backoff and parks a row as dead after max_attempts. A target's rows go out in
// order: a failed row holds back the target's newer rows until it is published or dead. Payloads carry the stable
// eventId (= messageId) so a retry that did reach clients is dropped by their dedupe.
#pragma once

#include "store.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stub {

class Publisher {
public:
    virtual ~Publisher() = default;
    // Sends JSON to a group. Returns "" on success, otherwise the error text.
    virtual std::string publish_to_group(const std::string& group, const std::string& json) = 0;
    // Sends JSON to every connection of these users (their user channels) that is not in
    // `except_group` (empty: all of them). "" on success.
    virtual std::string publish_to_users(const std::vector<std::string>& users, const std::string& json,
                                         const std::string& except_group) = 0;
};

struct OutboxOptions {
    int max_attempts = 8;
    int64_t base_retry_ms = 500;
    int64_t max_retry_ms = 60000;
    std::size_t batch = 64;
    // A pass stops taking rows after this long; the rest go out in the next pass. PostgreSQL's
    // claim on a pass's rows lasts 30 s (PgStoreOptions::lease_ms): a pass that outlasted it
    // (slow publishes to an external service) would publish rows another instance had taken
    // over, and they would go out twice.
    int64_t pass_budget_ms = 10000;
};

class OutboxWorker {
public:
    OutboxWorker(Store& store, Publisher& publisher, OutboxOptions options = {});
    ~OutboxWorker();
    void start();
    void stop();
    void notify();                 // a row was committed
    void set_paused(bool paused);  // fault injection: hold rows (they stay pending)
    bool paused() const { return paused_; }
    bool running() const { return running_; }
    // Fault injection: the next `n` publishes fail (or wait `delay_ms` first).
    void fail_next(int n) { fail_next_ = n; }
    void delay_next(int n, int64_t delay_ms) { delay_count_ = n; delay_ms_ = delay_ms; }
    // One pass over due rows (used by the thread, and directly by tests). Returns rows handled.
    std::size_t run_once(int64_t now_ms);

private:
    void loop();
    Store& store_;
    Publisher& publisher_;
    OutboxOptions options_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool wake_ = false;
    std::atomic<bool> stop_{false}, paused_{false}, running_{false};
    std::atomic<int> fail_next_{0}, delay_count_{0};
    std::atomic<int64_t> delay_ms_{0};
};

} // namespace stub
