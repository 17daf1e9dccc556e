// The storage suite (server-stub/src/store.hpp): the same cases against SqliteStore and PgStore,
// through the Store interface, no sockets. Each case is registered once per engine:
//   "store (sqlite): ..."      [store][sqlite]      an in-memory database per case
//   "store (postgresql): ..."  [store][postgresql]  a schema of its own per case in the cluster
//                                                   CHAT_TEST_PG_URL names (with_postgres.sh)
// then PgStore's own cases (several instances on one database: concurrent writers, the outbox
// claim and its lease, migrations), and the PostgreSQL URL checks, which need no server.
//
// ctest: native:stub:store (sqlite): * one test per case; native:stub:store:postgresql runs every
// [postgresql] case in one process against a throwaway cluster (tests/stub/with_postgres.sh).
#include "pg_store.hpp"  // first: the header is self-contained

#include "jwt.hpp"
#include "sqlite_store.hpp"
#include "sql_migrations.hpp"

#include "core/chat_wire.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace stub;

namespace {

struct SqliteEngine {
    SqliteStore db{":memory:"};
    Store& store() { return db; }
};

// A schema of its own in the throwaway cluster (search_path set through the URL's options), so
// cases never see each other's rows; dropped at the end.
class PgEngine {
public:
    explicit PgEngine(bool open_store = true) {
        const char* base = std::getenv("CHAT_TEST_PG_URL");
        if (!base || !*base)
            FAIL("CHAT_TEST_PG_URL is not set: the PostgreSQL cases need a server. Run them through "
                 "tests/stub/with_postgres.sh (ctest -R 'stub:store:postgresql'), which starts a throwaway cluster "
                 "(PostgreSQL 15 from scripts/setup).");
        base_ = base;
        schema_ = "t_" + random_hex(8);
        {
            pqxx::connection c(base_);
            pqxx::nontransaction w(c);
            w.exec("CREATE SCHEMA " + w.quote_name(schema_));
        }
        url_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema_;
        if (open_store) db_ = open();
    }
    ~PgEngine() {
        db_.reset();
        try {
            pqxx::connection c(base_);
            pqxx::nontransaction w(c);
            w.exec("DROP SCHEMA " + w.quote_name(schema_) + " CASCADE");
        } catch (...) {
        }
    }
    PgEngine(const PgEngine&) = delete;
    PgEngine& operator=(const PgEngine&) = delete;
    Store& store() { return *db_; }
    PgStore& pg() { return *db_; }
    // Another instance on the same database (its own connection and instance id).
    std::unique_ptr<PgStore> open(PgOptions o = {}) { return std::make_unique<PgStore>(url_, o); }
    const std::string& url() const { return url_; }

private:
    std::string base_, schema_, url_;
    std::unique_ptr<PgStore> db_;
};

// A case written once against Store&, registered for both engines.
#define STORE_CASE(NAME, FN)                                                          \
    void FN(Store& s);                                                                \
    TEST_CASE("store (sqlite): " NAME, "[store][sqlite]") {                           \
        SqliteEngine e;                                                               \
        FN(e.store());                                                                \
    }                                                                                 \
    TEST_CASE("store (postgresql): " NAME, "[store][postgresql]") {                   \
        PgEngine e;                                                                   \
        FN(e.store());                                                                \
    }                                                                                 \
    void FN(Store& s)

chat::Message draft(const std::string& conv, const std::string& sender, const std::string& text,
                    const std::string& clientId = "") {
    chat::Message m;
    m.conversationId = conv;
    m.senderId = sender;
    m.text = text;
    m.clientMessageId = clientId;
    return m;
}

void seed_users(Store& s) {
    s.upsert_user(User{"alice", "Alice", {"core"}});
    s.upsert_user(User{"bob", "Bob", {"core"}});
    s.upsert_user(User{"carol", "Carol", {"design"}});
}

// Runs fn(0..n-1) on n threads and returns what they threw. Catch2's assertions are not
// thread-safe: threads only report, the test checks afterwards.
std::vector<std::string> on_threads(int n, const std::function<void(int)>& fn) {
    std::mutex mu;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t)
        threads.emplace_back([&, t] {
            try {
                fn(t);
            } catch (const std::exception& ex) {
                std::lock_guard<std::mutex> lock(mu);
                errors.push_back(ex.what());
            }
        });
    for (auto& th : threads) th.join();
    return errors;
}

std::vector<uint64_t> seqs(const std::vector<chat::Message>& ms) {
    std::vector<uint64_t> out;
    for (auto& m : ms) out.push_back(m.seq);
    return out;
}

std::vector<std::string> event_ids(const std::vector<OutboxRow>& rows) {
    std::vector<std::string> out;
    for (auto& r : rows) out.push_back(r.eventId);
    return out;
}

std::vector<std::string> ids_of(const NotificationPage& p) {
    std::vector<std::string> out;
    for (auto& n : p.items) out.push_back(n.id);
    return out;
}

Notification notification(const std::string& id, const std::string& kind, const std::string& target,
                          const std::string& by = "backend") {
    Notification n;
    n.id = id;
    n.targetKind = kind;
    n.targetId = target;
    n.title = "Title " + id;
    n.body = "Body " + id;
    n.createdBy = by;
    return n;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// The shared suite
// ---------------------------------------------------------------------------------------------

STORE_CASE("users: upsert replaces the name and the teams", users_upsert) {
    CHECK_FALSE(s.user("alice"));
    s.upsert_user(User{"alice", "Alice", {"core", "admins"}});
    auto u = s.user("alice");
    REQUIRE(u);
    CHECK(u->displayName == "Alice");
    CHECK(u->teams == std::vector<std::string>{"admins", "core"});  // sorted
    s.upsert_user(User{"alice", "Alice Martin", {"design"}});
    u = s.user("alice");
    REQUIRE(u);
    CHECK(u->displayName == "Alice Martin");
    CHECK(u->teams == std::vector<std::string>{"design"});
}

STORE_CASE("conversations: create, members, membership, summaries", conversations) {
    seed_users(s);
    CHECK(s.create_conversation("c1", "One", R"({"k":1})", {"bob", "alice", "alice"}, "alice", 100) == "c1");
    const std::string generated = s.create_conversation("", "Two", "{}", {"alice", "carol"}, "carol", 200);
    CHECK(generated.rfind("c_", 0) == 0);
    CHECK(generated.size() == 22);
    CHECK_THROWS(s.create_conversation("c1", "Again", "{}", {"carol"}, "carol", 300));  // ids are unique
    CHECK(s.conversation_exists("c1"));
    CHECK_FALSE(s.conversation_exists("c9"));
    CHECK(s.is_member("c1", "bob"));
    CHECK_FALSE(s.is_member("c1", "carol"));
    CHECK_FALSE(s.is_member("c9", "bob"));
    CHECK(s.members("c1") == std::vector<std::string>{"alice", "bob"});
    CHECK(s.members("c9").empty());

    auto mine = s.conversations_for("alice");
    std::sort(mine.begin(), mine.end(), [](auto& a, auto& b) { return a.id < b.id; });
    REQUIRE(mine.size() == 2);
    CHECK(mine[0].id == "c1");
    CHECK(mine[0].title == "One");
    CHECK(mine[0].contextJson == R"({"k":1})");
    CHECK(mine[0].members == std::vector<std::string>{"alice", "bob"});
    CHECK(mine[0].lastSeq == 0);
    CHECK(mine[0].unread == 0);
    CHECK_FALSE(mine[0].lastMessage);
    CHECK(mine[1].id == generated);
    CHECK(s.conversations_for("bob").size() == 1);
    CHECK(s.conversations_for("nobody").empty());
    CHECK(s.conversation("c1", "bob"));
    CHECK_FALSE(s.conversation("c1", "carol"));  // only for members
    CHECK_FALSE(s.conversation("c9", "bob"));
}

STORE_CASE("messages: gap-free sequence numbers per conversation, stored as sent", messages_seq) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    s.create_conversation("c2", "Two", "{}", {"alice", "bob"}, "alice", 100);
    for (int i = 1; i <= 3; ++i) {
        const AppendResult r = s.append_message(draft("c1", "alice", "hello " + std::to_string(i)), "conversation:c1", 1000 + i);
        CHECK(r.created);
        CHECK(r.message.seq == static_cast<uint64_t>(i));
        CHECK(r.message.messageId.rfind("msg_", 0) == 0);
        CHECK(r.message.createdAtMs == 1000 + i);
        CHECK(r.message.state == chat::SendState::Sent);
    }
    CHECK(s.append_message(draft("c2", "bob", "other"), "conversation:c2", 2000).message.seq == 1);  // its own counter

    chat::Message with_file = draft("c1", "bob", "");
    with_file.attachment = chat::Attachment{"/blobs/blob_1", "plan.pdf", "application/pdf", 1234};
    const AppendResult f = s.append_message(with_file, "conversation:c1", 3000);
    CHECK(f.message.seq == 4);

    const auto all = s.history("c1", 0, 0, 100);
    CHECK(seqs(all) == std::vector<uint64_t>{1, 2, 3, 4});
    CHECK(all[0].text == "hello 1");
    CHECK(all[0].senderId == "alice");
    CHECK(all[0].conversationId == "c1");
    CHECK(all[0].clientMessageId.empty());
    CHECK(all[0].createdAtMs == 1001);
    REQUIRE(all[3].attachment);
    CHECK(all[3].attachment->url == "/blobs/blob_1");
    CHECK(all[3].attachment->name == "plan.pdf");
    CHECK(all[3].attachment->contentType == "application/pdf");
    CHECK(all[3].attachment->size == 1234);
    CHECK(all[3].messageId == f.message.messageId);

    const auto c1 = s.conversation("c1", "alice");
    REQUIRE(c1);
    CHECK(c1->lastSeq == 4);
    REQUIRE(c1->lastMessage);
    CHECK(c1->lastMessage->messageId == f.message.messageId);
    CHECK_THROWS(s.append_message(draft("c9", "alice", "nowhere"), "conversation:c9", 4000));
}

