// The outbox worker (server-stub/src/outbox.cpp) against an in-memory SQLite store and a
// publisher that fails on request: a publish that throws is a failed publish (retried later,
// never in a tight loop), a failure holds only its own target's newer rows, a failing store
// fails the pass (not the row), and what a row keeps of an error is storable.
#include "outbox.hpp"
#include "sqlite_store.hpp"

#include "core/chat_wire.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
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

namespace {

// Runs SQL on the store's database file through a connection of its own (the store's failures
// made real: a table renamed away, then back).
void exec_on(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

struct TempDb {
    std::string path = (std::filesystem::temp_directory_path() / ("outbox-test-" + std::to_string(::getpid()) + "-" +
                                                                  std::to_string(reinterpret_cast<uintptr_t>(this)) + ".db")).string();
    ~TempDb() {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
};

} // namespace

TEST_CASE("outbox: a failing store fails the pass, costs the row none of its attempts, and the worker tries again by itself",
          "[outbox]") {
    TempDb file;
    SqliteStore s{file.path};
    FlakyPublisher pub;
    seed(s, pub);
    OutboxWorker w{s, pub, OutboxOptions{8, 200, 60000, 64}};
    const std::string id = s.append_message(draft("one"), "conversation:c1", 1000).message.messageId;
    exec_on(file.path, "ALTER TABLE ConversationUsers RENAME TO ConversationUsersGone");  // members() fails
    CHECK_THROWS(w.run_once(2000));
    const auto rows = s.outbox_rows("");
    const OutboxRow* act = row_of(rows, "act:" + id);
    REQUIRE(act);
    CHECK(act->retryCount == 0);  // not the row's fault: no attempt counted
    CHECK_FALSE(act->processedAt);
    CHECK(row_of(s.outbox_rows(""), id)->processedAt);  // the group row before it went out and was marked

    // The worker's thread meets the failure, waits, tries again; once the store is back the row goes.
    w.start();
    w.notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    exec_on(file.path, "ALTER TABLE ConversationUsersGone RENAME TO ConversationUsers");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool published = false;
    while (!published && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now_rows = s.outbox_rows("act:");
        published = row_of(now_rows, "act:" + id) && row_of(now_rows, "act:" + id)->processedAt;
    }
    w.stop();
    CHECK(published);
    CHECK(pub.user_calls == 1);
}

TEST_CASE("outbox: a publish error is stored as valid UTF-8 of at most 500 bytes", "[outbox]") {
    SqliteStore s{":memory:"};
    struct Garbled : FlakyPublisher {
        std::string publish_to_group(const std::string&, const std::string&) override { return "bad \xff\xfe bytes " + std::string(2000, 'x'); }
    } pub;
    seed(s, pub);
    OutboxWorker w{s, pub};
    const std::string id = s.append_message(draft("one"), "conversation:c1", 1000).message.messageId;
    w.run_once(1000);
    const auto rows = s.outbox_rows("");
    const OutboxRow* row = row_of(rows, id);
    REQUIRE(row);
    CHECK(row->retryCount == 1);
    CHECK(chat::valid_utf8(row->lastError));
    CHECK(row->lastError.size() <= 500);
    CHECK(row->lastError.find("bad") != std::string::npos);
}
