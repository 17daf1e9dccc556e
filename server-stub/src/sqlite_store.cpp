// sqlite_store.cpp - see sqlite_store.hpp.
#include "sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace stub {

using nlohmann::json;

std::string new_id(const std::string& prefix) {
    static std::mutex mu;
    static std::mt19937_64 rng{std::random_device{}()};
    std::lock_guard<std::mutex> lock(mu);
    static const char hex[] = "0123456789abcdef";
    std::string s = prefix;
    for (int i = 0; i < 20; ++i) s += hex[rng() % 16];
    return s;
}

namespace {

// A prepared statement with typed binds and reads; finalizes itself.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db) + " in: " + sql);
    }
    ~Stmt() { sqlite3_finalize(st_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, int64_t v) {
        sqlite3_bind_int64(st_, i, v);
        return *this;
    }
    Stmt& bind_null(int i) {
        sqlite3_bind_null(st_, i);
        return *this;
    }
    bool step() {
        const int rc = sqlite3_step(st_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errmsg(db_));
    }
    void run() {
        while (step()) {
        }
    }
    std::string text(int c) const {
        auto p = sqlite3_column_text(st_, c);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, c)))
                 : std::string();
    }
    int64_t i64(int c) const { return sqlite3_column_int64(st_, c); }
    bool null(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }

private:
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown";
        sqlite3_free(err);
        throw std::runtime_error("sqlite: " + msg);
    }
}

// Rolls back unless committed.
class Tx {
public:
    explicit Tx(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
    ~Tx() {
        if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
        exec(db_, "COMMIT");
        done_ = true;
    }

private:
    sqlite3* db_;
    bool done_ = false;
};

// Schema migrations, applied in order; PRAGMA user_version records how many ran.
const char* const kMigrations[] = {
    // 1: users, conversations, messages, transactional outbox
    R"sql(
    CREATE TABLE Users(UserId TEXT PRIMARY KEY, DisplayName TEXT NOT NULL);
    CREATE TABLE TeamMembers(TeamId TEXT NOT NULL, UserId TEXT NOT NULL, PRIMARY KEY(TeamId, UserId));
    CREATE TABLE Conversations(
        ConversationId TEXT PRIMARY KEY, Title TEXT NOT NULL, ContextJson TEXT NOT NULL DEFAULT '{}',
        CreatedBy TEXT, CreatedAt INTEGER NOT NULL, LastSeq INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE ConversationMembers(
        ConversationId TEXT NOT NULL, UserId TEXT NOT NULL, LastReadSeq INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY(ConversationId, UserId));
    CREATE TABLE Messages(
        MessageId TEXT PRIMARY KEY, ConversationId TEXT NOT NULL, Seq INTEGER NOT NULL, SenderId TEXT NOT NULL,
        Body TEXT NOT NULL, ClientMessageId TEXT, AttachmentJson TEXT, CreatedAt INTEGER NOT NULL,
        UNIQUE(ConversationId, Seq), UNIQUE(ConversationId, SenderId, ClientMessageId));
    CREATE TABLE OutboxEvents(
        EventId TEXT PRIMARY KEY, Type TEXT NOT NULL, Target TEXT NOT NULL, PayloadJson TEXT NOT NULL,
        CreatedAt INTEGER NOT NULL, ProcessedAt INTEGER, RetryCount INTEGER NOT NULL DEFAULT 0,
        NextAttemptAt INTEGER NOT NULL, LastError TEXT, Dead INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX OutboxDue ON OutboxEvents(ProcessedAt, Dead, NextAttemptAt);
    )sql",
};

chat::Message read_message(const Stmt& s) {
    // columns: MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, CreatedAt
    chat::Message m;
    m.messageId = s.text(0);
    m.conversationId = s.text(1);
    m.seq = static_cast<uint64_t>(s.i64(2));
    m.senderId = s.text(3);
    m.text = s.text(4);
    m.clientMessageId = s.text(5);
    if (!s.null(6)) {
        json a = json::parse(s.text(6), nullptr, false);
        if (a.is_object()) {
            chat::Attachment att;
            att.url = a.value("url", "");
            att.name = a.value("name", "");
            att.contentType = a.value("contentType", "");
            att.size = a.value("size", uint64_t{0});
            m.attachment = att;
        }
    }
    m.createdAtMs = s.i64(7);
    return m;
}

constexpr const char* kMessageCols =
    "MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, CreatedAt";

OutboxRow read_outbox(const Stmt& s) {
    // EventId, Type, Target, PayloadJson, CreatedAt, ProcessedAt, RetryCount, NextAttemptAt, LastError, Dead
    OutboxRow r;
    r.eventId = s.text(0);
    r.type = s.text(1);
    r.target = s.text(2);
    r.payloadJson = s.text(3);
    r.createdAt = s.i64(4);
    if (!s.null(5)) r.processedAt = s.i64(5);
    r.retryCount = static_cast<int>(s.i64(6));
    r.nextAttemptAt = s.i64(7);
    r.lastError = s.text(8);
    r.dead = s.i64(9) != 0;
    return r;
}
constexpr const char* kOutboxCols =
    "EventId, Type, Target, PayloadJson, CreatedAt, ProcessedAt, RetryCount, NextAttemptAt, LastError, Dead";

} // namespace

SqliteStore::SqliteStore(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error("cannot open database '" + path + "': " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    // WAL + synchronous=NORMAL: a committed transaction survives the process being killed.
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    migrate();
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

int SqliteStore::schema_version() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "PRAGMA user_version");
    s.step();
    return static_cast<int>(s.i64(0));
}

void SqliteStore::migrate() {
    Stmt v(db_, "PRAGMA user_version");
    v.step();
    const int have = static_cast<int>(v.i64(0));
    const int want = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
    if (have > want)
        throw std::runtime_error("database schema version " + std::to_string(have) +
                                 " is newer than this server (" + std::to_string(want) + ")");
    for (int i = have; i < want; ++i) {
        Tx tx(db_);
        exec(db_, kMigrations[i]);
        exec(db_, ("PRAGMA user_version=" + std::to_string(i + 1)).c_str());
        tx.commit();
    }
}

void SqliteStore::upsert_user(const User& u) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(db_);
    Stmt(db_, "INSERT INTO Users(UserId, DisplayName) VALUES(?1, ?2) "
              "ON CONFLICT(UserId) DO UPDATE SET DisplayName=excluded.DisplayName")
        .bind(1, u.id).bind(2, u.displayName).run();
    Stmt(db_, "DELETE FROM TeamMembers WHERE UserId=?1").bind(1, u.id).run();
    for (const auto& t : u.teams) Stmt(db_, "INSERT INTO TeamMembers(TeamId, UserId) VALUES(?1, ?2)").bind(1, t).bind(2, u.id).run();
    tx.commit();
}