STORE_CASE("messages: a replayed clientMessageId returns the stored message, once per sender", idempotent) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    const AppendResult first = s.append_message(draft("c1", "alice", "hi", "cm-1"), "conversation:c1", 1000);
    CHECK(first.created);
    const OutboxStats before = s.outbox_stats();
    const AppendResult again = s.append_message(draft("c1", "alice", "hi (edited)", "cm-1"), "conversation:c1", 2000);
    CHECK_FALSE(again.created);
    CHECK(again.message.messageId == first.message.messageId);
    CHECK(again.message.seq == first.message.seq);
    CHECK(again.message.text == "hi");  // the stored one
    CHECK(again.message.createdAtMs == 1000);
    CHECK(again.message.clientMessageId == "cm-1");
    CHECK(s.outbox_stats().pending == before.pending);  // nothing new to publish
    // Another sender's id space; no id: never deduplicated.
    CHECK(s.append_message(draft("c1", "bob", "hi", "cm-1"), "conversation:c1", 3000).created);
    CHECK(s.append_message(draft("c1", "bob", "x"), "conversation:c1", 3001).created);
    CHECK(s.append_message(draft("c1", "bob", "x"), "conversation:c1", 3002).created);
    CHECK(seqs(s.history("c1", 0, 0, 10)) == std::vector<uint64_t>{1, 2, 3, 4});
}

STORE_CASE("messages: paging after and before a sequence number", paging) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice"}, "alice", 100);
    for (int i = 1; i <= 10; ++i) s.append_message(draft("c1", "alice", std::to_string(i)), "conversation:c1", 1000 + i);
    CHECK(seqs(s.history("c1", 0, 0, 4)) == std::vector<uint64_t>{1, 2, 3, 4});
    CHECK(seqs(s.history("c1", 4, 0, 4)) == std::vector<uint64_t>{5, 6, 7, 8});
    CHECK(seqs(s.history("c1", 8, 0, 4)) == std::vector<uint64_t>{9, 10});
    CHECK(s.history("c1", 10, 0, 4).empty());
    // Backwards: the page just before, in ascending order.
    CHECK(seqs(s.history("c1", 0, 11, 3)) == std::vector<uint64_t>{8, 9, 10});
    CHECK(seqs(s.history("c1", 0, 5, 2)) == std::vector<uint64_t>{3, 4});
    CHECK(seqs(s.history("c1", 0, 3, 5)) == std::vector<uint64_t>{1, 2});
    CHECK(s.history("c1", 0, 1, 5).empty());
    CHECK(seqs(s.history("c1", 3, 8, 10)) == std::vector<uint64_t>{4, 5, 6, 7});  // between
    CHECK(s.history("c1", 0, 0, 0).empty());
    CHECK(s.history("c9", 0, 0, 10).empty());
}

STORE_CASE("read state: moves forward only, never past the last message, unread skips own messages", read_state) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    for (int i = 1; i <= 3; ++i) s.append_message(draft("c1", "bob", "b" + std::to_string(i)), "conversation:c1", 1000 + i);
    s.append_message(draft("c1", "alice", "a4"), "conversation:c1", 1004);
    auto c = s.conversation("c1", "alice");
    REQUIRE(c);
    CHECK(c->lastReadSeq == 0);
    CHECK(c->unread == 3);
    CHECK(s.set_read("c1", "alice", 2, 1000) == 2);
    CHECK(s.conversation("c1", "alice")->unread == 1);
    CHECK(s.set_read("c1", "alice", 1, 1000) == 2);   // never backwards
    CHECK(s.set_read("c1", "alice", 99, 1000) == 4);  // never past the last message
    CHECK(s.conversation("c1", "alice")->unread == 0);
    CHECK(s.conversation("c1", "alice")->lastReadSeq == 4);
    CHECK(s.conversation("c1", "bob")->unread == 1);  // alice's message
    CHECK(s.set_read("c1", "carol", 3, 1000) == 0);  // not a member
    CHECK(s.set_read("c9", "alice", 3, 1000) == 0);
}

STORE_CASE("presence: first connection online, last one offline, a version and one event per conversation each, reset", presence) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    s.create_conversation("c2", "Two", "{}", {"bob", "carol"}, "bob", 100);
    auto state = [&](const std::string& conv, const std::string& user) {
        for (const auto& p : s.presence(conv))
            if (p.userId == user) return std::make_pair(p.online, p.version);
        return std::make_pair(false, uint64_t(999));
    };
    CHECK(state("c1", "bob") == std::make_pair(false, uint64_t(0)));  // never seen
    CHECK(s.presence_connected("bob", "k1", 1000));
    CHECK_FALSE(s.presence_connected("bob", "k1", 1001));  // the same event again
    CHECK_FALSE(s.presence_connected("bob", "k2", 1002));  // a second connection: online already
    CHECK(state("c1", "bob") == std::make_pair(true, uint64_t(1)));
    CHECK(state("c2", "bob") == std::make_pair(true, uint64_t(1)));
    // One chat.presence row per conversation of bob's, for its group.
    auto rows = s.outbox_rows("presence:");
    REQUIRE(rows.size() == 2);
    std::set<std::string> targets;
    for (const auto& r : rows) {
        targets.insert(r.target);
        auto ev = chat::chat_presence_from_event(nlohmann::json::parse(r.payloadJson));
        REQUIRE(ev);
        CHECK(ev->userId == "bob");
        CHECK(ev->online);
        CHECK(ev->version == 1);
        CHECK("conversation:" + ev->conversationId == r.target);
        CHECK(nlohmann::json::parse(r.payloadJson)["eventId"] == r.eventId);
    }
    CHECK(targets == std::set<std::string>{"conversation:c1", "conversation:c2"});
    CHECK(s.presence_connections() == std::vector<std::string>{"k1", "k2"});
    CHECK_FALSE(s.presence_disconnected("k1", 1003));  // k2 remains
    CHECK_FALSE(s.presence_disconnected("k1", 1004));  // twice
    CHECK_FALSE(s.presence_connected("bob", "k1", 1004));  // an ended connection's id is used up
    CHECK(s.presence_connections() == std::vector<std::string>{"k2"});
    // A disconnected event before its connected one (or a lost connected): the late connected
    // changes nothing.
    CHECK_FALSE(s.presence_disconnected("early", 1004));
    CHECK_FALSE(s.presence_connected("carol", "early", 1004));
    CHECK(state("c2", "carol") == std::make_pair(false, uint64_t(0)));
    CHECK(s.presence_disconnected("k2", 1005));
    CHECK(state("c1", "bob") == std::make_pair(false, uint64_t(2)));
    // The newer state replaced each conversation's older row (one per member and conversation).
    rows = s.outbox_rows("presence:");
    REQUIRE(rows.size() == 2);
    for (const auto& r : rows) CHECK_FALSE(chat::chat_presence_from_event(nlohmann::json::parse(r.payloadJson))->online);
    // A user in no conversation has a state but no events; reset takes everyone offline, no events.
    CHECK(s.presence_connected("carol", "k3", 1006));
    CHECK(s.presence_connected("dave", "k4", 1006));
    CHECK(s.outbox_rows("presence:").size() == 3);  // carol's, in c2 (bob's two replaced)
    s.presence_reset(1007);
    CHECK(state("c2", "carol") == std::make_pair(false, uint64_t(2)));
    CHECK(state("c2", "bob") == std::make_pair(false, uint64_t(2)));  // offline already: unchanged
    CHECK(s.outbox_rows("presence:").size() == 3);
    CHECK(s.presence_connections().empty());
    CHECK_FALSE(s.presence_disconnected("k3", 1008));  // ended by the reset
    CHECK_FALSE(s.presence_connected("carol", "k3", 1008));
    CHECK(s.presence_connected("carol", "k5", 1009));
    CHECK(state("c2", "carol") == std::make_pair(true, uint64_t(3)));
    // Ended connections are kept an hour, then forgotten (ce-time refuses older events).
    const int64_t later = 1009 + Store::kPresenceTombstoneMs + 1;
    CHECK_FALSE(s.presence_disconnected("unrelated", later));
    CHECK(s.presence_connected("bob", "k1", later));  // k1's row went with the hour
}

