// sqlite_store.cpp - see sqlite_store.hpp.
#include "sqlite_store.hpp"

#include "jwt.hpp"
#include "sql_migrations.hpp"

#include "core/chat_wire.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <unordered_map>
#include <stdexcept>

namespace stub {

using nlohmann::json;

namespace {

} // namespace

// Prepared statements by SQL text, kept for the connection's life: compiling a statement (the
// parser and code generator) cost more CPU than running it on the hot paths (issue 14, target 4:
// a perf profile of POST /chat/reply). Used under the store's mutex, like the connection.
struct StmtCache {
    struct Entry {
        sqlite3_stmt* st = nullptr;
        bool busy = false;  // in use by a Stmt now (a nested use of the same SQL prepares its own)
    };
    static constexpr std::size_t kMaxEntries = 256;  // the SQL texts are a fixed set; a bound anyway
    sqlite3* db = nullptr;
    std::unordered_map<std::string, Entry> entries;
    ~StmtCache() {
        for (auto& [sql, e] : entries) sqlite3_finalize(e.st);
    }
};

namespace {

// A prepared statement with typed binds and reads: the cached one for its SQL when free (reset
// and its bindings cleared when done, so no read snapshot stays open), else its own, finalized.
class Stmt {
public:
    Stmt(StmtCache& cache, const char* sql) : db_(cache.db) {
        auto it = cache.entries.find(sql);
        if (it == cache.entries.end() && cache.entries.size() < StmtCache::kMaxEntries)
            it = cache.entries.emplace(sql, StmtCache::Entry{}).first;
        if (it != cache.entries.end() && !it->second.busy) {
            if (!it->second.st) it->second.st = prepare(sql);
            entry_ = &it->second;
            entry_->busy = true;
            st_ = entry_->st;
        } else {
            st_ = prepare(sql);
        }
    }
    ~Stmt() {
        if (!entry_) {
            sqlite3_finalize(st_);
            return;
        }
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
        entry_->busy = false;
    }
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
    Stmt& bind(int i, double v) {
        sqlite3_bind_double(st_, i, v);
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
    double f64(int c) const { return sqlite3_column_double(st_, c); }
    bool null(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }

private:
    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
            sqlite3_finalize(st);
            throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db_) + " in: " + sql);
        }
        return st;
    }
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
    StmtCache::Entry* entry_ = nullptr;  // the cache's (element addresses survive rehashing)
};

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown";
        sqlite3_free(err);
        throw std::runtime_error("sqlite: " + msg);
    }
}

// Rolls back unless committed. BEGIN and COMMIT are prepared once (the cache), not parsed and
// compiled again for every transaction.
class Tx {
public:
    explicit Tx(StmtCache& cache) : cache_(cache) { Stmt(cache_, "BEGIN IMMEDIATE").run(); }
    ~Tx() {
        if (!done_) sqlite3_exec(cache_.db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
        Stmt(cache_, "COMMIT").run();
        done_ = true;
    }

private:
    StmtCache& cache_;
    bool done_ = false;
};

// Puts synchronous back to FULL when a NORMAL commit is done. Should that fail, acknowledged
// messages would no longer be synced: the process stops rather than go on so.
struct SyncFull {
    sqlite3* db;
    ~SyncFull() {
        if (sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) == SQLITE_OK) return;
        std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"sqlite: PRAGMA synchronous=FULL failed: %s\"}\n", sqlite3_errmsg(db));
        std::abort();
    }
};

// Schema migrations: server-stub/sql/sqlite/NNN_*.sql, compiled in (sql_migrations.hpp), applied
// in order; PRAGMA user_version records how many ran.
const auto& kMigrations = sql::k_sqlite_migrations;

// Notifications a user can see: addressed to them, to one of their teams, or to everyone.
constexpr const char* kVisible =
    "((n.TargetKind='user' AND n.TargetId=?1) OR (n.TargetKind='global') OR "
    "(n.TargetKind='team' AND n.TargetId IN (SELECT TeamId FROM TeamMembers WHERE UserId=?1)))";

constexpr const char* kNotificationCols =
    "n.NotificationId, n.TargetKind, n.TargetId, n.Title, n.Body, n.ActionLabel, n.ActionUrl, n.CreatedAt, n.Seq, "
    "r.SeenAt IS NOT NULL, r.ReadAt IS NOT NULL, r.ArchivedAt IS NOT NULL";

Notification read_notification(const Stmt& s) {
    Notification n;
    n.id = s.text(0);
    n.targetKind = s.text(1);
    n.targetId = s.text(2);
    n.title = s.text(3);
    n.body = s.text(4);
    n.actionLabel = s.text(5);
    n.actionUrl = s.text(6);
    n.createdAt = s.i64(7);
    n.seq = static_cast<uint64_t>(s.i64(8));
    n.seen = s.i64(9) != 0;
    n.read = s.i64(10) != 0;
    n.archived = s.i64(11) != 0;
    return n;
}

chat::Message read_message(const Stmt& s) {
    // columns: kMessageCols
    chat::Message m;
    m.messageId = s.text(0);
    m.conversationId = s.text(1);
    m.seq = static_cast<uint64_t>(s.i64(2));
    m.senderId = s.text(3);
    m.text = s.text(4);
    m.clientMessageId = s.text(5);
    if (!s.null(6)) m.attachment = chat::attachment_from_json(json::parse(s.text(6), nullptr, false));
    m.createdAtMs = s.i64(7);
    m.version = static_cast<uint64_t>(s.i64(8));
    if (!s.null(9)) m.editedAtMs = s.i64(9);
    m.deleted = !s.null(10);
    if (!s.null(11)) {
        m.replyToId = s.text(11);
        m.replyToSeq = static_cast<uint64_t>(s.i64(12));
    }
    return m;
}