std::optional<User> SqliteStore::user(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT UserId, DisplayName FROM Users WHERE UserId=?1");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    User u{s.text(0), s.text(1), {}};
    Stmt t(db_, "SELECT TeamId FROM TeamMembers WHERE UserId=?1 ORDER BY TeamId");
    t.bind(1, id);
    while (t.step()) u.teams.push_back(t.text(0));
    return u;
}

std::vector<User> SqliteStore::users() {
    std::vector<std::string> ids;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Stmt s(db_, "SELECT UserId FROM Users ORDER BY UserId");
        while (s.step()) ids.push_back(s.text(0));
    }
    std::vector<User> out;
    for (auto& id : ids)
        if (auto u = user(id)) out.push_back(*u);
    return out;
}

std::string SqliteStore::create_conversation(const std::string& id, const std::string& title,
                                             const std::string& contextJson, const std::vector<std::string>& members,
                                             const std::string& createdBy, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(db_);
    const std::string cid = id.empty() ? new_id("c_") : id;
    Stmt(db_, "INSERT INTO Conversations(ConversationId, Title, ContextJson, CreatedBy, CreatedAt) VALUES(?1,?2,?3,?4,?5)")
        .bind(1, cid).bind(2, title).bind(3, contextJson).bind(4, createdBy).bind(5, now).run();
    for (const auto& m : members)
        Stmt(db_, "INSERT OR IGNORE INTO ConversationMembers(ConversationId, UserId) VALUES(?1, ?2)").bind(1, cid).bind(2, m).run();
    tx.commit();
    return cid;
}

bool SqliteStore::conversation_exists(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT 1 FROM Conversations WHERE ConversationId=?1");
    s.bind(1, id);
    return s.step();
}