STORE_CASE("read receipts: every member's position, a chat.read event per move and none without one", read_receipts) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    for (int i = 1; i <= 3; ++i) s.append_message(draft("c1", "bob", "b" + std::to_string(i)), "conversation:c1", 1000 + i);
    CHECK(s.reads("c1") == std::vector<std::pair<std::string, uint64_t>>{{"alice", 0}, {"bob", 0}});
    CHECK(s.set_read("c1", "alice", 2, 2000) == 2);
    CHECK(s.set_read("c1", "alice", 2, 2001) == 2);  // no move: no event
    CHECK(s.set_read("c1", "alice", 1, 2002) == 2);  // backwards: no event
    CHECK(s.set_read("c1", "alice", 3, 2003) == 3);
    CHECK(s.reads("c1") == std::vector<std::pair<std::string, uint64_t>>{{"alice", 3}, {"bob", 0}});
    CHECK(s.reads("c9").empty());
    // One row per member: the newer position replaced the older row (a busy conversation's
    // readers do not fill the outbox).
    auto rows = s.outbox_rows("read:");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].type == "chat.read");
    CHECK(rows[0].target == "conversation:c1");
    auto ev = chat::chat_read_from_event(nlohmann::json::parse(rows[0].payloadJson));
    REQUIRE(ev);
    CHECK(ev->conversationId == "c1");
    CHECK(ev->userId == "alice");
    CHECK(ev->lastReadSeq == 3);
    CHECK(nlohmann::json::parse(rows[0].payloadJson)["eventId"] == rows[0].eventId);
    // Published, then moved again: still one row, the new one pending.
    s.mark_published(rows[0].eventId, 2004);
    s.append_message(draft("c1", "bob", "b4"), "conversation:c1", 2005);
    CHECK(s.set_read("c1", "alice", 4, 2006) == 4);
    rows = s.outbox_rows("read:");
    REQUIRE(rows.size() == 1);
    CHECK_FALSE(rows[0].processedAt);
    CHECK(chat::chat_read_from_event(nlohmann::json::parse(rows[0].payloadJson))->lastReadSeq == 4);
    // Another member's row is their own; ids that share a prefix do not touch each other's rows.
    s.upsert_user(User{"ali", "Ali", {}});
    s.create_conversation("c1:alice", "Two", "{}", {"alice", "ali", "bob"}, "alice", 100);
    s.append_message(draft("c1:alice", "bob", "x"), "conversation:c1:alice", 2007);
    CHECK(s.set_read("c1", "bob", 4, 2008) == 4);
    CHECK(s.set_read("c1:alice", "ali", 1, 2009) == 1);
    CHECK(s.set_read("c1:alice", "alice", 1, 2010) == 1);
    CHECK(s.outbox_rows("read:").size() == 4);
    CHECK(s.set_read("c1", "alice", 5, 2011) == 4);  // nothing past the last message: no move, no row
    CHECK(s.outbox_rows("read:").size() == 4);
}

STORE_CASE("mentions: the notifications a message causes are stored with it, with their outbox rows, once", mention_followups) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    int calls = 0;
    Store::Followups followups = [&](const chat::Message& m) {
        ++calls;
        Notification n;
        n.id = "mention:" + m.messageId + ":bob";
        n.targetKind = "user";
        n.targetId = "bob";
        n.title = "alice mentioned you";
        n.body = "in One";
        n.actionLabel = "Open";
        n.actionUrl = chat::message_link(m.conversationId, m.messageId, m.seq);
        n.createdBy = "alice";
        return std::vector<std::pair<Notification, std::string>>{{n, "notifications:user:bob"}};
    };
    const chat::Message m = s.append_message(draft("c1", "alice", "hi @bob", "cm1"), "conversation:c1", 1001, followups).message;
    CHECK(calls == 1);
    const auto page = s.notifications_for("bob", 0, 10, false);
    REQUIRE(page.items.size() == 1);
    CHECK(page.items[0].id == "mention:" + m.messageId + ":bob");
    CHECK(page.items[0].actionUrl == "app:message/1/" + m.messageId + "/c1");
    CHECK(s.notifications_for("alice", 0, 10, false).items.empty());
    const auto rows = s.outbox_rows("ntf:mention:");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].target == "notifications:user:bob");
    // A replay stores nothing again and asks for no followups.
    CHECK_FALSE(s.append_message(draft("c1", "alice", "hi @bob", "cm1"), "conversation:c1", 1002, followups).created);
    CHECK(calls == 1);
    CHECK(s.outbox_rows("ntf:mention:").size() == 1);
}

STORE_CASE("replies: the link to the parent is stored and read back, message() is the message as it is now", replies) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    const chat::Message parent = s.append_message(draft("c1", "bob", "question?"), "conversation:c1", 1001).message;
    chat::Message d = draft("c1", "alice", "answer");
    d.replyToId = parent.messageId;
    d.replyToSeq = parent.seq;
    const chat::Message reply = s.append_message(d, "conversation:c1", 1002).message;
    CHECK(reply.replyToId == parent.messageId);
    auto page = s.history("c1", 0, 0, 10);
    REQUIRE(page.size() == 2);
    CHECK(page[0].replyToId.empty());
    CHECK(page[1].replyToId == parent.messageId);
    CHECK(page[1].replyToSeq == parent.seq);
    const auto stored = s.message(reply.messageId);
    REQUIRE(stored);
    CHECK(stored->text == "answer");
    CHECK(stored->replyToId == parent.messageId);
    CHECK(stored->replyToSeq == 1);
    // The event clients receive carries the link.
    const auto rows = s.outbox_rows(reply.messageId);
    REQUIRE(!rows.empty());
    CHECK(nlohmann::json::parse(rows[0].payloadJson)["message"]["replyTo"] ==
          nlohmann::json{{"messageId", parent.messageId}, {"seq", 1}});
    // message(): reactions and tombstones as they are now; nothing for an unknown id.
    REQUIRE(s.react(parent.messageId, "alice", "\xF0\x9F\x91\x8D", true, 1003).outcome == ChangeOutcome::Changed);
    CHECK(s.message(parent.messageId)->reactions.size() == 1);
    REQUIRE(s.delete_message(parent.messageId, "bob", 1004).outcome == ChangeOutcome::Changed);
    const auto gone = s.message(parent.messageId);
    REQUIRE(gone);
    CHECK(gone->deleted);
    CHECK(gone->text.empty());
    CHECK(s.message(reply.messageId)->replyToId == parent.messageId);  // the reply keeps its link
    CHECK(!s.message("msg_nope"));
}

STORE_CASE("notifications: audiences, newest first with cursors, idempotent ids, an outbox row each", notifications) {
    seed_users(s);
    std::vector<Notification> made;
    int64_t t = 1000;
    for (auto [id, kind, target] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"n1", "user", "alice"}, {"n2", "team", "core"}, {"n3", "global", ""}, {"n4", "team", "design"}, {"n5", "user", "bob"}}) {
        Notification n = notification(id, kind, target);
        if (id == "n2") {
            n.actionLabel = "Open";
            n.actionUrl = "https://example.com/x";
        }
        auto [stored, created] = s.create_notification(n, "notifications:" + kind + ":" + target, ++t);
        CHECK(created);
        CHECK(stored.id == id);
        CHECK(stored.createdAt == t);
        CHECK(stored.createdBy == "backend");
        CHECK_FALSE(stored.read);
        made.push_back(stored);
    }
    CHECK(made[0].seq < made[1].seq);
    CHECK(made[1].actionLabel == "Open");
    CHECK(made[1].actionUrl == "https://example.com/x");
    CHECK(made[0].actionLabel.empty());

    // Idempotent on id: the stored one (with its creator), no second outbox row.
    const OutboxStats before = s.outbox_stats();
    CHECK(before.pending == 5);
    Notification other = notification("n1", "global", "", "alice");
    other.title = "Changed";
    auto [again, created] = s.create_notification(other, "notifications:global", 5000);
    CHECK_FALSE(created);
    CHECK(again.title == "Title n1");
    CHECK(again.targetKind == "user");
    CHECK(again.createdBy == "backend");
    CHECK(again.seq == made[0].seq);
    CHECK(s.outbox_stats().pending == before.pending);

    // The outbox row carries the event clients receive.
    const auto rows = s.due_outbox(10000, 100);
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].eventId == "ntf:n1");
    CHECK(rows[0].type == "notification");
    CHECK(rows[0].target == "notifications:user:alice");
    CHECK(rows[0].payloadJson == notification_event_json(made[0]));
    CHECK(rows[1].payloadJson == notification_event_json(made[1]));

    // Who sees what, newest first, pages through cursors.
    auto page = s.notifications_for("alice", 0, 2, false);
    CHECK(ids_of(page) == std::vector<std::string>{"n3", "n2"});
    REQUIRE(page.nextCursor);
    CHECK(*page.nextCursor == made[1].seq);
    page = s.notifications_for("alice", *page.nextCursor, 2, false);
    CHECK(ids_of(page) == std::vector<std::string>{"n1"});
    CHECK_FALSE(page.nextCursor);
    CHECK(ids_of(s.notifications_for("alice", 0, 10, false)) == std::vector<std::string>{"n3", "n2", "n1"});
    CHECK(ids_of(s.notifications_for("carol", 0, 10, false)) == std::vector<std::string>{"n4", "n3"});
    CHECK(ids_of(s.notifications_for("bob", 0, 3, false)) == std::vector<std::string>{"n5", "n3", "n2"});
    CHECK_FALSE(s.notifications_for("bob", 0, 3, false).nextCursor);  // exactly 3: no next page
    CHECK(s.unread_notifications("alice") == 3);
    CHECK(s.unread_notifications("nobody") == 1);  // the global one
}