constexpr const char* kMessageCols =
    "MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, CreatedAt, Version, EditedAt, DeletedAt, "
    "ReplyToId, ReplyToSeq";

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
    stmts_ = std::make_unique<StmtCache>();
    stmts_->db = db_;
    sqlite3_busy_timeout(db_, 5000);
    // WAL + synchronous=FULL: the WAL is synced at every commit, so a message the API has
    // acknowledged survives a power loss or an OS crash, not only the process being killed (which
    // NORMAL would be enough for). "No missed messages" means acknowledged = on disk; the cost is
    // one fsync per commit (about 0.25 ms on this machine's disk).
    // secure_delete: freed content (a deleted message's text, an edit's old one) is overwritten
    // with zeros in the database file, not left in free pages (the WAL keeps an old page until its
    // next checkpoint).
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
    migrate();
}

SqliteStore::~SqliteStore() {
    stmts_.reset();  // finalized before the connection closes
    sqlite3_close(db_);
}

void SqliteStore::migrate() {
    int have = 0;
    {  // read and reset before any migration runs (an active read would lock a table it drops)
        Stmt v(*stmts_, "PRAGMA user_version");
        v.step();
        have = static_cast<int>(v.i64(0));
    }
    const int want = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
    if (have > want)
        throw std::runtime_error("database schema version " + std::to_string(have) +
                                 " is newer than this server (" + std::to_string(want) + ")");
    for (int i = have; i < want; ++i) {
        Tx tx(*stmts_);
        exec(db_, kMigrations[i]);
        exec(db_, ("PRAGMA user_version=" + std::to_string(i + 1)).c_str());
        tx.commit();
    }
}

void SqliteStore::upsert_user(const User& u) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    Stmt(*stmts_, "INSERT INTO Users(UserId, DisplayName) VALUES(?1, ?2) "
              "ON CONFLICT(UserId) DO UPDATE SET DisplayName=excluded.DisplayName")
        .bind(1, u.id).bind(2, u.displayName).run();
    Stmt(*stmts_, "DELETE FROM TeamMembers WHERE UserId=?1").bind(1, u.id).run();
    for (const auto& t : u.teams) Stmt(*stmts_, "INSERT INTO TeamMembers(TeamId, UserId) VALUES(?1, ?2)").bind(1, t).bind(2, u.id).run();
    tx.commit();
}

std::optional<User> SqliteStore::user(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT UserId, DisplayName FROM Users WHERE UserId=?1");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    User u{s.text(0), s.text(1), {}};
    Stmt t(*stmts_, "SELECT TeamId FROM TeamMembers WHERE UserId=?1 ORDER BY TeamId");
    t.bind(1, id);
    while (t.step()) u.teams.push_back(t.text(0));
    return u;
}

std::string SqliteStore::create_conversation(const std::string& id, const std::string& title,
                                             const std::string& contextJson, const std::vector<std::string>& members,
                                             const std::string& createdBy, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    const std::string cid = id.empty() ? new_id("c_") : id;
    Stmt(*stmts_, "INSERT INTO Conversations(ConversationId, Title, ContextJson, CreatedBy, CreatedAt) VALUES(?1,?2,?3,?4,?5)")
        .bind(1, cid).bind(2, title).bind(3, contextJson).bind(4, createdBy).bind(5, now).run();
    for (const auto& m : members)
        Stmt(*stmts_, "INSERT OR IGNORE INTO ConversationUsers(ConversationId, UserId) VALUES(?1, ?2)").bind(1, cid).bind(2, m).run();
    // The members' lists learn of it live (chat_wire.hpp, conversation.created).
    Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, "new:" + cid).bind(2, chat::kConversationCreatedEvent).bind(3, cid)
        .bind(4, chat::conversation_created_event(cid, createdBy).dump()).bind(5, now).run();
    tx.commit();
    return cid;
}

bool SqliteStore::conversation_exists(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT 1 FROM Conversations WHERE ConversationId=?1");
    s.bind(1, id);
    return s.step();
}

bool SqliteStore::is_member(const std::string& conversationId, const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT 1 FROM ConversationUsers WHERE ConversationId=?1 AND UserId=?2");
    s.bind(1, conversationId).bind(2, userId);
    return s.step();
}

