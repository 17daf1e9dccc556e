// The outbox worker (server-stub/src/outbox.cpp) against an in-memory SQLite store and a
// publisher that fails on request: a publish that throws is a failed publish (retried later,
// never in a tight loop), and a failure holds only its own target's newer rows.
#include "outbox.hpp"
#include "sqlite_store.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

using namespace stub;

namespace {

// Throws (or fails) the first `throw_group` group publishes, then succeeds; counts every call.
struct FlakyPublisher : Publisher {
    std::atomic<int> group_calls{0}, user_calls{0}, throw_group{0};
    std::string publish_to_group(const std::string&, const std::string&) override {
        ++group_calls;
        if (throw_group > 0) {
            --throw_group;
            throw std::runtime_error("connection reset");
        }
        return "";
    }
    std::string publish_to_users(const std::vector<std::string>&, const std::string&, const std::string&) override {
        ++user_calls;
        return "";
    }
};

// Two members of c1; the conversation.created row that makes is published and marked first, so
// each case starts with an empty outbox and zeroed counters.
void seed(SqliteStore& s, FlakyPublisher& pub) {
    s.upsert_user(User{"alice", "Alice", {}});
    s.upsert_user(User{"bob", "Bob", {}});
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    OutboxWorker{s, pub}.run_once(100);
    REQUIRE(s.outbox_stats().pending == 0);
    pub.group_calls = 0;
    pub.user_calls = 0;
}

chat::Message draft(const std::string& text) {
    chat::Message m;
    m.conversationId = "c1";
    m.senderId = "alice";
    m.text = text;
    return m;
}

const OutboxRow* row_of(const std::vector<OutboxRow>& rows, const std::string& id) {
    for (const OutboxRow& r : rows)
        if (r.eventId == id) return &r;
    return nullptr;
}

} // namespace

TEST_CASE("outbox: a publish that throws is a failed attempt, retried after its delay", "[outbox]") {
    SqliteStore s{":memory:"};
    FlakyPublisher pub;
    seed(s, pub);
    OutboxWorker w{s, pub, OutboxOptions{8, 500, 60000, 64}};
    const std::string id = s.append_message(draft("one"), "conversation:c1", 1000).message.messageId;
    pub.throw_group = 1;

    REQUIRE_NOTHROW(w.run_once(1000));
    CHECK(pub.group_calls == 1);
    CHECK(pub.user_calls == 1);  // the activity row, another target, went out
    const auto rows = s.outbox_rows("");
    REQUIRE(row_of(rows, id));
    CHECK(row_of(rows, id)->retryCount == 1);
    CHECK(row_of(rows, id)->nextAttemptAt == 1500);
    CHECK(row_of(rows, id)->lastError.find("connection reset") != std::string::npos);
    CHECK_FALSE(row_of(rows, id)->processedAt);

    CHECK(w.run_once(1400) == 0);  // not due yet
    CHECK(pub.group_calls == 1);
    CHECK(w.run_once(1500) == 1);
    CHECK(pub.group_calls == 2);
    CHECK(row_of(s.outbox_rows(""), id)->processedAt);
}

TEST_CASE("outbox: a failed row holds its target's newer rows, in order, and no others", "[outbox]") {
    SqliteStore s{":memory:"};
    FlakyPublisher pub;
    seed(s, pub);
    OutboxWorker w{s, pub, OutboxOptions{8, 500, 60000, 64}};
    const std::string a = s.append_message(draft("a"), "conversation:c1", 1000).message.messageId;
    const std::string b = s.append_message(draft("b"), "conversation:c1", 1001).message.messageId;
    pub.throw_group = 1;
    w.run_once(2000);
    CHECK(pub.group_calls == 1);  // b was not tried after a failed
    CHECK(pub.user_calls == 2);   // both activity rows went out
    CHECK_FALSE(row_of(s.outbox_rows(""), b)->processedAt);
    w.run_once(2500);
    CHECK(pub.group_calls == 3);
    CHECK(row_of(s.outbox_rows(""), a)->processedAt);
    CHECK(row_of(s.outbox_rows(""), b)->processedAt);
}

TEST_CASE("outbox: the worker's thread waits out a throwing publish's retry delay (no tight loop)", "[outbox]") {
    SqliteStore s{":memory:"};
    FlakyPublisher pub;
    seed(s, pub);
    OutboxWorker w{s, pub, OutboxOptions{8, 400, 60000, 64}};
    pub.throw_group = 1;
    const std::string id = s.append_message(draft("one"), "conversation:c1", 1000).message.messageId;
    w.start();
    w.notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Before the fix the thrown pass left the row due and the worker tried it again at once:
    // hundreds of calls in these 200 ms.
    CHECK(pub.group_calls <= 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool published = false;
    while (!published && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto rows = s.outbox_rows("");
        published = row_of(rows, id) && row_of(rows, id)->processedAt;
    }
    w.stop();
    CHECK(published);
    CHECK(pub.group_calls == 2);
}