STORE_CASE("notifications: seen, read and archived per user, read implies seen, others' items untouched", notification_marks) {
    seed_users(s);
    int64_t t = 1000;
    for (auto [id, kind, target] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"n1", "user", "alice"}, {"n2", "team", "core"}, {"n3", "global", ""}})
        s.create_notification(notification(id, kind, target), "g", ++t);
    auto find = [&](const std::string& user, const std::string& id, bool archived = true) {
        for (auto& n : s.notifications_for(user, 0, 100, archived).items)
            if (n.id == id) return std::optional<Notification>(n);
        return std::optional<Notification>();
    };
    s.mark_notifications("alice", {"n1"}, false, NotificationMark::Read, 2000);
    CHECK(find("alice", "n1")->read);
    CHECK(find("alice", "n1")->seen);  // read implies seen
    CHECK_FALSE(find("alice", "n2")->seen);
    CHECK(s.unread_notifications("alice") == 2);
    s.mark_notifications("alice", {}, true, NotificationMark::Seen, 2001);
    CHECK(find("alice", "n2")->seen);
    CHECK(find("alice", "n3")->seen);
    CHECK_FALSE(find("alice", "n2")->read);
    CHECK(s.unread_notifications("alice") == 2);  // seen is not read
    s.mark_notifications("alice", {"n3"}, false, NotificationMark::Archived, 2002);
    CHECK_FALSE(find("alice", "n3", false));  // hidden unless archived ones are asked for
    CHECK(find("alice", "n3", true)->archived);
    CHECK(s.unread_notifications("alice") == 1);  // archived ones are not unread
    // Another user's marks change nothing of alice's; a notification carol cannot see stays unmarked.
    s.mark_notifications("carol", {"n1", "n2"}, false, NotificationMark::Read, 2003);
    CHECK_FALSE(find("carol", "n1"));
    CHECK(s.unread_notifications("bob") == 2);
    CHECK_FALSE(find("bob", "n2")->seen);
    s.mark_notifications("alice", {"unknown"}, false, NotificationMark::Read, 2004);
    s.mark_notifications("alice", {}, true, NotificationMark::Read, 2005);
    CHECK(s.unread_notifications("alice") == 0);
    CHECK(s.unread_notifications("bob") == 2);
    // Marking twice keeps the state (the first time stays).
    s.mark_notifications("alice", {"n1"}, false, NotificationMark::Read, 3000);
    CHECK(find("alice", "n1")->read);
}

STORE_CASE("blobs: metadata round trip and the bytes each user stores (quotas)", blobs) {
    CHECK_FALSE(s.blob("blob_x"));
    CHECK(s.blob_bytes_of("alice") == 0);
    s.put_blob(BlobMeta{"blob_1", "a.png", "image/png", "alice", 100, 1000});
    s.put_blob(BlobMeta{"blob_2", "b.txt", "text/plain", "alice", 50, 1001});
    s.put_blob(BlobMeta{"blob_3", "c.bin", "application/octet-stream", "bob", 7, 1002});
    CHECK_THROWS(s.put_blob(BlobMeta{"blob_1", "again", "text/plain", "bob", 1, 1003}));  // ids are unique
    const auto b = s.blob("blob_1");
    REQUIRE(b);
    CHECK(b->id == "blob_1");
    CHECK(b->name == "a.png");
    CHECK(b->contentType == "image/png");
    CHECK(b->uploaderId == "alice");
    CHECK(b->size == 100);
    CHECK(b->createdAt == 1000);
    CHECK(s.blob_bytes_of("alice") == 150);
    CHECK(s.blob_bytes_of("bob") == 7);
    CHECK(s.blob_bytes_of("carol") == 0);
}

STORE_CASE("edits and deletes: who may, versions from the change counter, tombstones, an event each, the changes feed", edits) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "bob", 100);  // bob created it
    s.create_conversation("c2", "Two", "{}", {"alice", "carol"}, "alice", 100);
    const chat::Message a1 = s.append_message(draft("c1", "alice", "helo"), "conversation:c1", 1000).message;
    const chat::Message a2 = s.append_message(draft("c1", "alice", "second"), "conversation:c1", 1001).message;
    const chat::Message b1 = s.append_message(draft("c1", "bob", "bob's"), "conversation:c1", 1002).message;
    const chat::Message other = s.append_message(draft("c2", "alice", "elsewhere"), "conversation:c2", 1003).message;
    CHECK(a1.version == 0);
    CHECK(s.conversation("c1", "alice")->rev == 0);
    for (const auto& row : s.due_outbox(5000, 100)) s.mark_published(row.eventId, 5000);

    // Refusals change nothing and queue nothing.
    CHECK(s.edit_message("msg_nope", "alice", "x", 2000).outcome == ChangeOutcome::NotFound);
    CHECK(s.edit_message(a1.messageId, "carol", "x", 2000).outcome == ChangeOutcome::NotMember);  // not in c1
    CHECK(s.delete_message(a1.messageId, "carol", 2000).outcome == ChangeOutcome::NotMember);
    CHECK(s.edit_message(a1.messageId, "bob", "x", 2000).outcome == ChangeOutcome::NotAllowed);  // not the author
    CHECK(s.delete_message(other.messageId, "carol", 2000).outcome == ChangeOutcome::NotAllowed);  // c2 is alice's
    CHECK(s.edit_message(a1.messageId, "alice", "helo", 2000).outcome == ChangeOutcome::Unchanged);
    CHECK(s.due_outbox(5000, 100).empty());
    CHECK(s.changes("c1", 0, 100).empty());

    // The author edits: a new version from the conversation's counter, editedAt, one event.
    auto e = s.edit_message(a1.messageId, "alice", "hello \u00e9\u00e8 \U0001F600", 2001);
    REQUIRE(e.outcome == ChangeOutcome::Changed);
    CHECK(e.message.text == "hello \u00e9\u00e8 \U0001F600");
    CHECK(e.message.version == 1);
    CHECK(e.message.editedAtMs == 2001);
    CHECK(e.message.seq == a1.seq);
    CHECK(e.message.createdAtMs == a1.createdAtMs);
    auto rows = s.due_outbox(5000, 100);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].eventId == "upd:" + a1.messageId + ":1");
    CHECK(rows[0].type == chat::kChatMessageUpdatedEvent);
    CHECK(rows[0].target == "conversation:c1");
    auto published = chat::chat_message_from_event(nlohmann::json::parse(rows[0].payloadJson));
    REQUIRE(published);
    CHECK(published->text == e.message.text);
    CHECK(published->version == 1);
    s.mark_published(rows[0].eventId, 5001);

    // The conversation's creator deletes someone else's message; the author deletes their own.
    auto d = s.delete_message(a2.messageId, "bob", 2002);
    REQUIRE(d.outcome == ChangeOutcome::Changed);
    CHECK(d.message.deleted);
    CHECK(d.message.text.empty());
    CHECK(d.message.version == 2);
    CHECK(s.delete_message(a2.messageId, "alice", 2003).outcome == ChangeOutcome::Unchanged);  // a tombstone already
    CHECK(s.edit_message(a2.messageId, "alice", "back", 2003).outcome == ChangeOutcome::Deleted);
    CHECK(s.delete_message(b1.messageId, "alice", 2004).outcome == ChangeOutcome::NotAllowed);  // alice did not create c1
    CHECK(s.delete_message(b1.messageId, "bob", 2005).outcome == ChangeOutcome::Changed);
    // b1 is the conversation's newest: its activity goes out again (list previews follow).
    CHECK(event_ids(s.due_outbox(5000, 100)) ==
          std::vector<std::string>{"upd:" + a2.messageId + ":2", "act:" + b1.messageId + ":3", "upd:" + b1.messageId + ":3"});

    // History keeps every sequence number (tombstones with no text); the changes feed lists the
    // changed messages in version order from any counter; the summary carries the counter.
    const auto h = s.history("c1", 0, 0, 100);
    REQUIRE(seqs(h) == std::vector<uint64_t>{1, 2, 3});
    CHECK(h[0].text == e.message.text);
    CHECK(h[0].editedAtMs == 2001);
    CHECK_FALSE(h[0].deleted);
    CHECK(h[1].deleted);
    CHECK(h[1].text.empty());
    CHECK(h[1].version == 2);
    CHECK(h[2].deleted);
    auto versions = [](const std::vector<chat::Message>& ms) {
        std::vector<uint64_t> out;
        for (auto& m : ms) out.push_back(m.version);
        return out;
    };
    CHECK(versions(s.changes("c1", 0, 100)) == std::vector<uint64_t>{1, 2, 3});
    CHECK(versions(s.changes("c1", 1, 100)) == std::vector<uint64_t>{2, 3});
    CHECK(versions(s.changes("c1", 0, 2)) == std::vector<uint64_t>{1, 2});
    CHECK(s.changes("c1", 3, 100).empty());
    CHECK(s.changes("c2", 0, 100).empty());  // per conversation
    CHECK(s.conversation("c1", "alice")->rev == 3);
    CHECK(s.conversation("c2", "alice")->rev == 0);
    CHECK(s.conversation("c1", "alice")->unread == 1);  // bob's tombstone still counts: seqs and badges agree
    CHECK(s.conversation("c1", "alice")->lastMessage->deleted);
}