std::vector<std::string> SqliteStore::members(const std::string& conversationId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT UserId FROM ConversationUsers WHERE ConversationId=?1 ORDER BY UserId");
    s.bind(1, conversationId);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

std::optional<ConversationSummary> SqliteStore::summary_locked(const std::string& id, const std::string& userId) {
    Stmt s(*stmts_, "SELECT c.ConversationId, c.Title, c.ContextJson, c.LastSeq, m.LastReadSeq, c.EditRev FROM Conversations c "
                "JOIN ConversationUsers m ON m.ConversationId=c.ConversationId AND m.UserId=?2 "
                "WHERE c.ConversationId=?1");
    s.bind(1, id).bind(2, userId);
    if (!s.step()) return std::nullopt;
    ConversationSummary c;
    c.id = s.text(0);
    c.title = s.text(1);
    c.contextJson = s.text(2);
    c.lastSeq = static_cast<uint64_t>(s.i64(3));
    c.lastReadSeq = static_cast<uint64_t>(s.i64(4));
    c.rev = static_cast<uint64_t>(s.i64(5));
    Stmt mem(*stmts_, "SELECT UserId FROM ConversationUsers WHERE ConversationId=?1 ORDER BY UserId");
    mem.bind(1, id);
    while (mem.step()) c.members.push_back(mem.text(0));
    Stmt un(*stmts_, "SELECT COUNT(*) FROM Messages WHERE ConversationId=?1 AND Seq>?2 AND SenderId<>?3");
    un.bind(1, id).bind(2, static_cast<int64_t>(c.lastReadSeq)).bind(3, userId);
    un.step();
    c.unread = static_cast<uint64_t>(un.i64(0));
    Stmt last(*stmts_, (std::string("SELECT ") + kMessageCols + " FROM Messages WHERE ConversationId=?1 ORDER BY Seq DESC LIMIT 1").c_str());
    last.bind(1, id);
    if (last.step()) c.lastMessage = read_message(last);
    return c;
}

std::vector<ConversationSummary> SqliteStore::conversations_for(const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    {
        Stmt s(*stmts_, "SELECT ConversationId FROM ConversationUsers WHERE UserId=?1");
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

std::optional<chat::Message> SqliteStore::message_by_client_id(const std::string& conversationId,
                                                              const std::string& senderId,
                                                              const std::string& clientMessageId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, (std::string("SELECT ") + kMessageCols +
                 " FROM Messages WHERE ConversationId=?1 AND SenderId=?2 AND ClientMessageId=?3").c_str());
    s.bind(1, conversationId).bind(2, senderId).bind(3, clientMessageId);
    if (!s.step()) return std::nullopt;
    return read_message(s);
}

AppendResult SqliteStore::append_message(const chat::Message& draft, const std::string& group, int64_t now,
                                         const Followups& followups) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    if (!draft.clientMessageId.empty()) {
        Stmt s(*stmts_, (std::string("SELECT ") + kMessageCols +
                     " FROM Messages WHERE ConversationId=?1 AND SenderId=?2 AND ClientMessageId=?3").c_str());
        s.bind(1, draft.conversationId).bind(2, draft.senderId).bind(3, draft.clientMessageId);
        if (s.step()) return AppendResult{read_message(s), false};
    }
    Stmt seq(*stmts_, "UPDATE Conversations SET LastSeq=LastSeq+1 WHERE ConversationId=?1 RETURNING LastSeq");
    seq.bind(1, draft.conversationId);
    if (!seq.step()) throw std::runtime_error("unknown conversation " + draft.conversationId);
    chat::Message m = draft;
    m.seq = static_cast<uint64_t>(seq.i64(0));
    seq.run();
    m.messageId = new_id("msg_");
    m.createdAtMs = now;
    m.state = chat::SendState::Sent;
    Stmt ins(*stmts_, "INSERT INTO Messages(MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, "
                  "CreatedAt, BlobId, ReplyToId, ReplyToSeq) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    ins.bind(1, m.messageId).bind(2, m.conversationId).bind(3, static_cast<int64_t>(m.seq)).bind(4, m.senderId)
        .bind(5, m.text);
    if (m.clientMessageId.empty()) ins.bind_null(6); else ins.bind(6, m.clientMessageId);
    if (m.attachment) ins.bind(7, chat::attachment_json(*m.attachment).dump()); else ins.bind_null(7);
    ins.bind(8, now);
    if (const std::string blob = blob_id_of(m.attachment); !blob.empty()) ins.bind(9, blob); else ins.bind_null(9);
    if (m.replyToId.empty()) ins.bind_null(10).bind_null(11);
    else ins.bind(10, m.replyToId).bind(11, static_cast<int64_t>(m.replyToSeq));
    ins.run();
    // The outbox row: the event clients receive, with the stable messageId as its id.
    Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, m.messageId).bind(2, chat::kChatMessageEvent).bind(3, group).bind(4, chat::chat_message_event(m).dump()).bind(5, now).run();
    // The members' activity event: what a conversation list needs (badge, preview, order), small.
    Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, "act:" + m.messageId).bind(2, "conversation.activity").bind(3, m.conversationId)
        .bind(4, chat::activity_json(m).dump()).bind(5, now).run();
    if (followups)
        for (const auto& [n, target] : followups(m)) create_notification_locked(n, target, now);
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
        Stmt s(*stmts_, (cols + "AND Seq<?2 AND Seq>?3 ORDER BY Seq DESC LIMIT ?4").c_str());
        s.bind(1, conversationId).bind(2, static_cast<int64_t>(beforeSeq)).bind(3, static_cast<int64_t>(afterSeq))
            .bind(4, static_cast<int64_t>(limit));
        while (s.step()) out.push_back(read_message(s));
        std::reverse(out.begin(), out.end());
    } else {
        Stmt s(*stmts_, (cols + "AND Seq>?2 ORDER BY Seq ASC LIMIT ?3").c_str());
        s.bind(1, conversationId).bind(2, static_cast<int64_t>(afterSeq)).bind(3, static_cast<int64_t>(limit));
        while (s.step()) out.push_back(read_message(s));
    }
    load_reactions_locked(conversationId, out);
    return out;
}

// The messages' reactions, with one query over their sequence range (a history page is one).
void SqliteStore::load_reactions_locked(const std::string& conversationId, std::vector<chat::Message>& ms) {
    if (ms.empty()) return;
    ReactionRows rows(ms);
    Stmt r(*stmts_, "SELECT MessageId, Emoji, UserId FROM MessageReactions WHERE ConversationId=?1 AND Seq BETWEEN ?2 AND ?3 "
                "ORDER BY CreatedAt, rowid");
    r.bind(1, conversationId).bind(2, static_cast<int64_t>(rows.lo)).bind(3, static_cast<int64_t>(rows.hi));
    while (r.step()) rows.add(r.text(0), r.text(1), r.text(2));
}

// Reads the message and checks who may change it, inside the caller's transaction. Returns the
// outcome to answer with, or nullopt when the change may go ahead (`m` is the message).
std::optional<ChangeResult> SqliteStore::change_check_locked(const std::string& messageId, const std::string& userId, bool del,
                                                            chat::Message& m) {
    Stmt s(*stmts_, (std::string("SELECT ") + kMessageCols + " FROM Messages WHERE MessageId=?1").c_str());
    s.bind(1, messageId);
    if (!s.step()) return ChangeResult{ChangeOutcome::NotFound, {}, {}};
    m = read_message(s);
    Stmt mem(*stmts_, "SELECT 1 FROM ConversationUsers WHERE ConversationId=?1 AND UserId=?2");
    mem.bind(1, m.conversationId).bind(2, userId);
    if (!mem.step()) return ChangeResult{ChangeOutcome::NotMember, {}, {}};
    bool allowed = m.senderId == userId;
    if (!allowed && del) {
        Stmt by(*stmts_, "SELECT CreatedBy FROM Conversations WHERE ConversationId=?1");
        by.bind(1, m.conversationId);
        allowed = by.step() && !by.null(0) && by.text(0) == userId;
    }
    if (!allowed) return ChangeResult{ChangeOutcome::NotAllowed, m, {}};
    if (m.deleted) return ChangeResult{del ? ChangeOutcome::Unchanged : ChangeOutcome::Deleted, m, {}};
    return std::nullopt;
}