bool SqliteStore::is_member(const std::string& conversationId, const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT 1 FROM ConversationMembers WHERE ConversationId=?1 AND UserId=?2");
    s.bind(1, conversationId).bind(2, userId);
    return s.step();
}

std::optional<ConversationSummary> SqliteStore::summary_locked(const std::string& id, const std::string& userId) {
    Stmt s(db_, "SELECT c.ConversationId, c.Title, c.ContextJson, c.LastSeq, m.LastReadSeq FROM Conversations c "
                "JOIN ConversationMembers m ON m.ConversationId=c.ConversationId AND m.UserId=?2 "
                "WHERE c.ConversationId=?1");
    s.bind(1, id).bind(2, userId);
    if (!s.step()) return std::nullopt;
    ConversationSummary c;
    c.id = s.text(0);
    c.title = s.text(1);
    c.contextJson = s.text(2);
    c.lastSeq = static_cast<uint64_t>(s.i64(3));
    c.lastReadSeq = static_cast<uint64_t>(s.i64(4));
    Stmt mem(db_, "SELECT UserId FROM ConversationMembers WHERE ConversationId=?1 ORDER BY UserId");
    mem.bind(1, id);
    while (mem.step()) c.members.push_back(mem.text(0));
    Stmt un(db_, "SELECT COUNT(*) FROM Messages WHERE ConversationId=?1 AND Seq>?2 AND SenderId<>?3");
    un.bind(1, id).bind(2, static_cast<int64_t>(c.lastReadSeq)).bind(3, userId);
    un.step();
    c.unread = static_cast<uint64_t>(un.i64(0));
    Stmt last(db_, (std::string("SELECT ") + kMessageCols + " FROM Messages WHERE ConversationId=?1 ORDER BY Seq DESC LIMIT 1").c_str());
    last.bind(1, id);
    if (last.step()) c.lastMessage = read_message(last);
    return c;
}

std::vector<ConversationSummary> SqliteStore::conversations_for(const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    {
        Stmt s(db_, "SELECT ConversationId FROM ConversationMembers WHERE UserId=?1");
        s.bind(1, userId);
        while (s.step()) ids.push_back(s.text(0));
    }
    std::vector<ConversationSummary> out;
    for (auto& id : ids)
        if (auto c = summary_locked(id, userId)) out.push_back(std::move(*c));
    return out;
}

std::optional<ConversationSummary> SqliteStore::conversation(const std::string& id, const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    return summary_locked(id, userId);
}