STORE_CASE("a change rewrites the message's unpublished events: a deleted text is never published after the delete", supersede) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    for (const auto& row : s.due_outbox(5000, 100)) s.mark_published(row.eventId, 5000);
    const auto m = s.append_message(draft("c1", "alice", "my password is hunter2"), "conversation:c1", 1000).message;
    REQUIRE(s.edit_message(m.messageId, "alice", "oops", 1001).outcome == ChangeOutcome::Changed);
    REQUIRE(s.delete_message(m.messageId, "alice", 1002).outcome == ChangeOutcome::Changed);
    const auto rows = s.due_outbox(5000, 100);
    // The message's own event and its activity, rewritten as the tombstone; the edit's event
    // dropped (the delete's carries the whole message).
    CHECK(event_ids(rows) ==
          std::vector<std::string>{m.messageId, "act:" + m.messageId, "act:" + m.messageId + ":2", "upd:" + m.messageId + ":2"});
    for (const auto& row : rows) {
        INFO(row.payloadJson);
        CHECK(row.payloadJson.find("hunter") == std::string::npos);
        CHECK(row.payloadJson.find("oops") == std::string::npos);
    }
    auto first = chat::chat_message_from_event(nlohmann::json::parse(rows[0].payloadJson));
    REQUIRE(first);
    CHECK(first->deleted);
    CHECK(first->version == 2);
    CHECK(first->seq == m.seq);
    CHECK(nlohmann::json::parse(rows[1].payloadJson)["preview"] == "Message deleted");
    // A delete leaves no copy of the text in the outbox, published rows included.
    const auto m3 = s.append_message(draft("c1", "alice", "published secret"), "conversation:c1", 1003).message;
    for (const auto& row : s.due_outbox(5000, 100)) s.mark_published(row.eventId, 5001);
    REQUIRE(s.edit_message(m3.messageId, "alice", "published secret, edited", 1004).outcome == ChangeOutcome::Changed);
    for (const auto& row : s.due_outbox(5000, 100)) s.mark_published(row.eventId, 5002);
    REQUIRE(s.delete_message(m3.messageId, "alice", 1005).outcome == ChangeOutcome::Changed);
    for (const auto& row : s.due_outbox(5000, 100)) s.mark_published(row.eventId, 5003);
    CHECK(s.outbox_stats().pending == 0);
    std::size_t rows_of_m3 = 0;
    std::vector<OutboxRow> all = s.outbox_rows("");
    for (const auto& row : all) {
        if (row.payloadJson.find(m3.messageId) == std::string::npos) continue;
        ++rows_of_m3;
        INFO(row.eventId << " " << row.payloadJson);
        CHECK(row.payloadJson.find("secret") == std::string::npos);
    }
    CHECK(rows_of_m3 == 6);  // the message, its activity, the edit's and the delete's events and activities
    // An edit rewrites only what is not published yet (what was published was said).
    const auto m2 = s.append_message(draft("c1", "alice", "second"), "conversation:c1", 1006).message;
    s.mark_published(m2.messageId, 5004);
    REQUIRE(s.edit_message(m2.messageId, "alice", "second, edited", 1007).outcome == ChangeOutcome::Changed);
    const auto due = s.due_outbox(5000, 100);
    CHECK(event_ids(due) == std::vector<std::string>{"act:" + m2.messageId, "act:" + m2.messageId + ":5", "upd:" + m2.messageId + ":5"});
    CHECK(nlohmann::json::parse(due[0].payloadJson)["preview"] == "second, edited");
}

STORE_CASE("deletes: an upload goes with the last message that links it, whoever posted the others", delete_blobs) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    s.create_conversation("c2", "Two", "{}", {"bob", "carol"}, "bob", 100);
    s.put_blob(BlobMeta{"blob_00000000000000000001", "a.png", "image/png", "alice", 100, 1000});
    s.put_blob(BlobMeta{"blob_00000000000000000002", "b.png", "image/png", "bob", 100, 1000});
    auto with = [&](const std::string& conv, const std::string& sender, const std::string& blob) {
        chat::Message m = draft(conv, sender, "");
        m.attachment = chat::Attachment{"/blobs/" + blob + "?exp=1&sig=x", "f.png", "image/png", 100};
        return s.append_message(m, "conversation:" + conv, 1001).message;
    };
    const auto mine = with("c1", "alice", "blob_00000000000000000001");
    const auto repost = with("c1", "bob", "blob_00000000000000000001");  // bob posts alice's link again
    const auto bobs = with("c1", "bob", "blob_00000000000000000002");
    const auto bobs_elsewhere = with("c2", "bob", "blob_00000000000000000002");  // and his own in c2 (alice is not in it)

    // alice deletes her message: bob's copy still links her upload, it stays.
    CHECK(s.delete_message(mine.messageId, "alice", 2000).removedBlob.empty());
    CHECK(s.blob("blob_00000000000000000001"));
    // bob deletes his copy: nothing links it any more, it goes.
    CHECK(s.delete_message(repost.messageId, "bob", 2001).removedBlob == "blob_00000000000000000001");
    CHECK_FALSE(s.blob("blob_00000000000000000001"));
    CHECK(s.blob_bytes_of("alice") == 0);

    // alice, c1's creator, deletes bob's message there: his message in c2 (which she cannot see)
    // keeps its upload.
    CHECK(s.delete_message(bobs.messageId, "alice", 2002).removedBlob.empty());
    CHECK(s.blob("blob_00000000000000000002"));
    CHECK(s.delete_message(bobs_elsewhere.messageId, "bob", 2003).removedBlob == "blob_00000000000000000002");
    CHECK_FALSE(s.blob("blob_00000000000000000002"));
    for (const auto& conv : {"c1", "c2"})
        for (const auto& m : s.history(conv, 0, 0, 100)) {
            CHECK(m.deleted);
            CHECK_FALSE(m.attachment);
        }
}

STORE_CASE("reactions: one per user and emoji, members only, a version and an event per change, on history and changes, gone with a delete", reactions) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    const auto m = s.append_message(draft("c1", "bob", "ship it"), "conversation:c1", 1000).message;
    const auto other = s.append_message(draft("c1", "bob", "second"), "conversation:c1", 1001).message;
    for (const auto& row : s.due_outbox(5000, 100)) s.mark_published(row.eventId, 5000);
    const std::string thumbs = "\U0001F44D", party = "\U0001F389", family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";

    CHECK(s.react("msg_nope", "alice", thumbs, true, 2000).outcome == ChangeOutcome::NotFound);
    CHECK(s.react(m.messageId, "carol", thumbs, true, 2000).outcome == ChangeOutcome::NotMember);
    auto r1 = s.react(m.messageId, "alice", thumbs, true, 2001);
    REQUIRE(r1.outcome == ChangeOutcome::Changed);
    CHECK(r1.message.version == 1);
    CHECK(s.react(m.messageId, "alice", thumbs, true, 2002).outcome == ChangeOutcome::Unchanged);  // one per user and emoji
    CHECK(s.react(m.messageId, "bob", thumbs, true, 2003).outcome == ChangeOutcome::Changed);
    CHECK(s.react(m.messageId, "bob", family, true, 2004).outcome == ChangeOutcome::Changed);
    auto r4 = s.react(m.messageId, "alice", party, true, 2005);
    REQUIRE(r4.outcome == ChangeOutcome::Changed);
    REQUIRE(r4.message.reactions.size() == 3);
    CHECK(r4.message.reactions[0].emoji == thumbs);  // by first use
    CHECK(r4.message.reactions[0].users == std::vector<std::string>{"alice", "bob"});
    CHECK(r4.message.reactions[1].emoji == family);
    CHECK(r4.message.reactions[2].users == std::vector<std::string>{"alice"});
    CHECK(chat::reactions_summary(r4.message) == thumbs + ":2," + family + ":1," + party + ":1");
    // Taking one back; taking back what is not there changes nothing.
    CHECK(s.react(m.messageId, "alice", thumbs, false, 2006).outcome == ChangeOutcome::Changed);
    CHECK(s.react(m.messageId, "alice", thumbs, false, 2007).outcome == ChangeOutcome::Unchanged);
    // Every change an event with the whole message, later versions superseding earlier unpublished ones.
    const auto rows = s.due_outbox(5000, 100);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].eventId == "upd:" + m.messageId + ":5");
    auto ev = chat::chat_message_from_event(nlohmann::json::parse(rows[0].payloadJson));
    REQUIRE(ev);
    CHECK(chat::reactions_summary(*ev) == thumbs + ":1," + family + ":1," + party + ":1");
    // History and changes carry them (and only for their own message).
    const auto h = s.history("c1", 0, 0, 10);
    REQUIRE(h.size() == 2);
    CHECK(chat::reactions_summary(h[0]) == thumbs + ":1," + family + ":1," + party + ":1");
    CHECK(h[1].reactions.empty());
    const auto ch = s.changes("c1", 0, 10);
    REQUIRE(ch.size() == 1);
    CHECK(ch[0].reactions.size() == 3);
    // At most kMaxReactionEmoji different emoji; more of a known one is fine.
    for (std::size_t i = 3; i < chat::kMaxReactionEmoji; ++i)
        REQUIRE(s.react(other.messageId, "alice", "e" + std::to_string(i), true, 3000).outcome == ChangeOutcome::Changed);
    for (std::size_t i = 0; i < 3; ++i) REQUIRE(s.react(other.messageId, "bob", "x" + std::to_string(i), true, 3000).outcome == ChangeOutcome::Changed);
    CHECK(s.react(other.messageId, "bob", "one-too-many", true, 3001).outcome == ChangeOutcome::TooMany);
    CHECK(s.react(other.messageId, "bob", "e3", true, 3002).outcome == ChangeOutcome::Changed);
    // A delete takes them with it; tombstones take none.
    REQUIRE(s.delete_message(m.messageId, "bob", 4000).outcome == ChangeOutcome::Changed);
    CHECK(s.history("c1", 0, 0, 10)[0].reactions.empty());
    CHECK(s.react(m.messageId, "alice", thumbs, true, 4001).outcome == ChangeOutcome::Deleted);
}