// The next change counter of the conversation, and the event row for the changed message.
uint64_t SqliteStore::next_rev_locked(const std::string& conversationId) {
    Stmt rev(*stmts_, "UPDATE Conversations SET EditRev=EditRev+1 WHERE ConversationId=?1 RETURNING EditRev");
    rev.bind(1, conversationId);
    if (!rev.step()) throw std::runtime_error("unknown conversation " + conversationId);
    const uint64_t v = static_cast<uint64_t>(rev.i64(0));
    rev.run();
    return v;
}

// The message's events not published yet carry what it was: they are rewritten to what it is
// now (a deleted text is never sent after the delete), and earlier changes' events are dropped
// (the new one carries the whole message). A delete (`erase`) rewrites the published ones too, so
// that no copy of the text stays in the outbox table. A publish already under way cannot be
// called back.
void SqliteStore::supersede_pending_locked(const chat::Message& m, bool erase) {
    const std::string first = "upd:" + m.messageId + ":", last = "upd:" + m.messageId + ";";  // every version (';' follows ':')
    Stmt(*stmts_, erase ? "UPDATE OutboxEvents SET PayloadJson=?2 WHERE EventId=?1"
                    : "UPDATE OutboxEvents SET PayloadJson=?2 WHERE EventId=?1 AND ProcessedAt IS NULL")
        .bind(1, m.messageId).bind(2, chat::chat_message_event(m).dump()).run();
    Stmt(*stmts_, erase ? "UPDATE OutboxEvents SET PayloadJson=?2 WHERE EventId=?1"
                    : "UPDATE OutboxEvents SET PayloadJson=?2 WHERE EventId=?1 AND ProcessedAt IS NULL")
        .bind(1, "act:" + m.messageId).bind(2, chat::activity_json(m).dump()).run();
    const std::string act_first = "act:" + m.messageId + ":", act_last = "act:" + m.messageId + ";";
    for (const auto& [lo, hi] : {std::pair{first, last}, std::pair{act_first, act_last}})
        Stmt(*stmts_, "DELETE FROM OutboxEvents WHERE EventId>=?1 AND EventId<?2 AND ProcessedAt IS NULL").bind(1, lo).bind(2, hi).run();
    if (erase) {
        Stmt(*stmts_, "UPDATE OutboxEvents SET PayloadJson=?3 WHERE EventId>=?1 AND EventId<?2")
            .bind(1, first).bind(2, last).bind(3, chat::chat_message_updated_event(m).dump()).run();
        Stmt(*stmts_, "UPDATE OutboxEvents SET PayloadJson=?3 WHERE EventId>=?1 AND EventId<?2")
            .bind(1, act_first).bind(2, act_last).bind(3, chat::activity_json(m).dump()).run();
    }
}

void SqliteStore::insert_update_event_locked(const chat::Message& m, int64_t now) {
    supersede_pending_locked(m, m.deleted);
    // The conversation's newest message: every member's list shows it as the preview, so its
    // activity goes out again (same seq, this version; "act:<id>:<version>").
    Stmt last(*stmts_, "SELECT LastSeq FROM Conversations WHERE ConversationId=?1");
    last.bind(1, m.conversationId);
    if (last.step() && static_cast<uint64_t>(last.i64(0)) == m.seq)
        Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
            .bind(1, "act:" + m.messageId + ":" + std::to_string(m.version)).bind(2, "conversation.activity").bind(3, m.conversationId)
            .bind(4, chat::activity_json(m).dump()).bind(5, now).run();
    const json event = chat::chat_message_updated_event(m);
    Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, event["eventId"].get<std::string>()).bind(2, chat::kChatMessageUpdatedEvent)
        .bind(3, chat::conversation_group(m.conversationId)).bind(4, event.dump()).bind(5, now).run();
}

ChangeResult SqliteStore::edit_message(const std::string& messageId, const std::string& userId, const std::string& text,
                                       int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    chat::Message m;
    if (auto refused = change_check_locked(messageId, userId, false, m)) return *refused;
    if (m.text == text) return ChangeResult{ChangeOutcome::Unchanged, m, {}};
    m.version = next_rev_locked(m.conversationId);
    m.text = text;
    m.editedAtMs = now;
    Stmt(*stmts_, "UPDATE Messages SET Body=?2, Version=?3, EditedAt=?4 WHERE MessageId=?1")
        .bind(1, messageId).bind(2, text).bind(3, static_cast<int64_t>(m.version)).bind(4, now).run();
    std::vector<chat::Message> one{m};
    load_reactions_locked(m.conversationId, one);  // the event carries the whole message
    m = one[0];
    insert_update_event_locked(m, now);
    tx.commit();
    return ChangeResult{ChangeOutcome::Changed, m, {}};
}

ChangeResult SqliteStore::delete_message(const std::string& messageId, const std::string& userId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    chat::Message m;
    if (auto refused = change_check_locked(messageId, userId, true, m)) return *refused;
    std::string blob;
    {
        Stmt b(*stmts_, "SELECT BlobId FROM Messages WHERE MessageId=?1");
        b.bind(1, messageId);
        if (b.step() && !b.null(0)) blob = b.text(0);
    }
    m.version = next_rev_locked(m.conversationId);
    m.text.clear();
    m.attachment.reset();
    m.deleted = true;
    Stmt(*stmts_, "UPDATE Messages SET Body='', AttachmentJson=NULL, ReplyToId=NULL, ReplyToSeq=NULL, Version=?2, DeletedAt=?3 WHERE MessageId=?1")
        .bind(1, messageId).bind(2, static_cast<int64_t>(m.version)).bind(3, now).run();
    Stmt(*stmts_, "DELETE FROM MessageReactions WHERE MessageId=?1").bind(1, messageId).run();
    std::string removed;
    if (!blob.empty()) {
        // The upload goes once no message that is not deleted links it any more: a copy of the
        // link posted elsewhere (by its uploader, or in a conversation the deleter is not in)
        // keeps working.
        Stmt other(*stmts_, "SELECT 1 FROM Messages WHERE BlobId=?1 AND DeletedAt IS NULL LIMIT 1");
        other.bind(1, blob);
        if (!other.step()) {
            Stmt(*stmts_, "DELETE FROM Blobs WHERE BlobId=?1").bind(1, blob).run();
            removed = blob;
        }
    }
    insert_update_event_locked(m, now);
    tx.commit();
    return ChangeResult{ChangeOutcome::Changed, m, removed};
}

