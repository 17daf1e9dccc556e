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
#include <optional>
#include <stdexcept>
#include <thread>

using namespace stub;

namespace {

// Throws (or fails) the first `throw_group` group publishes, then succeeds; counts every call.
struct FlakyPublisher : Publisher {
    std::atomic<int> group_calls{0}, user_calls{0}, throw_group{0}, slow_group_ms{0};
    std::string publish_to_group(const std::string&, const std::string&) override {
        ++group_calls;
        if (slow_group_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_group_ms.load()));
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

// The outbox row `id` as the store has it now (a copy; empty when there is none).
std::optional<OutboxRow> row_of(SqliteStore& s, const std::string& id) {
    for (OutboxRow& r : s.outbox_rows(id))
        if (r.eventId == id) return std::move(r);
    return std::nullopt;
}
bool published(SqliteStore& s, const std::string& id) {
    const auto r = row_of(s, id);
    return r && r->processedAt;
}
// Until the worker's thread published the row (at most 15 s).
bool wait_published(SqliteStore& s, const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!published(s, id) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return published(s, id);
}

// An in-memory store with c1 seeded, a flaky publisher, and a worker retrying after `retry_ms`.
struct Rig {
    SqliteStore s{":memory:"};
    FlakyPublisher pub;
    OutboxWorker w;
    explicit Rig(int64_t retry_ms, int64_t pass_budget_ms = 10000) : w{s, pub, OutboxOptions{8, retry_ms, 60000, 64, pass_budget_ms}} {
        seed(s, pub);
    }
};

} // namespace

TEST_CASE("outbox: a publish that throws is a failed attempt, retried after its delay", "[outbox]") {
    Rig r{500};
    const std::string id = r.s.append_message(draft("one"), "conversation:c1", 1000).message.messageId;
    r.pub.throw_group = 1;

    REQUIRE_NOTHROW(r.w.run_once(1000));
    CHECK(r.pub.group_calls == 1);
    CHECK(r.pub.user_calls == 1);  // the activity row, another target, went out
    const auto row = row_of(r.s, id);
    REQUIRE(row);
    CHECK(row->retryCount == 1);
    CHECK(row->nextAttemptAt == 1500);
    CHECK(row->lastError.find("connection reset") != std::string::npos);
    CHECK_FALSE(row->processedAt);

    CHECK(r.w.run_once(1400) == 0);  // not due yet
    CHECK(r.pub.group_calls == 1);
    CHECK(r.w.run_once(1500) == 1);
    CHECK(r.pub.group_calls == 2);
    CHECK(published(r.s, id));
}

TEST_CASE("outbox: a failed row holds its target's newer rows, in order, and no others", "[outbox]") {
    Rig r{500};
    const std::string a = r.s.append_message(draft("a"), "conversation:c1", 1000).message.messageId;
    const std::string b = r.s.append_message(draft("b"), "conversation:c1", 1001).message.messageId;
    r.pub.throw_group = 1;
    r.w.run_once(2000);
    CHECK(r.pub.group_calls == 1);  // b was not tried after a failed
    CHECK(r.pub.user_calls == 2);   // both activity rows went out
    CHECK_FALSE(published(r.s, b));
    r.w.run_once(2500);
    CHECK(r.pub.group_calls == 3);
    CHECK(published(r.s, a));
    CHECK(published(r.s, b));
}

TEST_CASE("outbox: the worker's thread waits out a throwing publish's retry delay (no tight loop)", "[outbox]") {
    Rig r{400};
    r.pub.throw_group = 1;
    const std::string id = r.s.append_message(draft("one"), "conversation:c1", 1000).message.messageId;
    r.w.start();
    r.w.notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Before the fix the thrown pass left the row due and the worker tried it again at once:
    // hundreds of calls in these 200 ms.
    CHECK(r.pub.group_calls <= 1);
    const bool done = wait_published(r.s, id);
    r.w.stop();
    CHECK(done);
    CHECK(r.pub.group_calls == 2);
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
    const auto act = row_of(s, "act:" + id);
    REQUIRE(act);
    CHECK(act->retryCount == 0);  // not the row's fault: no attempt counted
    CHECK_FALSE(act->processedAt);
    CHECK(published(s, id));  // the group row before it went out and was marked

    // The worker's thread meets the failure, waits, tries again; once the store is back the row goes.
    w.start();
    w.notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    exec_on(file.path, "ALTER TABLE ConversationUsersGone RENAME TO ConversationUsers");
    const bool done = wait_published(s, "act:" + id);
    w.stop();
    CHECK(done);
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
    const auto row = row_of(s, id);
    REQUIRE(row);
    CHECK(row->retryCount == 1);
    CHECK(chat::valid_utf8(row->lastError));
    CHECK(row->lastError.size() <= 500);
    CHECK(row->lastError.find("bad") != std::string::npos);
}

TEST_CASE("outbox: a pass of slow publishes stops after its budget, and the next pass goes on in order", "[outbox]") {
    Rig r{500, 100};  // a pass takes rows for 100 ms at most
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) ids.push_back(r.s.append_message(draft("m" + std::to_string(i)), "conversation:c1", 1000 + i).message.messageId);
    r.pub.slow_group_ms = 60;  // each group publish takes 60 ms
    const std::size_t first = r.w.run_once(2000);
    CHECK(first >= 1);
    CHECK(r.pub.group_calls <= 3);  // 60 ms each: the budget ends the pass after two or three
    CHECK(r.s.outbox_stats().pending > 0);
    // What was published is marked; the rest waits, in order: a row never goes before an older
    // one of its conversation.
    bool gap = false;
    for (const auto& id : ids) {
        if (!published(r.s, id)) gap = true;
        else CHECK_FALSE(gap);
    }
    r.pub.slow_group_ms = 0;
    for (int pass = 0; pass < 10 && r.s.outbox_stats().pending > 0; ++pass) r.w.run_once(2000);
    CHECK(r.s.outbox_stats().pending == 0);
    CHECK(r.pub.group_calls == 6);  // each once
    for (const auto& id : ids) CHECK(published(r.s, id));
}