STORE_CASE("outbox: due rows in order, published, retried, then dead, with stats", outbox) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    // The conversation's own row, committed with it: conversation.created for its members.
    CHECK(s.next_outbox_due() == std::optional<int64_t>(100));
    auto created = s.due_outbox(100, 10);
    REQUIRE(event_ids(created) == std::vector<std::string>{"new:c1"});
    CHECK(created[0].type == "conversation.created");
    CHECK(created[0].target == "c1");
    CHECK(created[0].payloadJson == chat::conversation_created_event("c1", "alice").dump());
    s.mark_published("new:c1", 101);
    CHECK_FALSE(s.next_outbox_due());
    const chat::Message m = s.append_message(draft("c1", "alice", "hi"), "conversation:c1", 1000).message;
    CHECK(s.next_outbox_due() == std::optional<int64_t>(1000));
    CHECK(s.due_outbox(999, 10).empty());
    CHECK(event_ids(s.due_outbox(1000, 1)) == std::vector<std::string>{m.messageId});
    auto rows = s.due_outbox(1000, 10);
    REQUIRE(event_ids(rows) == std::vector<std::string>{m.messageId, "act:" + m.messageId});
    CHECK(rows[0].type == "chat.message");
    CHECK(rows[0].target == "conversation:c1");
    CHECK(rows[0].payloadJson == chat::chat_message_event(m).dump());
    CHECK(rows[0].createdAt == 1000);
    CHECK(rows[0].nextAttemptAt == 1000);
    CHECK(rows[0].retryCount == 0);
    CHECK_FALSE(rows[0].processedAt);
    CHECK_FALSE(rows[0].dead);
    CHECK(rows[1].type == "conversation.activity");
    CHECK(rows[1].target == "c1");
    CHECK(rows[1].payloadJson == chat::activity_json(m).dump());
    CHECK(s.outbox_stats().pending == 2);

    s.mark_published(m.messageId, 1001);
    s.mark_published(m.messageId, 1002);  // twice: no change
    CHECK(event_ids(s.due_outbox(1001, 10)) == std::vector<std::string>{"act:" + m.messageId});
    OutboxStats st = s.outbox_stats();
    CHECK(st.pending == 1);
    CHECK(st.processed == 2);  // and new:c1
    CHECK(st.dead == 0);

    s.mark_failed("act:" + m.messageId, "boom", 1500, false);
    CHECK(s.due_outbox(1499, 10).empty());
    CHECK(s.next_outbox_due() == std::optional<int64_t>(1500));
    rows = s.due_outbox(1500, 10);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].retryCount == 1);
    CHECK(rows[0].lastError == "boom");
    CHECK(rows[0].nextAttemptAt == 1500);

    s.mark_failed("act:" + m.messageId, "boom again", 2000, true);
    CHECK(s.due_outbox(1'000'000'000, 10).empty());
    CHECK_FALSE(s.next_outbox_due());
    const auto dead = s.dead_outbox();
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].eventId == "act:" + m.messageId);
    CHECK(dead[0].dead);
    CHECK(dead[0].retryCount == 2);
    CHECK(dead[0].lastError == "boom again");
    st = s.outbox_stats();
    CHECK(st.pending == 0);
    CHECK(st.processed == 2);
    CHECK(st.dead == 1);
}

STORE_CASE("outbox: a failed row holds back its target's newer rows until it is published or dead (other targets go on)", outbox_order) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    s.mark_published("new:c1", 100);
    const chat::Message m1 = s.append_message(draft("c1", "alice", "1"), "conversation:c1", 1000).message;
    const chat::Message m2 = s.append_message(draft("c1", "alice", "2"), "conversation:c1", 1000).message;
    // Rows: m1, m2 for conversation:c1; act:m1, act:m2 for c1. m1's publish fails.
    s.mark_failed(m1.messageId, "boom", 3000, false);
    // m2 waits behind m1 (same target); the other target's rows go on.
    CHECK(event_ids(s.due_outbox(2000, 10)) == std::vector<std::string>{"act:" + m1.messageId, "act:" + m2.messageId});
    s.mark_published("act:" + m1.messageId, 2000);
    s.mark_published("act:" + m2.messageId, 2000);
    CHECK(s.due_outbox(2999, 10).empty());
    CHECK(s.next_outbox_due() == std::optional<int64_t>(3000));  // the worker sleeps until m1's retry, m2 with it
    // m1's retry is due: m1, then m2, in order.
    CHECK(event_ids(s.due_outbox(3000, 10)) == std::vector<std::string>{m1.messageId, m2.messageId});
    // A dead row no longer holds its target back.
    s.mark_failed(m1.messageId, "boom again", 4000, true);
    CHECK(event_ids(s.due_outbox(3500, 10)) == std::vector<std::string>{m2.messageId});
}

STORE_CASE("hostile text is data: quotes, SQL and placeholders round-trip", hostile_text) {
    const std::string id = "c'; DROP TABLE Messages; --";
    const std::string user = "o'brien\"\\ $1 ?1 %s";
    const std::string text = "'); DELETE FROM Users; -- $2 ?2 \xc3\xa9 \xf0\x9f\x98\x80";
    s.upsert_user(User{user, text, {"t'eam"}});
    CHECK(s.user(user)->displayName == text);
    CHECK(s.user(user)->teams == std::vector<std::string>{"t'eam"});
    CHECK_FALSE(s.user("o'brien"));
    s.create_conversation(id, text, "{}", {user}, user, 100);
    const AppendResult r = s.append_message(draft(id, user, text, text), "conversation:" + id, 1000);
    CHECK(s.append_message(draft(id, user, "x", text), "conversation:" + id, 1001).message.messageId == r.message.messageId);
    const auto h = s.history(id, 0, 0, 10);
    REQUIRE(h.size() == 1);
    CHECK(h[0].text == text);
    CHECK(h[0].senderId == user);
    CHECK(s.is_member(id, user));
    CHECK_FALSE(s.is_member("c' OR '1'='1", user));
    CHECK(s.members(id) == std::vector<std::string>{user});
    Notification n = notification("n'1", "user", user);
    n.body = text;
    s.create_notification(n, "g", 2000);
    s.mark_notifications(user, {"n'1", "' OR 1=1 --"}, false, NotificationMark::Read, 2001);
    CHECK(s.notifications_for(user, 0, 10, false).items.at(0).body == text);
    CHECK(s.unread_notifications(user) == 0);
}

STORE_CASE("rate limits: a full bucket, then waits, refilled with time up to the burst, one bucket per key", rate_limits) {
    // 6 a minute: one token every 10 s; burst 3.
    for (int i = 0; i < 3; ++i) CHECK(s.take_token("send:alice", 6, 3, 1000) == 0);
    CHECK(s.take_token("send:alice", 6, 3, 1000) == 10);   // empty: 10 s to the next token
    CHECK(s.take_token("send:alice", 6, 3, 6000) == 5);    // half refilled
    CHECK(s.take_token("send:alice", 6, 3, 11100) == 0);   // one token again
    CHECK(s.take_token("send:alice", 6, 3, 11100) == 10);
    CHECK(s.take_token("send:alice", 6, 3, 5000) == 10);   // a clock behind the stored one refills nothing
    // Other users and other kinds have buckets of their own.
    CHECK(s.take_token("send:bob", 6, 3, 11100) == 0);
    CHECK(s.take_token("create:alice", 6, 3, 11100) == 0);
    CHECK(s.take_token("send:' OR 1=1 --", 6, 3, 11100) == 0);
    // A long pause refills up to the burst, not beyond.
    for (int i = 0; i < 3; ++i) CHECK(s.take_token("send:alice", 6, 3, 10'000'000) == 0);
    CHECK(s.take_token("send:alice", 6, 3, 10'000'000) > 0);
    // No limit: always allowed.
    for (int i = 0; i < 50; ++i) CHECK(s.take_token("upload:alice", 0, 1, 1000) == 0);
    // The wait rounds up to whole seconds: 60 a minute, 0.25 tokens left -> 1 s.
    CHECK(s.take_token("notify:alice", 60, 1, 1000) == 0);
    CHECK(s.take_token("notify:alice", 60, 1, 1250) == 1);
}