std::vector<chat::Message> SqliteStore::changes(const std::string& conversationId, uint64_t after, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<chat::Message> out;
    Stmt s(*stmts_, (std::string("SELECT ") + kMessageCols +
                 " FROM Messages WHERE ConversationId=?1 AND Version>?2 ORDER BY Version ASC LIMIT ?3").c_str());
    s.bind(1, conversationId).bind(2, static_cast<int64_t>(after)).bind(3, static_cast<int64_t>(limit));
    while (s.step()) out.push_back(read_message(s));
    load_reactions_locked(conversationId, out);
    return out;
}

ChangeResult SqliteStore::react(const std::string& messageId, const std::string& userId, const std::string& emoji, bool add,
                                int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    Stmt s(*stmts_, (std::string("SELECT ") + kMessageCols + " FROM Messages WHERE MessageId=?1").c_str());
    s.bind(1, messageId);
    if (!s.step()) return ChangeResult{ChangeOutcome::NotFound, {}, {}};
    std::vector<chat::Message> one{read_message(s)};
    chat::Message& m = one[0];
    Stmt mem(*stmts_, "SELECT 1 FROM ConversationUsers WHERE ConversationId=?1 AND UserId=?2");
    mem.bind(1, m.conversationId).bind(2, userId);
    if (!mem.step()) return ChangeResult{ChangeOutcome::NotMember, {}, {}};
    if (m.deleted) return ChangeResult{ChangeOutcome::Deleted, m, {}};
    load_reactions_locked(m.conversationId, one);
    const bool has = chat::reacted(m, emoji, userId);
    if (has == add) return ChangeResult{ChangeOutcome::Unchanged, m, {}};
    if (add) {
        const bool known = std::any_of(m.reactions.begin(), m.reactions.end(), [&](const chat::Reaction& r) { return r.emoji == emoji; });
        if (!known && m.reactions.size() >= chat::kMaxReactionEmoji) return ChangeResult{ChangeOutcome::TooMany, m, {}};
        Stmt(*stmts_, "INSERT INTO MessageReactions(ConversationId, Seq, MessageId, UserId, Emoji, CreatedAt) VALUES(?1,?2,?3,?4,?5,?6)")
            .bind(1, m.conversationId).bind(2, static_cast<int64_t>(m.seq)).bind(3, messageId).bind(4, userId).bind(5, emoji)
            .bind(6, now).run();
    } else {
        Stmt(*stmts_, "DELETE FROM MessageReactions WHERE MessageId=?1 AND UserId=?2 AND Emoji=?3")
            .bind(1, messageId).bind(2, userId).bind(3, emoji).run();
    }
    m.version = next_rev_locked(m.conversationId);
    Stmt(*stmts_, "UPDATE Messages SET Version=?2 WHERE MessageId=?1").bind(1, messageId).bind(2, static_cast<int64_t>(m.version)).run();
    load_reactions_locked(m.conversationId, one);
    insert_update_event_locked(m, now);
    tx.commit();
    return ChangeResult{ChangeOutcome::Changed, m, {}};
}

uint64_t SqliteStore::set_read(const std::string& conversationId, const std::string& userId, uint64_t seq, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    Stmt cur(*stmts_, "SELECT m.LastReadSeq, c.LastSeq FROM ConversationUsers m JOIN Conversations c ON c.ConversationId=m.ConversationId "
                  "WHERE m.ConversationId=?1 AND m.UserId=?2");
    cur.bind(1, conversationId).bind(2, userId);
    if (!cur.step()) return 0;
    // Read state only moves forward and never past the last message.
    const uint64_t was = static_cast<uint64_t>(cur.i64(0)), last = static_cast<uint64_t>(cur.i64(1));
    const uint64_t now_read = std::max(was, std::min(seq, last));
    if (now_read == was) return was;
    Stmt(*stmts_, "UPDATE ConversationUsers SET LastReadSeq=?3 WHERE ConversationId=?1 AND UserId=?2")
        .bind(1, conversationId).bind(2, userId).bind(3, static_cast<int64_t>(now_read)).run();
    // One row per member and conversation: a newer position makes the older row (published or
    // not) pointless, so it goes (the live events of a busy conversation stay one per reader).
    const std::string prefix = read_event_prefix(conversationId, userId);
    Stmt(*stmts_, "DELETE FROM OutboxEvents WHERE EventId>=?1 AND EventId<?2").bind(1, prefix).bind(2, prefix_end(prefix)).run();
    const std::string event_id = new_id(prefix);
    Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, event_id).bind(2, chat::kChatReadEvent).bind(3, chat::conversation_group(conversationId))
        .bind(4, chat::chat_read_event({conversationId, userId, now_read}, event_id).dump()).bind(5, now).run();
    tx.commit();
    return now_read;
}

std::vector<std::pair<std::string, uint64_t>> SqliteStore::reads(const std::string& conversationId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT UserId, LastReadSeq FROM ConversationUsers WHERE ConversationId=?1 ORDER BY UserId");
    s.bind(1, conversationId);
    std::vector<std::pair<std::string, uint64_t>> out;
    while (s.step()) out.emplace_back(s.text(0), static_cast<uint64_t>(s.i64(1)));
    return out;
}