AppendResult SqliteStore::append_message(const chat::Message& draft, const std::string& group, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(db_);
    if (!draft.clientMessageId.empty()) {
        Stmt s(db_, (std::string("SELECT ") + kMessageCols +
                     " FROM Messages WHERE ConversationId=?1 AND SenderId=?2 AND ClientMessageId=?3").c_str());
        s.bind(1, draft.conversationId).bind(2, draft.senderId).bind(3, draft.clientMessageId);
        if (s.step()) return AppendResult{read_message(s), false};
    }
    Stmt seq(db_, "UPDATE Conversations SET LastSeq=LastSeq+1 WHERE ConversationId=?1 RETURNING LastSeq");
    seq.bind(1, draft.conversationId);
    if (!seq.step()) throw std::runtime_error("unknown conversation " + draft.conversationId);
    chat::Message m = draft;
    m.seq = static_cast<uint64_t>(seq.i64(0));
    seq.run();
    m.messageId = new_id("msg_");
    m.createdAtMs = now;
    m.state = chat::SendState::Sent;
    Stmt ins(db_, "INSERT INTO Messages(MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, "
                  "CreatedAt) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    ins.bind(1, m.messageId).bind(2, m.conversationId).bind(3, static_cast<int64_t>(m.seq)).bind(4, m.senderId)
        .bind(5, m.text);
    if (m.clientMessageId.empty()) ins.bind_null(6); else ins.bind(6, m.clientMessageId);
    if (m.attachment) ins.bind(7, chat::to_json(m)["attachment"].dump()); else ins.bind_null(7);
    ins.bind(8, now).run();
    // The outbox row: the event clients receive, with the stable messageId as its id.
    const json payload{{"type", "chat.message"}, {"eventId", m.messageId}, {"message", chat::to_json(m)}};
    Stmt(db_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, m.messageId).bind(2, "chat.message").bind(3, group).bind(4, payload.dump()).bind(5, now).run();
    tx.commit();
    return AppendResult{m, true};
}

std::vector<chat::Message> SqliteStore::history(const std::string& conversationId, uint64_t afterSeq,
                                                uint64_t beforeSeq, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<chat::Message> out;
    const std::string cols = std::string("SELECT ") + kMessageCols + " FROM Messages WHERE ConversationId=?1 ";
    if (beforeSeq > 0) {
        // Backwards paging: the `limit` messages just before beforeSeq, returned in ascending order.
        Stmt s(db_, (cols + "AND Seq<?2 AND Seq>?3 ORDER BY Seq DESC LIMIT ?4").c_str());
        s.bind(1, conversationId).bind(2, static_cast<int64_t>(beforeSeq)).bind(3, static_cast<int64_t>(afterSeq))
            .bind(4, static_cast<int64_t>(limit));
        while (s.step()) out.push_back(read_message(s));
        std::reverse(out.begin(), out.end());
    } else {
        Stmt s(db_, (cols + "AND Seq>?2 ORDER BY Seq ASC LIMIT ?3").c_str());
        s.bind(1, conversationId).bind(2, static_cast<int64_t>(afterSeq)).bind(3, static_cast<int64_t>(limit));
        while (s.step()) out.push_back(read_message(s));
    }
    return out;
}

uint64_t SqliteStore::set_read(const std::string& conversationId, const std::string& userId, uint64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    // Read state only moves forward and never past the last message.
    Stmt s(db_, "UPDATE ConversationMembers SET LastReadSeq=MAX(LastReadSeq, MIN(?3, "
                "(SELECT LastSeq FROM Conversations WHERE ConversationId=?1))) "
                "WHERE ConversationId=?1 AND UserId=?2 RETURNING LastReadSeq");
    s.bind(1, conversationId).bind(2, userId).bind(3, static_cast<int64_t>(seq));
    const bool row = s.step();
    const uint64_t v = row ? static_cast<uint64_t>(s.i64(0)) : 0;
    if (row) s.run();
    return v;
}

std::vector<OutboxRow> SqliteStore::due_outbox(int64_t now, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, (std::string("SELECT ") + kOutboxCols +
                 " FROM OutboxEvents WHERE ProcessedAt IS NULL AND Dead=0 AND NextAttemptAt<=?1 "
                 "ORDER BY CreatedAt, rowid LIMIT ?2").c_str());
    s.bind(1, now).bind(2, static_cast<int64_t>(limit));
    std::vector<OutboxRow> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
}

std::optional<int64_t> SqliteStore::next_outbox_due() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT MIN(NextAttemptAt) FROM OutboxEvents WHERE ProcessedAt IS NULL AND Dead=0");
    if (!s.step() || s.null(0)) return std::nullopt;
    return s.i64(0);
}

void SqliteStore::mark_published(const std::string& eventId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt(db_, "UPDATE OutboxEvents SET ProcessedAt=?2 WHERE EventId=?1 AND ProcessedAt IS NULL").bind(1, eventId).bind(2, now).run();
}

void SqliteStore::mark_failed(const std::string& eventId, const std::string& error, int64_t nextAttemptAt, bool dead) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt(db_, "UPDATE OutboxEvents SET RetryCount=RetryCount+1, LastError=?2, NextAttemptAt=?3, Dead=?4 WHERE EventId=?1")
        .bind(1, eventId).bind(2, error).bind(3, nextAttemptAt).bind(4, int64_t{dead ? 1 : 0}).run();
}

OutboxStats SqliteStore::outbox_stats() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT SUM(ProcessedAt IS NULL AND Dead=0), SUM(ProcessedAt IS NOT NULL), SUM(Dead) FROM OutboxEvents");
    s.step();
    return OutboxStats{static_cast<uint64_t>(s.i64(0)), static_cast<uint64_t>(s.i64(1)), static_cast<uint64_t>(s.i64(2))};
}

std::vector<OutboxRow> SqliteStore::dead_outbox() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, (std::string("SELECT ") + kOutboxCols + " FROM OutboxEvents WHERE Dead=1 ORDER BY CreatedAt").c_str());
    std::vector<OutboxRow> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
}

} // namespace stub