STORE_CASE("messages: a stored message is found by its sender's clientMessageId (replays)", message_by_client_id) {
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    const chat::Message m = s.append_message(draft("c1", "alice", "hi", "cm-1"), "conversation:c1", 1000).message;
    const auto found = s.message_by_client_id("c1", "alice", "cm-1");
    REQUIRE(found);
    CHECK(found->messageId == m.messageId);
    CHECK(found->seq == m.seq);
    CHECK_FALSE(s.message_by_client_id("c1", "bob", "cm-1"));    // another sender's key
    CHECK_FALSE(s.message_by_client_id("c2", "alice", "cm-1"));  // another conversation
    CHECK_FALSE(s.message_by_client_id("c1", "alice", "cm-2"));
}

TEST_CASE("store (sqlite): two stores on one database file never take more tokens than the burst", "[store][sqlite][concurrency]") {
    const std::string path = (std::filesystem::temp_directory_path() / ("store_test_rate_" + random_hex(6) + ".db")).string();
    struct Cleanup {
        std::string p;
        ~Cleanup() {
            for (const char* ext : {"", "-wal", "-shm"}) std::remove((p + ext).c_str());
        }
    } cleanup{path};
    SqliteStore a(path), b(path);  // as two processes on one file: a connection each
    constexpr int kThreads = 4, kEach = 25, kBurst = 20;
    std::atomic<int> taken{0}, ready{0};
    const auto errors = on_threads(kThreads, [&](int t) {
        Store& db = t % 2 ? static_cast<Store&>(a) : static_cast<Store&>(b);
        for (++ready; ready < kThreads;) std::this_thread::yield();  // all at once
        for (int i = 0; i < kEach; ++i)
            if (db.take_token("send:alice", 1, kBurst, 1000) == 0) ++taken;  // one moment: no refill
    });
    CHECK(errors == std::vector<std::string>{});
    CHECK(taken == kBurst);
}

// ---------------------------------------------------------------------------------------------
// PgStore: several instances on one database
// ---------------------------------------------------------------------------------------------