bool SqliteStore::presence_connected(const std::string& userId, const std::string& connectionId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    Stmt known(*stmts_, "SELECT 1 FROM PresenceConnections WHERE ConnectionId=?1");
    known.bind(1, connectionId);
    if (known.step()) return false;  // a redelivered event, or one about a connection that ended
    Stmt(*stmts_, "INSERT INTO PresenceConnections(ConnectionId, UserId, ConnectedAt) VALUES(?1,?2,?3)")
        .bind(1, connectionId).bind(2, userId).bind(3, now).run();
    Stmt online(*stmts_, "SELECT Online FROM Presence WHERE UserId=?1");
    online.bind(1, userId);
    const bool changed = !online.step() || online.i64(0) == 0;
    if (changed) set_presence_locked(userId, true, now);
    tx.commit();
    return changed;
}

bool SqliteStore::presence_disconnected(const std::string& connectionId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    // Tombstones older than an hour go (no event can still be on its way, ce-time is checked).
    Stmt(*stmts_, "DELETE FROM PresenceConnections WHERE DisconnectedAt IS NOT NULL AND DisconnectedAt<?1")
        .bind(1, now - kPresenceTombstoneMs).run();
    Stmt who(*stmts_, "SELECT UserId, DisconnectedAt IS NULL FROM PresenceConnections WHERE ConnectionId=?1");
    who.bind(1, connectionId);
    if (!who.step()) {
        // Never seen: a tombstone, so that its connected event, late or replayed, changes nothing.
        Stmt(*stmts_, "INSERT INTO PresenceConnections(ConnectionId, UserId, ConnectedAt, DisconnectedAt) VALUES(?1,'',?2,?2)")
            .bind(1, connectionId).bind(2, now).run();
        tx.commit();
        return false;
    }
    const std::string userId = who.text(0);
    if (who.i64(1) == 0) return false;  // ended already: its event came twice
    Stmt(*stmts_, "UPDATE PresenceConnections SET DisconnectedAt=?2 WHERE ConnectionId=?1").bind(1, connectionId).bind(2, now).run();
    Stmt left(*stmts_, "SELECT 1 FROM PresenceConnections WHERE UserId=?1 AND DisconnectedAt IS NULL LIMIT 1");
    left.bind(1, userId);
    const bool changed = !left.step();
    if (changed) set_presence_locked(userId, false, now);
    tx.commit();
    return changed;
}

std::vector<std::string> SqliteStore::presence_connections() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT ConnectionId FROM PresenceConnections WHERE DisconnectedAt IS NULL ORDER BY ConnectionId");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

void SqliteStore::set_presence_locked(const std::string& userId, bool online, int64_t now) {
    Stmt(*stmts_, "INSERT INTO Presence(UserId, Online, Version, ChangedAt) VALUES(?1,?2,1,?3) "
              "ON CONFLICT(UserId) DO UPDATE SET Online=excluded.Online, Version=Version+1, ChangedAt=excluded.ChangedAt")
        .bind(1, userId).bind(2, static_cast<int64_t>(online)).bind(3, now).run();
    Stmt v(*stmts_, "SELECT Version FROM Presence WHERE UserId=?1");
    v.bind(1, userId);
    v.step();
    const uint64_t version = static_cast<uint64_t>(v.i64(0));
    std::vector<std::string> convs;
    {
        Stmt s(*stmts_, "SELECT ConversationId FROM ConversationUsers WHERE UserId=?1");
        s.bind(1, userId);
        while (s.step()) convs.push_back(s.text(0));
    }
    for (const auto& cid : convs) {
        // One row per member and conversation: a newer state makes the older row pointless.
        const std::string prefix = presence_event_prefix(cid, userId);
        Stmt(*stmts_, "DELETE FROM OutboxEvents WHERE EventId>=?1 AND EventId<?2").bind(1, prefix).bind(2, prefix_end(prefix)).run();
        const std::string event_id = new_id(prefix);
        Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
            .bind(1, event_id).bind(2, chat::kChatPresenceEvent).bind(3, chat::conversation_group(cid))
            .bind(4, chat::chat_presence_event({cid, userId, online, version}, event_id).dump()).bind(5, now).run();
    }
}

std::optional<std::string> SqliteStore::presence_owner(const std::string& connectionId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT UserId FROM PresenceConnections WHERE ConnectionId=?1 AND DisconnectedAt IS NULL");
    s.bind(1, connectionId);
    if (!s.step()) return std::nullopt;
    return s.text(0);
}

std::vector<chat::PresenceState> SqliteStore::presence(const std::string& conversationId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT m.UserId, COALESCE(p.Online, 0), COALESCE(p.Version, 0) FROM ConversationUsers m "
                "LEFT JOIN Presence p ON p.UserId=m.UserId WHERE m.ConversationId=?1 ORDER BY m.UserId");
    s.bind(1, conversationId);
    std::vector<chat::PresenceState> out;
    while (s.step()) out.push_back({conversationId, s.text(0), s.i64(1) != 0, static_cast<uint64_t>(s.i64(2))});
    return out;
}

void SqliteStore::presence_reset(int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    Stmt(*stmts_, "UPDATE PresenceConnections SET DisconnectedAt=?1 WHERE DisconnectedAt IS NULL").bind(1, now).run();
    Stmt(*stmts_, "UPDATE Presence SET Online=0, Version=Version+1, ChangedAt=?1 WHERE Online<>0").bind(1, now).run();
    tx.commit();
}

std::optional<chat::Message> SqliteStore::message(const std::string& messageId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, (std::string("SELECT ") + kMessageCols + " FROM Messages WHERE MessageId=?1").c_str());
    s.bind(1, messageId);
    if (!s.step()) return std::nullopt;
    std::vector<chat::Message> one{read_message(s)};
    load_reactions_locked(one[0].conversationId, one);
    return one[0];
}

std::pair<Notification, bool> SqliteStore::create_notification(const Notification& in, const std::string& group,
                                                               int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    Tx tx(*stmts_);
    auto out = create_notification_locked(in, group, now);
    tx.commit();
    return out;
}

// Inside the caller's transaction (a notification alone, or one a message causes).
std::pair<Notification, bool> SqliteStore::create_notification_locked(const Notification& in, const std::string& group,
                                                                      int64_t now) {
    auto load = [&](const std::string& id) {
        Stmt s(*stmts_, (std::string("SELECT ") + kNotificationCols +
                     " FROM Notifications n LEFT JOIN NotificationReads r ON 0 WHERE n.NotificationId=?1").c_str());
        s.bind(1, id);
        return s.step() ? std::optional<Notification>(read_notification(s)) : std::nullopt;
    };
    if (auto existing = load(in.id)) {
        Stmt by(*stmts_, "SELECT CreatedBy FROM Notifications WHERE NotificationId=?1");
        by.bind(1, in.id);
        if (by.step()) existing->createdBy = by.text(0);
        return {*existing, false};
    }
    Stmt ins(*stmts_, "INSERT INTO Notifications(NotificationId, TargetKind, TargetId, Title, Body, ActionLabel, ActionUrl, CreatedAt, CreatedBy) "
                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    ins.bind(1, in.id).bind(2, in.targetKind).bind(3, in.targetId).bind(4, in.title).bind(5, in.body);
    if (in.actionLabel.empty()) ins.bind_null(6); else ins.bind(6, in.actionLabel);
    if (in.actionUrl.empty()) ins.bind_null(7); else ins.bind(7, in.actionUrl);
    ins.bind(8, now).bind(9, in.createdBy).run();
    Notification n = *load(in.id);
    n.createdBy = in.createdBy;
    Stmt(*stmts_, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, "ntf:" + n.id).bind(2, "notification").bind(3, group).bind(4, notification_event_json(n)).bind(5, now).run();
    return {n, true};
}

NotificationPage SqliteStore::notifications_for(const std::string& userId, uint64_t cursor, std::size_t limit,
                                                bool include_archived) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sql = std::string("SELECT ") + kNotificationCols +
                      " FROM Notifications n LEFT JOIN NotificationReads r ON r.NotificationId=n.NotificationId AND r.UserId=?1"
                      " WHERE " + kVisible + " AND n.Seq<?2";
    if (!include_archived) sql += " AND r.ArchivedAt IS NULL";
    sql += " ORDER BY n.Seq DESC LIMIT ?3";
    Stmt s(*stmts_, sql.c_str());
    s.bind(1, userId).bind(2, cursor == 0 ? INT64_MAX : static_cast<int64_t>(cursor)).bind(3, static_cast<int64_t>(limit + 1));
    NotificationPage page;
    while (s.step()) page.items.push_back(read_notification(s));
    if (page.items.size() > limit) {
        page.items.pop_back();
        page.nextCursor = page.items.back().seq;
    }
    return page;
}

uint64_t SqliteStore::unread_notifications(const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, (std::string("SELECT COUNT(*) FROM Notifications n LEFT JOIN NotificationReads r ON "
                             "r.NotificationId=n.NotificationId AND r.UserId=?1 WHERE ") + kVisible +
                 " AND r.ReadAt IS NULL AND r.ArchivedAt IS NULL").c_str());
    s.bind(1, userId);
    s.step();
    return static_cast<uint64_t>(s.i64(0));
}

void SqliteStore::mark_notifications(const std::string& userId, const std::vector<std::string>& ids, bool all,
                                     NotificationMark mark, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    const char* col = mark == NotificationMark::Seen ? "SeenAt" : mark == NotificationMark::Read ? "ReadAt" : "ArchivedAt";
    // Read implies seen.
    const std::string set = std::string(col) + "=COALESCE(" + col + ", ?3)" +
                            (mark == NotificationMark::Read ? ", SeenAt=COALESCE(SeenAt, ?3)" : "");
    const std::string upsert = std::string("INSERT INTO NotificationReads(NotificationId, UserId, ") + col +
                               (mark == NotificationMark::Read ? ", SeenAt" : "") + ") ";
    Tx tx(*stmts_);
    if (all) {
        Stmt(*stmts_, (upsert + "SELECT n.NotificationId, ?1, ?3" + (mark == NotificationMark::Read ? ", ?3" : "") +
                   " FROM Notifications n WHERE " + kVisible + " AND ?2=?2 ON CONFLICT(NotificationId, UserId) DO UPDATE SET " + set)
                      .c_str())
            .bind(1, userId).bind(2, int64_t{0}).bind(3, now).run();
    } else {
        for (const auto& id : ids) {
            Stmt(*stmts_, (upsert + "SELECT n.NotificationId, ?1, ?3" + (mark == NotificationMark::Read ? ", ?3" : "") +
                       " FROM Notifications n WHERE n.NotificationId=?2 AND " + kVisible +
                       " ON CONFLICT(NotificationId, UserId) DO UPDATE SET " + set).c_str())
                .bind(1, userId).bind(2, id).bind(3, now).run();
        }
    }
    tx.commit();
}

void SqliteStore::put_blob(const BlobMeta& b) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt(*stmts_, "INSERT INTO Blobs(BlobId, Name, ContentType, Size, UploaderId, CreatedAt) VALUES(?1,?2,?3,?4,?5,?6)")
        .bind(1, b.id).bind(2, b.name).bind(3, b.contentType).bind(4, static_cast<int64_t>(b.size)).bind(5, b.uploaderId)
        .bind(6, b.createdAt).run();
}

uint64_t SqliteStore::blob_bytes_of(const std::string& uploaderId) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT COALESCE(SUM(Size), 0) FROM Blobs WHERE UploaderId=?1");
    s.bind(1, uploaderId);
    return s.step() ? static_cast<uint64_t>(s.i64(0)) : 0;
}

std::optional<BlobMeta> SqliteStore::blob(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT BlobId, Name, ContentType, Size, UploaderId, CreatedAt FROM Blobs WHERE BlobId=?1");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return BlobMeta{s.text(0), s.text(1), s.text(2), s.text(4), static_cast<uint64_t>(s.i64(3)), s.i64(5)};
}