TEST_CASE("store (postgresql): concurrent writers on their own connections get unique, gap-free seqs", "[store][postgresql][concurrency]") {
    PgEngine e;
    seed_users(e.store());
    e.store().create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    e.store().mark_published("new:c1", 100);  // its conversation.created row: not what this case is about
    constexpr int kThreads = 4, kEach = 25;
    std::vector<std::vector<uint64_t>> got(kThreads);
    std::vector<std::unique_ptr<PgStore>> instances;
    for (int t = 0; t < kThreads; ++t) instances.push_back(e.open());  // one instance each: its own connection
    std::atomic<int> ready{0};
    const auto errors = on_threads(kThreads, [&](int t) {
        auto& db = instances[static_cast<std::size_t>(t)];
        for (++ready; ready < kThreads;) std::this_thread::yield();  // all at once
        for (int i = 0; i < kEach; ++i)
            got[static_cast<std::size_t>(t)].push_back(
                db->append_message(draft("c1", "alice", std::to_string(t) + ":" + std::to_string(i)), "conversation:c1", 1000 + i).message.seq);
    });
    CHECK(errors == std::vector<std::string>{});
    std::vector<uint64_t> all;
    for (auto& g : got) {
        CHECK(std::is_sorted(g.begin(), g.end()));  // each writer's own appends in order
        all.insert(all.end(), g.begin(), g.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<uint64_t> expected(kThreads * kEach);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = i + 1;
    CHECK(all == expected);  // unique and gap-free
    CHECK(seqs(e.store().history("c1", 0, 0, 1000)) == expected);
    CHECK(e.store().conversation("c1", "alice")->lastSeq == expected.size());
}

TEST_CASE("store (postgresql): one clientMessageId sent through several instances at once is stored once", "[store][postgresql][concurrency]") {
    PgEngine e;
    seed_users(e.store());
    e.store().create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    e.store().mark_published("new:c1", 100);  // its conversation.created row: not what this case is about
    constexpr int kThreads = 4;
    std::vector<std::unique_ptr<PgStore>> instances;
    for (int t = 0; t < kThreads; ++t) instances.push_back(e.open());  // connected before the race starts
    std::vector<AppendResult> results(kThreads);
    std::atomic<int> ready{0};
    const auto errors = on_threads(kThreads, [&](int t) {
        for (++ready; ready < kThreads;) std::this_thread::yield();  // all at once
        results[static_cast<std::size_t>(t)] =
            instances[static_cast<std::size_t>(t)]->append_message(draft("c1", "alice", "once", "cm-same"), "conversation:c1", 1000);
    });
    REQUIRE(errors == std::vector<std::string>{});
    int created = 0;
    for (auto& r : results) {
        created += r.created ? 1 : 0;
        CHECK(r.message.messageId == results[0].message.messageId);
        CHECK(r.message.seq == 1);
    }
    CHECK(created == 1);
    CHECK(e.store().history("c1", 0, 0, 10).size() == 1);
    CHECK(e.store().outbox_stats().pending == 2);
}

TEST_CASE("store (postgresql): outbox claims: one instance per row while the lease holds, per-target order, expired leases taken over",
          "[store][postgresql][outbox]") {
    PgEngine e;
    seed_users(e.store());
    e.store().create_conversation("c1", "One", "{}", {"alice", "bob"}, "alice", 100);
    e.store().mark_published("new:c1", 100);  // its conversation.created row: not what this case is about
    const chat::Message m1 = e.store().append_message(draft("c1", "alice", "1"), "conversation:c1", 1000).message;
    const chat::Message m2 = e.store().append_message(draft("c1", "alice", "2"), "conversation:c1", 1000).message;
    // Rows: m1 and m2 for conversation:c1 (in that order), act:m1 and act:m2 for c1.
    constexpr int64_t kLease = 60000;
    auto a = e.open(PgOptions{kLease, "instance-a"});
    auto b = e.open(PgOptions{kLease, "instance-b"});
    CHECK(a->instance_id() == "instance-a");

    CHECK(event_ids(a->due_outbox(1000, 1)) == std::vector<std::string>{m1.messageId});
    // b never gets a's row, nor m2 while the older m1 of the same target is a's; the other
    // target's rows are free.
    CHECK(event_ids(b->due_outbox(1000, 10)) == std::vector<std::string>{"act:" + m1.messageId, "act:" + m2.messageId});
    CHECK(b->due_outbox(1000 + kLease - 1, 10).size() == 2);  // its own again (the lease renewed)
    // a may take m2 behind its own m1; the act rows are b's now.
    CHECK(event_ids(a->due_outbox(1000, 10)) == std::vector<std::string>{m1.messageId, m2.messageId});

    // a dies holding m1: once its lease runs out b takes m1 over, then m2 in order.
    b->mark_published("act:" + m1.messageId, 1001);
    b->mark_published("act:" + m2.messageId, 1001);
    CHECK(b->due_outbox(1000 + kLease - 1, 10).empty());
    CHECK(b->next_outbox_due() == std::optional<int64_t>(1000 + kLease));  // b's worker sleeps until a's lease ends
    CHECK(event_ids(b->due_outbox(1000 + kLease, 10)) == std::vector<std::string>{m1.messageId, m2.messageId});
    CHECK(a->due_outbox(1000 + kLease, 10).empty());  // b holds both now

    // A failed row is free again once due: any instance takes it.
    b->mark_published(m1.messageId, 2000);
    b->mark_failed(m2.messageId, "boom", 3000, false);
    CHECK(a->due_outbox(2999, 10).empty());
    const auto retry = a->due_outbox(3000, 10);
    REQUIRE(event_ids(retry) == std::vector<std::string>{m2.messageId});
    CHECK(retry[0].retryCount == 1);
    a->mark_published(m2.messageId, 3001);
    const OutboxStats st = e.store().outbox_stats();
    CHECK(st.pending == 0);
    CHECK(st.processed == 5);  // and new:c1
}

TEST_CASE("store (postgresql): two workers drain one outbox: every row published once, each target in order",
          "[store][postgresql][outbox][concurrency]") {
    PgEngine e;
    seed_users(e.store());
    std::map<std::string, std::pair<std::string, uint64_t>> row_of;  // eventId -> (target, seq)
    for (const char* c : {"c1", "c2", "c3"}) {
        e.store().create_conversation(c, c, "{}", {"alice", "bob"}, "alice", 100);
        e.store().mark_published(std::string("new:") + c, 100);
        for (int i = 0; i < 15; ++i) {
            const chat::Message m = e.store().append_message(draft(c, "alice", "m"), chat::conversation_group(c), 1000).message;
            row_of[m.messageId] = {chat::conversation_group(c), m.seq};
            row_of["act:" + m.messageId] = {c, m.seq};
        }
    }
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> published;  // (eventId, instance), in publish order
    const auto errors = on_threads(2, [&](int t) {
        const std::string name = "w" + std::to_string(t + 1);
        auto db = e.open(PgOptions{60000, name});
        for (int pass = 0; pass < 2000; ++pass) {
            const auto rows = db->due_outbox(5000, 4);
            if (rows.empty()) {
                if (db->outbox_stats().pending == 0) return;
                std::this_thread::yield();
                continue;
            }
            for (const auto& r : rows) {
                {
                    std::lock_guard<std::mutex> lock(mu);
                    published.emplace_back(r.eventId, name);  // "published", then marked: as OutboxWorker does
                }
                db->mark_published(r.eventId, 5001);
            }
        }
    });
    REQUIRE(errors == std::vector<std::string>{});
    CHECK(published.size() == row_of.size());  // each row once
    std::set<std::string> once;
    std::map<std::string, uint64_t> last_seq;
    for (auto& [id, instance] : published) {
        CHECK(once.insert(id).second);
        const auto& [target, seq] = row_of.at(id);
        CHECK(seq > last_seq[target]);  // per target in order
        last_seq[target] = seq;
    }
    CHECK(once.size() == row_of.size());
    CHECK(e.store().outbox_stats().processed == row_of.size() + 3);  // and the three conversations' new: rows
}

TEST_CASE("store (postgresql): two instances taking tokens for one user at once never hand out more than the burst",
          "[store][postgresql][concurrency]") {
    PgEngine e;
    auto a = e.open(), b = e.open();  // two backend instances: a connection each
    constexpr int kThreads = 4, kEach = 25, kBurst = 20;
    std::atomic<int> taken{0}, ready{0};
    std::atomic<int64_t> waits{0};
    const auto errors = on_threads(kThreads, [&](int t) {
        PgStore& db = t % 2 ? *a : *b;
        for (++ready; ready < kThreads;) std::this_thread::yield();  // all at once
        for (int i = 0; i < kEach; ++i) {
            const int64_t wait = db.take_token("send:alice", 1, kBurst, 1000);  // one moment: no refill
            if (wait == 0) ++taken;
            else waits += wait;
        }
    });
    CHECK(errors == std::vector<std::string>{});
    CHECK(taken == kBurst);
    CHECK(waits == int64_t(kThreads * kEach - kBurst) * 60);  // 1 a minute, empty bucket: 60 s each refused take
    // Refilled once for everyone: a minute later one token, on whichever instance asks first.
    CHECK(a->take_token("send:alice", 1, kBurst, 61'000) == 0);
    CHECK(b->take_token("send:alice", 1, kBurst, 61'000) > 0);
}

TEST_CASE("store (postgresql): migrations run once, also when instances start together", "[store][postgresql][migrations]") {
    PgEngine e(false);  // an empty schema: the instances below find nothing migrated
    std::vector<int> versions(3);
    const auto errors = on_threads(3, [&](int t) { versions[static_cast<std::size_t>(t)] = e.open()->schema_version(); });
    CHECK(errors == std::vector<std::string>{});
    const int all = static_cast<int>(std::size(sql::k_postgresql_migrations));
    CHECK(all == 6);
    CHECK(versions == std::vector<int>{all, all, all});
    pqxx::connection c(e.url());
    pqxx::nontransaction w(c);
    CHECK(w.exec("SELECT COUNT(*) FROM SchemaMigrations")[0][0].as<int>() == all);
    const auto names = w.exec("SELECT Name FROM SchemaMigrations ORDER BY Version");
    REQUIRE(names.size() == 6);
    CHECK(names[0][0].as<std::string>() == "001_init");
    CHECK(names[1][0].as<std::string>() == "002_rate_limits");
    CHECK(names[2][0].as<std::string>() == "003_edits");
    CHECK(names[3][0].as<std::string>() == "004_reactions");
    CHECK(names[4][0].as<std::string>() == "005_replies");
    CHECK(names[5][0].as<std::string>() == "006_presence");
    CHECK(e.open()->schema_version() == all);  // and again: nothing to do
}

TEST_CASE("store (postgresql): a NUL character is refused, never cut short", "[store][postgresql][security]") {
    PgEngine e;
    Store& s = e.store();
    seed_users(s);
    s.create_conversation("c1", "One", "{}", {"alice"}, "alice", 100);
    const std::string nul("a\0b", 3);
    CHECK_THROWS_AS(s.append_message(draft("c1", "alice", nul), "conversation:c1", 1000), std::invalid_argument);
    CHECK_THROWS_AS(s.is_member("c1", std::string("alice\0x", 7)), std::invalid_argument);  // not "alice"
    CHECK_THROWS_AS(s.user(std::string("alice\0", 6)), std::invalid_argument);
    CHECK(s.history("c1", 0, 0, 10).empty());
    CHECK(s.append_message(draft("c1", "alice", "after"), "conversation:c1", 1001).message.seq == 1);  // still usable
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL URLs (no server needed)
// ---------------------------------------------------------------------------------------------

TEST_CASE("store: postgresql:// and postgres:// select PostgreSQL, anything else is a SQLite path", "[store][postgresql-url]") {
    CHECK(is_postgres_url("postgresql://db.example.com/chat"));
    CHECK(is_postgres_url("postgres://u@localhost/chat"));
    CHECK_FALSE(is_postgres_url("chat.db"));
    CHECK_FALSE(is_postgres_url("/tmp/postgresql://x"));
    CHECK_FALSE(is_postgres_url("postgresql:/x"));
    CHECK_FALSE(is_postgres_url(":memory:"));
}

TEST_CASE("store: PostgreSQL URLs are checked and shown without their password", "[store][postgresql-url][security]") {
    CHECK(postgres_url_problem("postgresql://chat:pw@db.example.com:6543/chat?sslmode=require") == "");
    CHECK(redacted_postgres_url("postgresql://chat:s3cr%65t@db.example.com:6543/chat?sslmode=require") ==
          "postgresql://chat@db.example.com:6543/chat");
    CHECK(redacted_postgres_url("postgres://localhost/chat") == "postgresql://localhost/chat");
    for (const char* bad : {"postgresql://chat:hunter2xyz@[::1/chat", "postgresql://chat:hunter2xyz@host/chat?nosuchoption=1",
                            "postgresql://host/chat?password=hunter2xyz&nosuch=1"}) {
        const std::string why = postgres_url_problem(bad);
        INFO(bad << " -> " << why);
        CHECK_FALSE(why.empty());
        CHECK(why.find("hunter2xyz") == std::string::npos);
    }
}

TEST_CASE("store: a PostgreSQL server that cannot be reached is a clear error without the password", "[store][postgresql-url][security]") {
    // Port 1 on loopback: nothing listens there, the connection is refused at once. A port that
    // is no number passes libpq's parser and is refused when connecting.
    for (const char* port : {"1", "notaport"}) {
        try {
            PgStore db(std::string("postgresql://chat:hunter2xyz@127.0.0.1:") + port + "/chat");
            FAIL("connected to port " << port);
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(what.rfind(std::string("PostgreSQL at postgresql://chat@127.0.0.1:") + port + "/chat: ", 0) == 0);
            CHECK(what.find("hunter2xyz") == std::string::npos);
        }
    }
    try {
        PgStore db("postgresql://chat:hunter2xyz@[::1/chat");
        FAIL("accepted a broken URL");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what.rfind("not a PostgreSQL connection URL libpq can read: ", 0) == 0);
        CHECK(what.find("hunter2xyz") == std::string::npos);
    }
}

TEST_CASE("store (sqlite): a database from before edits keeps its messages, and its attachments' blobs are found for deletes",
          "[store][sqlite][migrations]") {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("chat-migrate-" + random_hex(6) + ".db");
    {
        // The schema as the previous release left it: migrations 1 to 4, one message with our
        // upload's link, one with an https link.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.string().c_str(), &db) == SQLITE_OK);
        for (int i = 0; i < 4; ++i) REQUIRE(sqlite3_exec(db, sql::k_sqlite_migrations[i], nullptr, nullptr, nullptr) == SQLITE_OK);
        const char* rows =
            "PRAGMA user_version=4;"
            "INSERT INTO Users VALUES('alice','Alice');"
            "INSERT INTO Conversations(ConversationId, Title, CreatedBy, CreatedAt, LastSeq) VALUES('c1','One','alice',1,2);"
            "INSERT INTO ConversationUsers(ConversationId, UserId) VALUES('c1','alice');"
            "INSERT INTO Blobs(BlobId, Name, ContentType, Size, UploaderId, CreatedAt) "
            "  VALUES('blob_0123456789abcdef0123','a.png','image/png',5,'alice',1);"
            "INSERT INTO Messages(MessageId, ConversationId, Seq, SenderId, Body, AttachmentJson, CreatedAt) VALUES"
            "  ('m1','c1',1,'alice','pic','{\"url\":\"/blobs/blob_0123456789abcdef0123?exp=9&sig=s\",\"name\":\"a.png\"}',1),"
            "  ('m2','c1',2,'alice','link','{\"url\":\"https://example.com/x\",\"name\":\"x\"}',2);";
        char* err = nullptr;
        const int rc = sqlite3_exec(db, rows, nullptr, nullptr, &err);
        INFO((err ? err : ""));
        sqlite3_free(err);
        REQUIRE(rc == SQLITE_OK);
        sqlite3_close(db);
    }
    {
        SqliteStore s(path.string());
        const auto h = s.history("c1", 0, 0, 10);
        REQUIRE(h.size() == 2);
        CHECK(h[0].text == "pic");
        CHECK(h[0].version == 0);
        REQUIRE(h[0].attachment);
        CHECK(s.conversation("c1", "alice")->rev == 0);
        CHECK(s.delete_message("m2", "alice", 10).removedBlob.empty());  // not our upload
        CHECK(s.delete_message("m1", "alice", 11).removedBlob == "blob_0123456789abcdef0123");
        CHECK_FALSE(s.blob("blob_0123456789abcdef0123"));
    }
    fs::remove(path);
    fs::remove(path.string() + "-wal");
    fs::remove(path.string() + "-shm");
}