std::vector<OutboxRow> SqliteStore::due_outbox(int64_t now, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    // Not a row whose target has an older pending row waiting for its retry: a target's events go
    // out in order, a failed one holding back the newer ones until it is published or dead.
    Stmt s(*stmts_, (std::string("SELECT ") + kOutboxCols +
                 " FROM OutboxEvents o WHERE ProcessedAt IS NULL AND Dead=0 AND NextAttemptAt<=?1"
                 " AND NOT EXISTS (SELECT 1 FROM OutboxEvents p WHERE p.Target=o.Target AND p.rowid<o.rowid"
                 "                 AND p.ProcessedAt IS NULL AND p.Dead=0 AND p.NextAttemptAt>?1) "
                 "ORDER BY CreatedAt, rowid LIMIT ?2").c_str());
    s.bind(1, now).bind(2, static_cast<int64_t>(limit));
    std::vector<OutboxRow> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
}

std::optional<int64_t> SqliteStore::next_outbox_due() {
    std::lock_guard<std::mutex> lock(mu_);
    // Not before every older pending row of its target is due (per-target order, due_outbox).
    Stmt s(*stmts_, "SELECT MIN(MAX(o.NextAttemptAt, COALESCE((SELECT MAX(p.NextAttemptAt) FROM OutboxEvents p"
                "  WHERE p.Target=o.Target AND p.rowid<o.rowid AND p.ProcessedAt IS NULL AND p.Dead=0), 0)))"
                " FROM OutboxEvents o WHERE o.ProcessedAt IS NULL AND o.Dead=0");
    if (!s.step() || s.null(0)) return std::nullopt;
    return s.i64(0);
}

// Committed with synchronous=NORMAL (no fsync of its own; the next FULL commit, the next message
// say, syncs the WAL with these frames in it): a mark lost to a power cut only publishes its row
// once more after the restart, which clients drop by message or event id, while waiting for an
// fsync per published row cost more CPU than the rest of a durable message
// (bench/durable_path.mjs). A pass's marks go in one transaction. The message and its outbox rows
// themselves are committed with FULL before the API answers.
void SqliteStore::mark_published(const std::string& eventId, int64_t now) { mark_published_all({eventId}, now); }

void SqliteStore::mark_published_all(const std::vector<std::string>& eventIds, int64_t now) {
    if (eventIds.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    exec(db_, "PRAGMA synchronous=NORMAL");  // PRAGMA synchronous takes effect when compiled: not cached
    SyncFull restore{db_};
    Tx tx(*stmts_);
    for (const auto& id : eventIds)
        Stmt(*stmts_, "UPDATE OutboxEvents SET ProcessedAt=?2 WHERE EventId=?1 AND ProcessedAt IS NULL").bind(1, id).bind(2, now).run();
    tx.commit();
}

void SqliteStore::mark_failed(const std::string& eventId, const std::string& error, int64_t nextAttemptAt, bool dead) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt(*stmts_, "UPDATE OutboxEvents SET RetryCount=RetryCount+1, LastError=?2, NextAttemptAt=?3, Dead=?4 WHERE EventId=?1")
        .bind(1, eventId).bind(2, error).bind(3, nextAttemptAt).bind(4, int64_t{dead ? 1 : 0}).run();
}

OutboxStats SqliteStore::outbox_stats() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, "SELECT SUM(ProcessedAt IS NULL AND Dead=0), SUM(ProcessedAt IS NOT NULL), SUM(Dead) FROM OutboxEvents");
    s.step();
    return OutboxStats{static_cast<uint64_t>(s.i64(0)), static_cast<uint64_t>(s.i64(1)), static_cast<uint64_t>(s.i64(2))};
}

std::vector<OutboxRow> SqliteStore::dead_outbox() {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, (std::string("SELECT ") + kOutboxCols + " FROM OutboxEvents WHERE Dead=1 ORDER BY CreatedAt").c_str());
    std::vector<OutboxRow> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
}

std::vector<OutboxRow> SqliteStore::outbox_rows(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(*stmts_, (std::string("SELECT ") + kOutboxCols + " FROM OutboxEvents WHERE substr(EventId, 1, length(?1))=?1 ORDER BY rowid").c_str());
    s.bind(1, prefix);
    std::vector<OutboxRow> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
}

// Rate limits: one upsert per take, in a write transaction (BEGIN IMMEDIATE), so processes sharing
// the file take tokens one at a time. Committed with synchronous=NORMAL: a bucket need not survive
// a crash (a fuller bucket after one is harmless), so the take does not wait for an fsync; the
// next FULL commit syncs the WAL, this frame included.
#define SQLITE_REFILLED "MIN(?3, Tokens + MAX(?4 - UpdatedAt, 0) * (?2 / 60000.0))"

int64_t SqliteStore::take_token(const std::string& key, int per_min, int burst, int64_t now) {
    if (per_min <= 0) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    exec(db_, "PRAGMA synchronous=NORMAL");
    SyncFull restore{db_};
    Tx tx(*stmts_);
    Stmt s(*stmts_, "INSERT INTO RateLimits(BucketKey, Tokens, Taken, UpdatedAt) "
                "VALUES(?1, CASE WHEN ?3 >= 1 THEN ?3 - 1 ELSE ?3 END, ?3 >= 1, ?4) "
                "ON CONFLICT(BucketKey) DO UPDATE SET "
                "Tokens = " SQLITE_REFILLED " - CASE WHEN " SQLITE_REFILLED " >= 1 THEN 1 ELSE 0 END, "
                "Taken = " SQLITE_REFILLED " >= 1, "
                "UpdatedAt = MAX(UpdatedAt, ?4) "
                "RETURNING Tokens, Taken");
    s.bind(1, key).bind(2, static_cast<double>(per_min)).bind(3, static_cast<double>(burst)).bind(4, now);
    if (!s.step()) throw std::runtime_error("sqlite: the rate-limit upsert returned no row");
    const double tokens = s.f64(0);
    const bool taken = s.i64(1) != 0;
    s.run();
    tx.commit();
    return taken ? 0 : token_wait_seconds(tokens, per_min);
}

} // namespace stub
