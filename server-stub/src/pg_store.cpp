// pg_store.cpp - see pg_store.hpp. The only file that includes libpqxx / libpq.
//
// Index:
//   [SECTION] URLs: recognise, check, redact
//   [SECTION] Queries: literal SQL, $n parameters, transactions retried on deadlock
//   [SECTION] Connection and migrations
//   [SECTION] Users and conversations
//   [SECTION] Messages
//   [SECTION] Notifications
//   [SECTION] Blobs
//   [SECTION] Outbox (claim with a lease)
//   [SECTION] Rate limits
#include "pg_store.hpp"

#include "jwt.hpp"
#include "sql_migrations.hpp"

#include "core/chat_wire.hpp"

#include <libpq-fe.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <stdexcept>
#include <type_traits>

namespace stub {

using nlohmann::json;

//-----------------------------------------------------------------------------
// [SECTION] URLs: recognise, check, redact
//-----------------------------------------------------------------------------

bool is_postgres_url(const std::string& db) {
    return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

namespace {

// libpq's own reading of a connection string (keyword -> value), or its error.
struct ParsedConninfo {
    bool ok = false;
    std::string error;
    std::string user, password, host, hostaddr, port, dbname, connect_timeout;
};

ParsedConninfo parse_conninfo(const std::string& url) {
    ParsedConninfo out;
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    if (!opts) {
        out.error = err ? err : "out of memory";
        if (err) PQfreemem(err);
        while (!out.error.empty() && (out.error.back() == '\n' || out.error.back() == ' ')) out.error.pop_back();
        return out;
    }
    out.ok = true;
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
        if (!o->val) continue;
        const std::string k = o->keyword, v = o->val;
        if (k == "user") out.user = v;
        else if (k == "password") out.password = v;
        else if (k == "host") out.host = v;
        else if (k == "hostaddr") out.hostaddr = v;
        else if (k == "port") out.port = v;
        else if (k == "dbname") out.dbname = v;
        else if (k == "connect_timeout") out.connect_timeout = v;
    }
    PQconninfoFree(opts);
    return out;
}

// What may be a secret in `url`, in every form a message could quote it: the password as libpq
// reads it, and, in case libpq could not read the URL, the raw user-info part (before the last
// '@' of the authority) and any password= value.
std::vector<std::string> secrets_of(const std::string& url) {
    std::vector<std::string> out;
    const ParsedConninfo p = parse_conninfo(url);
    if (!p.password.empty()) out.push_back(p.password);
    const auto scheme = url.find("://");
    if (scheme != std::string::npos) {
        const std::size_t from = scheme + 3;
        const std::size_t query = url.find('?', from);
        const std::size_t at = url.rfind('@', query == std::string::npos ? std::string::npos : query);
        if (at != std::string::npos && at >= from) {
            const std::string userinfo = url.substr(from, at - from);
            const auto colon = userinfo.find(':');
            if (colon != std::string::npos) out.push_back(userinfo.substr(colon + 1));
        }
    }
    for (std::size_t pos = url.find("password="); pos != std::string::npos; pos = url.find("password=", pos + 1)) {
        const std::size_t v = pos + 9;
        const std::size_t end = url.find_first_of("& ", v);
        out.push_back(url.substr(v, end == std::string::npos ? std::string::npos : end - v));
    }
    out.erase(std::remove(out.begin(), out.end(), std::string()), out.end());
    // Longest first, so a secret containing another is replaced whole.
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return out;
}

void replace_all(std::string& text, const std::string& what, const std::string& with) {
    if (what.empty()) return;
    for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + with.size()))
        text.replace(pos, what.size(), with);
}

// `message` (libpq's or the server's) with the URL and every form of its password taken out.
std::string scrub(std::string message, const std::string& url) {
    replace_all(message, url, redacted_postgres_url(url));
    for (const std::string& s : secrets_of(url)) replace_all(message, s, "***");
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
    return message;
}

} // namespace

std::string postgres_url_problem(const std::string& url) {
    const ParsedConninfo p = parse_conninfo(url);
    return p.ok ? std::string() : scrub(p.error, url);
}

std::string redacted_postgres_url(const std::string& url) {
    const ParsedConninfo p = parse_conninfo(url);
    if (!p.ok) return "postgresql://(a URL libpq cannot read)";
    const std::string host = !p.host.empty() ? p.host : !p.hostaddr.empty() ? p.hostaddr : "localhost";
    return "postgresql://" + (p.user.empty() ? std::string() : p.user + "@") + host + (p.port.empty() ? "" : ":" + p.port) +
           "/" + p.dbname;
}

//-----------------------------------------------------------------------------
// [SECTION] Queries: literal SQL, $n parameters, transactions retried on deadlock
//-----------------------------------------------------------------------------

struct PgStore::Conn {
    pqxx::connection c;
    explicit Conn(const std::string& url) : c(url) {}
};

namespace {

constexpr int kTxAttempts = 3;  // a deadlock or serialization failure rolls back: try again
// Advisory lock keys ("chat" in ASCII, then 1 and 2), held for one transaction.
#define PG_LOCK_MIGRATE "1667785076001"
#define PG_LOCK_CLAIM "1667785076002"

// A value PostgreSQL's text cannot hold: libpq sends text parameters as C strings, so a NUL
// would silently cut the value short (and "alice\0x" would compare equal to "alice").
void check_param(const std::string& s) {
    if (s.find('\0') != std::string::npos)
        throw std::invalid_argument("PostgreSQL cannot store text containing a NUL character");
}
template <class T>
void check_param(const T&) {}

// NULL for an empty string, as SqliteStore binds it.
const char* or_null(const std::string& s) {
    check_param(s);
    return s.empty() ? nullptr : s.c_str();
}

int64_t lim(std::size_t n) { return static_cast<int64_t>(std::min<uint64_t>(n, std::numeric_limits<int64_t>::max())); }

// Every query of this file goes through here. The SQL is a string literal (an array, so no text
// built at run time can be passed) and every value a $n parameter: no user data reaches SQL text.
template <std::size_t N, class... Args>
pqxx::result q(pqxx::transaction_base& w, const char (&sql)[N], const Args&... args) {
    (check_param(args), ...);
    return w.exec_params(sql, args...);
}

// Runs `f` in a read-committed transaction and commits; retried when the server rolled it back
// for a deadlock or a serialization failure (nothing was written). Other errors propagate, and
// so does statement_completion_unknown (the outcome is not known: a retry could write twice).
template <class F>
auto in_tx(pqxx::connection& c, F&& f) -> decltype(f(std::declval<pqxx::work&>())) {
    for (int attempt = 1;; ++attempt) {
        try {
            pqxx::work w(c);
            if constexpr (std::is_void_v<decltype(f(w))>) {
                f(w);
                w.commit();
                return;
            } else {
                auto out = f(w);
                w.commit();
                return out;
            }
        } catch (const pqxx::deadlock_detected&) {
            if (attempt >= kTxAttempts) throw;
        } catch (const pqxx::serialization_failure&) {
            if (attempt >= kTxAttempts) throw;
        }
    }
}

// One statement outside a transaction (autocommit).
template <class F>
auto single(pqxx::connection& c, F&& f) {
    pqxx::nontransaction w(c);
    return f(w);
}

std::string text(const pqxx::field& f) { return f.is_null() ? std::string() : std::string(f.c_str(), f.size()); }
int64_t i64(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

#define PG_MESSAGE_COLS \
    "MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, CreatedAt, Version, EditedAt, DeletedAt, " \
    "ReplyToId, ReplyToSeq"
constexpr int kPgMessageColCount = 13;  // a column selected after PG_MESSAGE_COLS has this index

chat::Message read_message(const pqxx::row& r) {
    chat::Message m;
    m.messageId = text(r[0]);
    m.conversationId = text(r[1]);
    m.seq = static_cast<uint64_t>(i64(r[2]));
    m.senderId = text(r[3]);
    m.text = text(r[4]);
    m.clientMessageId = text(r[5]);
    if (!r[6].is_null()) m.attachment = chat::attachment_from_json(json::parse(text(r[6]), nullptr, false));
    m.createdAtMs = i64(r[7]);
    m.version = static_cast<uint64_t>(i64(r[8]));
    m.editedAtMs = i64(r[9]);
    m.deleted = !r[10].is_null();
    if (!r[11].is_null()) {
        m.replyToId = text(r[11]);
        m.replyToSeq = static_cast<uint64_t>(i64(r[12]));
    }
    return m;
}

// The messages' reactions, with one query over their sequence range (a history page is one).
template <class W>
void load_reactions(W& w, const std::string& conversationId, std::vector<chat::Message>& ms) {
    if (ms.empty()) return;
    ReactionRows rows(ms);
    for (const auto& row : q(w, "SELECT MessageId, Emoji, UserId FROM MessageReactions WHERE ConversationId=$1 AND Seq BETWEEN $2 AND $3 "
                                "ORDER BY CreatedAt, UserId, Emoji",
                             conversationId, static_cast<int64_t>(rows.lo), static_cast<int64_t>(rows.hi)))
        rows.add(text(row[0]), text(row[1]), text(row[2]));
}

// Notifications a user ($1) can see: addressed to them, to one of their teams, or to everyone.
#define PG_VISIBLE                                                                                    \
    "((n.TargetKind='user' AND n.TargetId=$1) OR (n.TargetKind='global') OR "                         \
    "(n.TargetKind='team' AND n.TargetId IN (SELECT TeamId FROM TeamMembers WHERE UserId=$1)))"
#define PG_NOTIFICATION_COLS                                                                           \
    "n.NotificationId, n.TargetKind, n.TargetId, n.Title, n.Body, n.ActionLabel, n.ActionUrl, n.CreatedAt, n.Seq, "

Notification read_notification(const pqxx::row& r) {
    Notification n;
    n.id = text(r[0]);
    n.targetKind = text(r[1]);
    n.targetId = text(r[2]);
    n.title = text(r[3]);
    n.body = text(r[4]);
    n.actionLabel = text(r[5]);
    n.actionUrl = text(r[6]);
    n.createdAt = i64(r[7]);
    n.seq = static_cast<uint64_t>(i64(r[8]));
    n.seen = r[9].as<bool>();
    n.read = r[10].as<bool>();
    n.archived = r[11].as<bool>();
    return n;
}

#define PG_OUTBOX_COLS "EventId, Type, Target, PayloadJson, CreatedAt, ProcessedAt, RetryCount, NextAttemptAt, LastError, Dead"

OutboxRow read_outbox(const pqxx::row& r, int first = 0) {
    OutboxRow o;
    o.eventId = text(r[first + 0]);
    o.type = text(r[first + 1]);
    o.target = text(r[first + 2]);
    o.payloadJson = text(r[first + 3]);
    o.createdAt = i64(r[first + 4]);
    if (!r[first + 5].is_null()) o.processedAt = i64(r[first + 5]);
    o.retryCount = static_cast<int>(i64(r[first + 6]));
    o.nextAttemptAt = i64(r[first + 7]);
    o.lastError = text(r[first + 8]);
    o.dead = r[first + 9].as<bool>();
    return o;
}

} // namespace

//-----------------------------------------------------------------------------
// [SECTION] Connection and migrations
//-----------------------------------------------------------------------------

PgStore::PgStore(const std::string& url, PgOptions options) : options_(std::move(options)) {
    if (options_.instance_id.empty()) options_.instance_id = new_id("inst_");
    const ParsedConninfo p = parse_conninfo(url);
    if (!p.ok) throw std::runtime_error("not a PostgreSQL connection URL libpq can read: " + scrub(p.error, url));
    // Without a connect_timeout libpq waits for the network's own timeout (minutes) on a host
    // that does not answer: say 10 s unless the URL says otherwise.
    std::string conninfo = url;
    if (p.connect_timeout.empty())
        conninfo += is_postgres_url(url) ? (url.find('?') == std::string::npos ? "?" : "&") + std::string("connect_timeout=10")
                                         : std::string(" connect_timeout=10");
    try {
        conn_ = std::make_unique<Conn>(conninfo);
        // No NOTICE lines on stderr (pqxx prints them); warnings and errors still come through.
        conn_->c.set_variable("client_min_messages", "warning");
        migrate();
    } catch (const std::exception& e) {
        throw std::runtime_error("PostgreSQL at " + redacted_postgres_url(url) + ": " + scrub(scrub(e.what(), conninfo), url));
    }
}

PgStore::~PgStore() = default;

void PgStore::migrate() {
    constexpr int want = static_cast<int>(std::size(sql::k_postgresql_migrations));
    in_tx(conn_->c, [&](pqxx::work& w) {
        // One instance at a time; the others wait here, then find the schema current. DDL is
        // transactional in PostgreSQL: a failed migration leaves nothing behind.
        w.exec("SELECT pg_advisory_xact_lock(" PG_LOCK_MIGRATE ")");
        w.exec("CREATE TABLE IF NOT EXISTS SchemaMigrations("
               "Version INTEGER PRIMARY KEY, Name TEXT NOT NULL, AppliedAt BIGINT NOT NULL)");
        const int have = w.exec("SELECT COALESCE(MAX(Version), 0) FROM SchemaMigrations")[0][0].as<int>();
        if (have > want)
            throw std::runtime_error("database schema version " + std::to_string(have) + " is newer than this server (" +
                                     std::to_string(want) + ")");
        for (int i = have; i < want; ++i) {
            w.exec(sql::k_postgresql_migrations[i]);
            q(w, "INSERT INTO SchemaMigrations(Version, Name, AppliedAt) VALUES($1, $2, $3)", i + 1,
              std::string(sql::k_postgresql_migration_names[i]), unix_now_ms());
        }
    });
}

int PgStore::schema_version() {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [](pqxx::nontransaction& w) {
        return w.exec("SELECT COALESCE(MAX(Version), 0) FROM SchemaMigrations")[0][0].as<int>();
    });
}

//-----------------------------------------------------------------------------
// [SECTION] Users and conversations
//-----------------------------------------------------------------------------

void PgStore::upsert_user(const User& u) {
    std::lock_guard<std::mutex> lock(mu_);
    in_tx(conn_->c, [&](pqxx::work& w) {
        q(w, "INSERT INTO Users(UserId, DisplayName) VALUES($1, $2) "
             "ON CONFLICT(UserId) DO UPDATE SET DisplayName=excluded.DisplayName",
          u.id, u.displayName);
        q(w, "DELETE FROM TeamMembers WHERE UserId=$1", u.id);
        for (const auto& t : u.teams)
            q(w, "INSERT INTO TeamMembers(TeamId, UserId) VALUES($1, $2) ON CONFLICT DO NOTHING", t, u.id);
    });
}

std::optional<User> PgStore::user(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) -> std::optional<User> {
        const auto r = q(w, "SELECT UserId, DisplayName FROM Users WHERE UserId=$1", id);
        if (r.empty()) return std::nullopt;
        User u{text(r[0][0]), text(r[0][1]), {}};
        for (const auto& row : q(w, "SELECT TeamId FROM TeamMembers WHERE UserId=$1 ORDER BY TeamId", id))
            u.teams.push_back(text(row[0]));
        return u;
    });
}

std::string PgStore::create_conversation(const std::string& id, const std::string& title, const std::string& contextJson,
                                         const std::vector<std::string>& members, const std::string& createdBy,
                                         int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string cid = id.empty() ? new_id("c_") : id;
    in_tx(conn_->c, [&](pqxx::work& w) {
        q(w, "INSERT INTO Conversations(ConversationId, Title, ContextJson, CreatedBy, CreatedAt) VALUES($1,$2,$3,$4,$5)",
          cid, title, contextJson, createdBy, now);
        for (const auto& m : members)
            q(w, "INSERT INTO ConversationUsers(ConversationId, UserId) VALUES($1, $2) ON CONFLICT DO NOTHING", cid, m);
        // The members' lists learn of it live (chat_wire.hpp, conversation.created).
        q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
          "new:" + cid, std::string(chat::kConversationCreatedEvent), cid, chat::conversation_created_event(cid, createdBy).dump(), now);
    });
    return cid;
}

bool PgStore::conversation_exists(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        return !q(w, "SELECT 1 FROM Conversations WHERE ConversationId=$1", id).empty();
    });
}

bool PgStore::is_member(const std::string& conversationId, const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        return !q(w, "SELECT 1 FROM ConversationUsers WHERE ConversationId=$1 AND UserId=$2", conversationId, userId).empty();
    });
}

std::vector<std::string> PgStore::members(const std::string& conversationId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<std::string> out;
        for (const auto& row : q(w, "SELECT UserId FROM ConversationUsers WHERE ConversationId=$1 ORDER BY UserId", conversationId))
            out.push_back(text(row[0]));
        return out;
    });
}

namespace {

std::optional<ConversationSummary> summary(pqxx::transaction_base& w, const std::string& id, const std::string& userId) {
    const auto r = q(w, "SELECT c.ConversationId, c.Title, c.ContextJson, c.LastSeq, m.LastReadSeq, c.EditRev FROM Conversations c "
                        "JOIN ConversationUsers m ON m.ConversationId=c.ConversationId AND m.UserId=$2 "
                        "WHERE c.ConversationId=$1",
                     id, userId);
    if (r.empty()) return std::nullopt;
    ConversationSummary c;
    c.id = text(r[0][0]);
    c.title = text(r[0][1]);
    c.contextJson = text(r[0][2]);
    c.lastSeq = static_cast<uint64_t>(i64(r[0][3]));
    c.lastReadSeq = static_cast<uint64_t>(i64(r[0][4]));
    c.rev = static_cast<uint64_t>(i64(r[0][5]));
    for (const auto& row : q(w, "SELECT UserId FROM ConversationUsers WHERE ConversationId=$1 ORDER BY UserId", id))
        c.members.push_back(text(row[0]));
    c.unread = static_cast<uint64_t>(
        i64(q(w, "SELECT COUNT(*) FROM Messages WHERE ConversationId=$1 AND Seq>$2 AND SenderId<>$3", id,
              static_cast<int64_t>(c.lastReadSeq), userId)[0][0]));
    const auto last = q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE ConversationId=$1 ORDER BY Seq DESC LIMIT 1", id);
    if (!last.empty()) c.lastMessage = read_message(last[0]);
    return c;
}

} // namespace

std::vector<ConversationSummary> PgStore::conversations_for(const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) {
        std::vector<ConversationSummary> out;
        for (const auto& row : q(w, "SELECT ConversationId FROM ConversationUsers WHERE UserId=$1 ORDER BY ConversationId", userId))
            if (auto c = summary(w, text(row[0]), userId)) out.push_back(std::move(*c));
        return out;
    });
}

std::optional<ConversationSummary> PgStore::conversation(const std::string& id, const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) { return summary(w, id, userId); });
}

//-----------------------------------------------------------------------------
// [SECTION] Messages
//-----------------------------------------------------------------------------

std::optional<chat::Message> PgStore::message_by_client_id(const std::string& conversationId, const std::string& senderId,
                                                          const std::string& clientMessageId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) -> std::optional<chat::Message> {
        const auto r = q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE ConversationId=$1 AND SenderId=$2 AND ClientMessageId=$3",
                         conversationId, senderId, clientMessageId);
        if (r.empty()) return std::nullopt;
        return read_message(r[0]);
    });
}

namespace {
// Inside the caller's transaction (a notification alone, or one a message causes).
std::pair<Notification, bool> insert_notification(pqxx::work& w, const Notification& in, const std::string& group, int64_t now) {
    {
        // A concurrent insert of the same id makes this one wait, then do nothing.
        const bool created = !q(w, "INSERT INTO Notifications(NotificationId, TargetKind, TargetId, Title, Body, ActionLabel, "
                                   "ActionUrl, CreatedAt, CreatedBy) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) "
                                   "ON CONFLICT(NotificationId) DO NOTHING RETURNING Seq",
                                in.id, in.targetKind, in.targetId, in.title, in.body, or_null(in.actionLabel),
                                or_null(in.actionUrl), now, in.createdBy)
                                  .empty();
        const auto r = q(w, "SELECT " PG_NOTIFICATION_COLS "FALSE, FALSE, FALSE, n.CreatedBy FROM Notifications n "
                            "WHERE n.NotificationId=$1",
                         in.id);
        Notification n = read_notification(r[0]);
        n.createdBy = created ? in.createdBy : text(r[0][12]);
        if (created)
            q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
              "ntf:" + n.id, std::string("notification"), group, notification_event_json(n), now);
        return {n, created};
    }
}

} // namespace

AppendResult PgStore::append_message(const chat::Message& draft, const std::string& group, int64_t now, const Followups& followups) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) -> AppendResult {
        // The conversation's row lock orders every writer of this conversation, on any instance:
        // the next one waits here until this transaction ends, then reads the committed LastSeq
        // (and a message stored with its clientMessageId). Seqs stay unique and gap-free.
        if (q(w, "SELECT LastSeq FROM Conversations WHERE ConversationId=$1 FOR UPDATE", draft.conversationId).empty())
            throw std::runtime_error("unknown conversation " + draft.conversationId);
        if (!draft.clientMessageId.empty()) {
            const auto r = q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE ConversationId=$1 AND SenderId=$2 AND ClientMessageId=$3",
                             draft.conversationId, draft.senderId, draft.clientMessageId);
            if (!r.empty()) return AppendResult{read_message(r[0]), false};
        }
        chat::Message m = draft;
        m.seq = static_cast<uint64_t>(
            i64(q(w, "UPDATE Conversations SET LastSeq=LastSeq+1 WHERE ConversationId=$1 RETURNING LastSeq", draft.conversationId)[0][0]));
        m.messageId = new_id("msg_");
        m.createdAtMs = now;
        m.state = chat::SendState::Sent;
        const std::string attachment = m.attachment ? chat::attachment_json(*m.attachment).dump() : std::string();
        q(w, "INSERT INTO Messages(MessageId, ConversationId, Seq, SenderId, Body, ClientMessageId, AttachmentJson, CreatedAt, BlobId, "
             "ReplyToId, ReplyToSeq) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
          m.messageId, m.conversationId, static_cast<int64_t>(m.seq), m.senderId, m.text, or_null(m.clientMessageId),
          or_null(attachment), now, or_null(blob_id_of(m.attachment)), or_null(m.replyToId),
          m.replyToId.empty() ? std::optional<int64_t>() : std::optional<int64_t>(static_cast<int64_t>(m.replyToSeq)));
        // The outbox rows: the event clients receive (the stable messageId as its id), then the
        // members' small activity event (badge, preview and order of their conversation lists).
        q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
          m.messageId, std::string(chat::kChatMessageEvent), group, chat::chat_message_event(m).dump(), now);
        q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
          "act:" + m.messageId, std::string("conversation.activity"), m.conversationId, chat::activity_json(m).dump(), now);
        if (followups)
            for (const auto& [n, target] : followups(m)) insert_notification(w, n, target, now);
        return AppendResult{m, true};
    });
}

std::vector<chat::Message> PgStore::history(const std::string& conversationId, uint64_t afterSeq, uint64_t beforeSeq,
                                            std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<chat::Message> out;
        if (beforeSeq > 0) {
            // Backwards paging: the `limit` messages just before beforeSeq, returned in ascending order.
            for (const auto& row : q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE ConversationId=$1 AND Seq<$2 AND Seq>$3 "
                                        "ORDER BY Seq DESC LIMIT $4",
                                     conversationId, static_cast<int64_t>(beforeSeq), static_cast<int64_t>(afterSeq), lim(limit)))
                out.push_back(read_message(row));
            std::reverse(out.begin(), out.end());
        } else {
            for (const auto& row : q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE ConversationId=$1 AND Seq>$2 "
                                        "ORDER BY Seq ASC LIMIT $3",
                                     conversationId, static_cast<int64_t>(afterSeq), lim(limit)))
                out.push_back(read_message(row));
        }
        load_reactions(w, conversationId, out);
        return out;
    });
}

namespace {

// Locks the message's conversation (every writer of it waits here, on any instance), reads the
// message and checks who may change it. Returns the outcome to answer with, or nullopt when the
// change may go ahead (`m` is the message, `blob` the blob its attachment links).
std::optional<ChangeResult> change_check(pqxx::work& w, const std::string& messageId, const std::string& userId, bool del,
                                         chat::Message& m, std::string& blob) {
    const auto conv = q(w, "SELECT ConversationId FROM Messages WHERE MessageId=$1", messageId);
    if (conv.empty()) return ChangeResult{ChangeOutcome::NotFound, {}, {}};
    const auto owner = q(w, "SELECT CreatedBy FROM Conversations WHERE ConversationId=$1 FOR UPDATE", text(conv[0][0]));
    const auto r = q(w, "SELECT " PG_MESSAGE_COLS ", BlobId FROM Messages WHERE MessageId=$1", messageId);
    if (r.empty() || owner.empty()) return ChangeResult{ChangeOutcome::NotFound, {}, {}};
    m = read_message(r[0]);
    blob = text(r[0][kPgMessageColCount]);
    if (q(w, "SELECT 1 FROM ConversationUsers WHERE ConversationId=$1 AND UserId=$2", m.conversationId, userId).empty())
        return ChangeResult{ChangeOutcome::NotMember, {}, {}};
    const bool allowed = m.senderId == userId || (del && !owner[0][0].is_null() && text(owner[0][0]) == userId);
    if (!allowed) return ChangeResult{ChangeOutcome::NotAllowed, m, {}};
    if (m.deleted) return ChangeResult{del ? ChangeOutcome::Unchanged : ChangeOutcome::Deleted, m, {}};
    return std::nullopt;
}

uint64_t next_rev(pqxx::work& w, const std::string& conversationId) {
    return static_cast<uint64_t>(
        i64(q(w, "UPDATE Conversations SET EditRev=EditRev+1 WHERE ConversationId=$1 RETURNING EditRev", conversationId)[0][0]));
}

// The message's events not published yet carry what it was: they are rewritten to what it is
// now (a deleted text is never sent after the delete), and earlier changes' events are dropped
// (the new one carries the whole message). A delete (`erase`) rewrites the published ones too, so
// that no copy of the text stays in the outbox table. A publish already under way cannot be
// called back.
void supersede_pending(pqxx::work& w, const chat::Message& m, bool erase) {
    const std::string first = "upd:" + m.messageId + ":", last = "upd:" + m.messageId + ";";  // every version (';' follows ':')
    const std::string message = chat::chat_message_event(m).dump(), activity = chat::activity_json(m).dump();
    if (erase) {
        q(w, "UPDATE OutboxEvents SET PayloadJson=$2 WHERE EventId=$1", m.messageId, message);
        q(w, "UPDATE OutboxEvents SET PayloadJson=$2 WHERE EventId=$1", "act:" + m.messageId, activity);
    } else {
        q(w, "UPDATE OutboxEvents SET PayloadJson=$2 WHERE EventId=$1 AND ProcessedAt IS NULL", m.messageId, message);
        q(w, "UPDATE OutboxEvents SET PayloadJson=$2 WHERE EventId=$1 AND ProcessedAt IS NULL", "act:" + m.messageId, activity);
    }
    const std::string act_first = "act:" + m.messageId + ":", act_last = "act:" + m.messageId + ";";
    q(w, "DELETE FROM OutboxEvents WHERE EventId>=$1 AND EventId<$2 AND ProcessedAt IS NULL", first, last);
    q(w, "DELETE FROM OutboxEvents WHERE EventId>=$1 AND EventId<$2 AND ProcessedAt IS NULL", act_first, act_last);
    if (erase) {
        q(w, "UPDATE OutboxEvents SET PayloadJson=$3 WHERE EventId>=$1 AND EventId<$2", first, last,
          chat::chat_message_updated_event(m).dump());
        q(w, "UPDATE OutboxEvents SET PayloadJson=$3 WHERE EventId>=$1 AND EventId<$2", act_first, act_last, activity);
    }
}

void insert_update_event(pqxx::work& w, const chat::Message& m, int64_t now) {
    supersede_pending(w, m, m.deleted);
    // The conversation's newest message: every member's list shows it as the preview, so its
    // activity goes out again (same seq, this version; "act:<id>:<version>").
    const auto last = q(w, "SELECT LastSeq FROM Conversations WHERE ConversationId=$1", m.conversationId);
    if (!last.empty() && static_cast<uint64_t>(i64(last[0][0])) == m.seq)
        q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
          "act:" + m.messageId + ":" + std::to_string(m.version), std::string("conversation.activity"), m.conversationId,
          chat::activity_json(m).dump(), now);
    const json event = chat::chat_message_updated_event(m);
    q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
      event["eventId"].get<std::string>(), std::string(chat::kChatMessageUpdatedEvent), chat::conversation_group(m.conversationId),
      event.dump(), now);
}

} // namespace

ChangeResult PgStore::edit_message(const std::string& messageId, const std::string& userId, const std::string& body, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    check_param(body);
    return in_tx(conn_->c, [&](pqxx::work& w) -> ChangeResult {
        chat::Message m;
        std::string blob;
        if (auto refused = change_check(w, messageId, userId, false, m, blob)) return *refused;
        if (m.text == body) return ChangeResult{ChangeOutcome::Unchanged, m, {}};
        m.version = next_rev(w, m.conversationId);
        m.text = body;
        m.editedAtMs = now;
        q(w, "UPDATE Messages SET Body=$2, Version=$3, EditedAt=$4 WHERE MessageId=$1", messageId, body,
          static_cast<int64_t>(m.version), now);
        std::vector<chat::Message> one{m};
        load_reactions(w, m.conversationId, one);  // the event carries the whole message
        m = one[0];
        insert_update_event(w, m, now);
        return ChangeResult{ChangeOutcome::Changed, m, {}};
    });
}

ChangeResult PgStore::delete_message(const std::string& messageId, const std::string& userId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) -> ChangeResult {
        chat::Message m;
        std::string blob;
        if (auto refused = change_check(w, messageId, userId, true, m, blob)) return *refused;
        m.version = next_rev(w, m.conversationId);
        m.text.clear();
        m.attachment.reset();
        m.deleted = true;
        q(w, "UPDATE Messages SET Body='', AttachmentJson=NULL, ReplyToId=NULL, ReplyToSeq=NULL, Version=$2, DeletedAt=$3 WHERE MessageId=$1", messageId,
          static_cast<int64_t>(m.version), now);
        q(w, "DELETE FROM MessageReactions WHERE MessageId=$1", messageId);
        std::string removed;
        if (!blob.empty()) {
            // The upload goes once no message that is not deleted links it any more: a copy of the
            // link posted elsewhere (by its uploader, or in a conversation the deleter is not in)
            // keeps working.
            const auto up = q(w, "SELECT 1 FROM Blobs WHERE BlobId=$1 FOR UPDATE", blob);
            if (!up.empty() && q(w, "SELECT 1 FROM Messages WHERE BlobId=$1 AND DeletedAt IS NULL LIMIT 1", blob).empty()) {
                q(w, "DELETE FROM Blobs WHERE BlobId=$1", blob);
                removed = blob;
            }
        }
        insert_update_event(w, m, now);
        return ChangeResult{ChangeOutcome::Changed, m, removed};
    });
}

std::vector<chat::Message> PgStore::changes(const std::string& conversationId, uint64_t after, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<chat::Message> out;
        for (const auto& row : q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE ConversationId=$1 AND Version>$2 "
                                    "ORDER BY Version ASC LIMIT $3",
                                 conversationId, static_cast<int64_t>(after), lim(limit)))
            out.push_back(read_message(row));
        load_reactions(w, conversationId, out);
        return out;
    });
}

ChangeResult PgStore::react(const std::string& messageId, const std::string& userId, const std::string& emoji, bool add, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    check_param(emoji);
    return in_tx(conn_->c, [&](pqxx::work& w) -> ChangeResult {
        const auto conv = q(w, "SELECT ConversationId FROM Messages WHERE MessageId=$1", messageId);
        if (conv.empty()) return ChangeResult{ChangeOutcome::NotFound, {}, {}};
        q(w, "SELECT 1 FROM Conversations WHERE ConversationId=$1 FOR UPDATE", text(conv[0][0]));
        const auto r = q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE MessageId=$1", messageId);
        if (r.empty()) return ChangeResult{ChangeOutcome::NotFound, {}, {}};
        std::vector<chat::Message> one{read_message(r[0])};
        chat::Message& m = one[0];
        if (q(w, "SELECT 1 FROM ConversationUsers WHERE ConversationId=$1 AND UserId=$2", m.conversationId, userId).empty())
            return ChangeResult{ChangeOutcome::NotMember, {}, {}};
        if (m.deleted) return ChangeResult{ChangeOutcome::Deleted, m, {}};
        load_reactions(w, m.conversationId, one);
        if (chat::reacted(m, emoji, userId) == add) return ChangeResult{ChangeOutcome::Unchanged, m, {}};
        if (add) {
            const bool known = std::any_of(m.reactions.begin(), m.reactions.end(), [&](const chat::Reaction& x) { return x.emoji == emoji; });
            if (!known && m.reactions.size() >= chat::kMaxReactionEmoji) return ChangeResult{ChangeOutcome::TooMany, m, {}};
            q(w, "INSERT INTO MessageReactions(ConversationId, Seq, MessageId, UserId, Emoji, CreatedAt) VALUES($1,$2,$3,$4,$5,$6)",
              m.conversationId, static_cast<int64_t>(m.seq), messageId, userId, emoji, now);
        } else {
            q(w, "DELETE FROM MessageReactions WHERE MessageId=$1 AND UserId=$2 AND Emoji=$3", messageId, userId, emoji);
        }
        m.version = next_rev(w, m.conversationId);
        q(w, "UPDATE Messages SET Version=$2 WHERE MessageId=$1", messageId, static_cast<int64_t>(m.version));
        load_reactions(w, m.conversationId, one);
        insert_update_event(w, m, now);
        return ChangeResult{ChangeOutcome::Changed, m, {}};
    });
}

uint64_t PgStore::set_read(const std::string& conversationId, const std::string& userId, uint64_t seq, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) -> uint64_t {
        // The member's row lock orders this user's read marks (any instance); read state only
        // moves forward and never past the last message.
        const auto cur = q(w, "SELECT m.LastReadSeq, c.LastSeq FROM ConversationUsers m JOIN Conversations c "
                              "ON c.ConversationId=m.ConversationId WHERE m.ConversationId=$1 AND m.UserId=$2 FOR UPDATE OF m",
                           conversationId, userId);
        if (cur.empty()) return 0;
        const uint64_t was = static_cast<uint64_t>(i64(cur[0][0])), last = static_cast<uint64_t>(i64(cur[0][1]));
        const uint64_t now_read = std::max(was, std::min(seq, last));
        if (now_read == was) return was;
        q(w, "UPDATE ConversationUsers SET LastReadSeq=$3 WHERE ConversationId=$1 AND UserId=$2", conversationId, userId,
          static_cast<int64_t>(now_read));
        // One row per member and conversation (see SqliteStore::set_read).
        const std::string prefix = read_event_prefix(conversationId, userId);
        q(w, "DELETE FROM OutboxEvents WHERE EventId>=$1 AND EventId<$2", prefix, prefix_end(prefix));
        const std::string event_id = new_id(prefix);
        q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
          event_id, std::string(chat::kChatReadEvent), chat::conversation_group(conversationId),
          chat::chat_read_event({conversationId, userId, now_read}, event_id).dump(), now);
        return now_read;
    });
}

std::vector<std::pair<std::string, uint64_t>> PgStore::reads(const std::string& conversationId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<std::pair<std::string, uint64_t>> out;
        for (const auto& row : q(w, "SELECT UserId, LastReadSeq FROM ConversationUsers WHERE ConversationId=$1 ORDER BY UserId",
                                 conversationId))
            out.emplace_back(text(row[0]), static_cast<uint64_t>(i64(row[1])));
        return out;
    });
}

namespace {

// Locks the user's Presence row (created offline at version 0 when missing): one user's changes
// wait for each other, whichever instance received them. Returns whether the user is online.
bool lock_presence(pqxx::work& w, const std::string& userId, int64_t now) {
    q(w, "INSERT INTO Presence(UserId, Online, Version, ChangedAt) VALUES($1,false,0,$2) ON CONFLICT (UserId) DO NOTHING", userId, now);
    const auto r = q(w, "SELECT Online FROM Presence WHERE UserId=$1 FOR UPDATE", userId);
    return r[0][0].as<bool>();
}

// The user's state moved (under lock_presence): a new version and a chat.presence row per conversation.
void set_presence(pqxx::work& w, const std::string& userId, bool online, int64_t now) {
    const auto v = q(w, "UPDATE Presence SET Online=$2, Version=Version+1, ChangedAt=$3 WHERE UserId=$1 RETURNING Version", userId,
                     online, now);
    const uint64_t version = static_cast<uint64_t>(i64(v[0][0]));
    for (const auto& row : q(w, "SELECT ConversationId FROM ConversationUsers WHERE UserId=$1", userId)) {
        const std::string cid = text(row[0]);
        const std::string prefix = presence_event_prefix(cid, userId);  // one row per member and conversation
        q(w, "DELETE FROM OutboxEvents WHERE EventId>=$1 AND EventId<$2", prefix, prefix_end(prefix));
        const std::string event_id = new_id(prefix);
        q(w, "INSERT INTO OutboxEvents(EventId, Type, Target, PayloadJson, CreatedAt, NextAttemptAt) VALUES($1,$2,$3,$4,$5,$5)",
          event_id, std::string(chat::kChatPresenceEvent), chat::conversation_group(cid),
          chat::chat_presence_event({cid, userId, online, version}, event_id).dump(), now);
    }
}

} // namespace

bool PgStore::presence_connected(const std::string& userId, const std::string& connectionId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) {
        const bool online = lock_presence(w, userId, now);
        const auto added = q(w, "INSERT INTO PresenceConnections(ConnectionId, UserId, ConnectedAt) VALUES($1,$2,$3) "
                                "ON CONFLICT (ConnectionId) DO NOTHING",
                             connectionId, userId, now);
        if (added.affected_rows() == 0 || online) return false;  // a redelivered (or ended) connection, or online already
        set_presence(w, userId, true, now);
        return true;
    });
}

bool PgStore::presence_disconnected(const std::string& connectionId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) {
        // Tombstones older than an hour go (no event can still be on its way, ce-time is checked).
        q(w, "DELETE FROM PresenceConnections WHERE DisconnectedAt IS NOT NULL AND DisconnectedAt<$1", now - kPresenceTombstoneMs);
        // Never seen: a tombstone, so that its connected event, late or replayed (on any
        // instance), changes nothing; the primary key orders this against that insert.
        if (q(w, "INSERT INTO PresenceConnections(ConnectionId, UserId, ConnectedAt, DisconnectedAt) VALUES($1,'',$2,$2) "
                 "ON CONFLICT (ConnectionId) DO NOTHING",
              connectionId, now).affected_rows() == 1)
            return false;
        const auto who = q(w, "SELECT UserId FROM PresenceConnections WHERE ConnectionId=$1", connectionId);
        const std::string userId = text(who[0][0]);
        lock_presence(w, userId, now);
        if (q(w, "UPDATE PresenceConnections SET DisconnectedAt=$2 WHERE ConnectionId=$1 AND DisconnectedAt IS NULL", connectionId, now)
                .affected_rows() == 0)
            return false;  // ended already: its event came twice
        if (!q(w, "SELECT 1 FROM PresenceConnections WHERE UserId=$1 AND DisconnectedAt IS NULL LIMIT 1", userId).empty()) return false;
        set_presence(w, userId, false, now);
        return true;
    });
}

std::vector<std::string> PgStore::presence_connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<std::string> out;
        for (const auto& row : q(w, "SELECT ConnectionId FROM PresenceConnections WHERE DisconnectedAt IS NULL ORDER BY ConnectionId"))
            out.push_back(text(row[0]));
        return out;
    });
}

std::optional<std::string> PgStore::presence_owner(const std::string& connectionId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) -> std::optional<std::string> {
        const auto row = q(w, "SELECT UserId FROM PresenceConnections WHERE ConnectionId=$1 AND DisconnectedAt IS NULL", connectionId);
        if (row.empty()) return std::nullopt;
        return text(row[0][0]);
    });
}

std::vector<chat::PresenceState> PgStore::presence(const std::string& conversationId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<chat::PresenceState> out;
        for (const auto& row : q(w, "SELECT m.UserId, COALESCE(p.Online, false), COALESCE(p.Version, 0) FROM ConversationUsers m "
                                    "LEFT JOIN Presence p ON p.UserId=m.UserId WHERE m.ConversationId=$1 ORDER BY m.UserId",
                                 conversationId))
            out.push_back({conversationId, text(row[0]), row[1].as<bool>(), static_cast<uint64_t>(i64(row[2]))});
        return out;
    });
}

void PgStore::presence_reset(int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    in_tx(conn_->c, [&](pqxx::work& w) {
        q(w, "UPDATE PresenceConnections SET DisconnectedAt=$1 WHERE DisconnectedAt IS NULL", now);
        q(w, "UPDATE Presence SET Online=false, Version=Version+1, ChangedAt=$1 WHERE Online", now);
    });
}

std::optional<chat::Message> PgStore::message(const std::string& messageId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) -> std::optional<chat::Message> {
        const auto r = q(w, "SELECT " PG_MESSAGE_COLS " FROM Messages WHERE MessageId=$1", messageId);
        if (r.empty()) return std::nullopt;
        std::vector<chat::Message> one{read_message(r[0])};
        load_reactions(w, one[0].conversationId, one);
        return one[0];
    });
}

//-----------------------------------------------------------------------------
// [SECTION] Notifications
//-----------------------------------------------------------------------------

std::pair<Notification, bool> PgStore::create_notification(const Notification& in, const std::string& group, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) { return insert_notification(w, in, group, now); });
}

NotificationPage PgStore::notifications_for(const std::string& userId, uint64_t cursor, std::size_t limit,
                                            bool include_archived) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t before = cursor == 0 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(cursor);
    NotificationPage page;
    single(conn_->c, [&](pqxx::nontransaction& w) {
        const auto r = include_archived
                           ? q(w, "SELECT " PG_NOTIFICATION_COLS "r.SeenAt IS NOT NULL, r.ReadAt IS NOT NULL, r.ArchivedAt IS NOT NULL "
                                  "FROM Notifications n LEFT JOIN NotificationReads r ON r.NotificationId=n.NotificationId AND r.UserId=$1 "
                                  "WHERE " PG_VISIBLE " AND n.Seq<$2 ORDER BY n.Seq DESC LIMIT $3",
                               userId, before, lim(limit + 1))
                           : q(w, "SELECT " PG_NOTIFICATION_COLS "r.SeenAt IS NOT NULL, r.ReadAt IS NOT NULL, r.ArchivedAt IS NOT NULL "
                                  "FROM Notifications n LEFT JOIN NotificationReads r ON r.NotificationId=n.NotificationId AND r.UserId=$1 "
                                  "WHERE " PG_VISIBLE " AND n.Seq<$2 AND r.ArchivedAt IS NULL ORDER BY n.Seq DESC LIMIT $3",
                               userId, before, lim(limit + 1));
        for (const auto& row : r) page.items.push_back(read_notification(row));
    });
    if (page.items.size() > limit) {
        page.items.pop_back();
        page.nextCursor = page.items.back().seq;
    }
    return page;
}

uint64_t PgStore::unread_notifications(const std::string& userId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        return static_cast<uint64_t>(i64(q(w, "SELECT COUNT(*) FROM Notifications n LEFT JOIN NotificationReads r ON "
                                              "r.NotificationId=n.NotificationId AND r.UserId=$1 WHERE " PG_VISIBLE
                                              " AND r.ReadAt IS NULL AND r.ArchivedAt IS NULL",
                                           userId)[0][0]));
    });
}

// Marking: one INSERT ... ON CONFLICT per (mark, all or one id), each a literal. Read implies
// seen; a time once set stays. $1 = user, then $2 = now (all) or $2 = id, $3 = now (one).
#define PG_MARK_ALL(COLS, VALUES, SET)                                                                 \
    "INSERT INTO NotificationReads(NotificationId, UserId, " COLS ") SELECT n.NotificationId, $1::text, " VALUES \
    " FROM Notifications n WHERE " PG_VISIBLE " ON CONFLICT(NotificationId, UserId) DO UPDATE SET " SET
#define PG_MARK_ONE(COLS, VALUES, SET)                                                                 \
    "INSERT INTO NotificationReads(NotificationId, UserId, " COLS ") SELECT n.NotificationId, $1::text, " VALUES \
    " FROM Notifications n WHERE n.NotificationId=$2 AND " PG_VISIBLE                                  \
    " ON CONFLICT(NotificationId, UserId) DO UPDATE SET " SET

void PgStore::mark_notifications(const std::string& userId, const std::vector<std::string>& ids, bool all,
                                 NotificationMark mark, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    in_tx(conn_->c, [&](pqxx::work& w) {
        if (all) {
            switch (mark) {
            case NotificationMark::Seen:
                q(w, PG_MARK_ALL("SeenAt", "$2::bigint", "SeenAt=COALESCE(NotificationReads.SeenAt, $2::bigint)"), userId, now);
                break;
            case NotificationMark::Read:
                q(w, PG_MARK_ALL("ReadAt, SeenAt", "$2::bigint, $2::bigint",
                                 "ReadAt=COALESCE(NotificationReads.ReadAt, $2::bigint), SeenAt=COALESCE(NotificationReads.SeenAt, $2::bigint)"),
                  userId, now);
                break;
            case NotificationMark::Archived:
                q(w, PG_MARK_ALL("ArchivedAt", "$2::bigint", "ArchivedAt=COALESCE(NotificationReads.ArchivedAt, $2::bigint)"), userId, now);
                break;
            }
            return;
        }
        for (const auto& id : ids) {
            switch (mark) {
            case NotificationMark::Seen:
                q(w, PG_MARK_ONE("SeenAt", "$3::bigint", "SeenAt=COALESCE(NotificationReads.SeenAt, $3::bigint)"), userId, id, now);
                break;
            case NotificationMark::Read:
                q(w, PG_MARK_ONE("ReadAt, SeenAt", "$3::bigint, $3::bigint",
                                 "ReadAt=COALESCE(NotificationReads.ReadAt, $3::bigint), SeenAt=COALESCE(NotificationReads.SeenAt, $3::bigint)"),
                  userId, id, now);
                break;
            case NotificationMark::Archived:
                q(w, PG_MARK_ONE("ArchivedAt", "$3::bigint", "ArchivedAt=COALESCE(NotificationReads.ArchivedAt, $3::bigint)"), userId, id, now);
                break;
            }
        }
    });
}

//-----------------------------------------------------------------------------
// [SECTION] Blobs
//-----------------------------------------------------------------------------

void PgStore::put_blob(const BlobMeta& b) {
    std::lock_guard<std::mutex> lock(mu_);
    single(conn_->c, [&](pqxx::nontransaction& w) {
        q(w, "INSERT INTO Blobs(BlobId, Name, ContentType, Size, UploaderId, CreatedAt) VALUES($1,$2,$3,$4,$5,$6)", b.id, b.name,
          b.contentType, static_cast<int64_t>(b.size), b.uploaderId, b.createdAt);
    });
}

std::optional<BlobMeta> PgStore::blob(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) -> std::optional<BlobMeta> {
        const auto r = q(w, "SELECT BlobId, Name, ContentType, Size, UploaderId, CreatedAt FROM Blobs WHERE BlobId=$1", id);
        if (r.empty()) return std::nullopt;
        return BlobMeta{text(r[0][0]), text(r[0][1]), text(r[0][2]), text(r[0][4]), static_cast<uint64_t>(i64(r[0][3])), i64(r[0][5])};
    });
}

uint64_t PgStore::blob_bytes_of(const std::string& uploaderId) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        return static_cast<uint64_t>(i64(q(w, "SELECT COALESCE(SUM(Size), 0)::bigint FROM Blobs WHERE UploaderId=$1", uploaderId)[0][0]));
    });
}

//-----------------------------------------------------------------------------
// [SECTION] Outbox (claim with a lease)
//-----------------------------------------------------------------------------

std::vector<OutboxRow> PgStore::due_outbox(int64_t now, std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) {
        // Claims of every instance one at a time (held to this transaction's end): without it, a
        // claim could skip an older row of a target that another claim has locked but not yet
        // committed, and hand out the newer one.
        w.exec("SELECT pg_advisory_xact_lock(" PG_LOCK_CLAIM ")");
        // Due rows that are unclaimed, ours, or whose lease expired; not while an older pending
        // row of the same target is leased to another instance or waiting for its retry
        // (per-target order: a failed row holds back its target's newer rows until it is
        // published or dead). Rows locked by a concurrent mark_published/mark_failed are skipped
        // this time.
        const auto r = q(w, "WITH pick AS ("
                            "  SELECT o.Id FROM OutboxEvents o"
                            "  WHERE o.ProcessedAt IS NULL AND NOT o.Dead AND o.NextAttemptAt <= $1"
                            "    AND (o.ClaimedUntil IS NULL OR o.ClaimedUntil <= $1 OR o.ClaimedBy = $2)"
                            "    AND NOT EXISTS (SELECT 1 FROM OutboxEvents p"
                            "                    WHERE p.Target = o.Target AND p.Id < o.Id AND p.ProcessedAt IS NULL AND NOT p.Dead"
                            "                      AND (p.NextAttemptAt > $1 OR (p.ClaimedBy <> $2 AND p.ClaimedUntil > $1)))"
                            "  ORDER BY o.Id LIMIT $3"
                            "  FOR UPDATE OF o SKIP LOCKED)"
                            " UPDATE OutboxEvents AS u SET ClaimedBy = $2, ClaimedUntil = $4 FROM pick WHERE u.Id = pick.Id"
                            " RETURNING u.Id, u.EventId, u.Type, u.Target, u.PayloadJson, u.CreatedAt, u.ProcessedAt, u.RetryCount,"
                            "   u.NextAttemptAt, u.LastError, u.Dead",
                         now, options_.instance_id, lim(limit), now + options_.lease_ms);
        std::vector<std::pair<int64_t, OutboxRow>> rows;
        for (const auto& row : r) rows.emplace_back(i64(row[0]), read_outbox(row, 1));
        std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });  // RETURNING has no order
        std::vector<OutboxRow> out;
        for (auto& [id, row] : rows) out.push_back(std::move(row));
        return out;
    });
}

std::optional<int64_t> PgStore::next_outbox_due() {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) -> std::optional<int64_t> {
        // A row is due at its NextAttemptAt, but not before another instance's lease on it, or on
        // an older pending row of its target, runs out (then it is taken over), nor before every
        // older pending row of its target is due (per-target order).
        const auto r = q(w, "SELECT MIN(GREATEST(o.NextAttemptAt,"
                            "  CASE WHEN o.ClaimedBy <> $1 THEN COALESCE(o.ClaimedUntil, 0) ELSE 0 END,"
                            "  COALESCE((SELECT MAX(GREATEST(p.NextAttemptAt,"
                            "                   CASE WHEN p.ClaimedBy <> $1 THEN COALESCE(p.ClaimedUntil, 0) ELSE 0 END))"
                            "            FROM OutboxEvents p"
                            "            WHERE p.Target = o.Target AND p.Id < o.Id AND p.ProcessedAt IS NULL AND NOT p.Dead), 0)))"
                            " FROM OutboxEvents o WHERE o.ProcessedAt IS NULL AND NOT o.Dead",
                         options_.instance_id);
        if (r[0][0].is_null()) return std::nullopt;
        return i64(r[0][0]);
    });
}

void PgStore::mark_published(const std::string& eventId, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    single(conn_->c, [&](pqxx::nontransaction& w) {
        q(w, "UPDATE OutboxEvents SET ProcessedAt=$2, ClaimedBy=NULL, ClaimedUntil=NULL WHERE EventId=$1 AND ProcessedAt IS NULL",
          eventId, now);
    });
}

void PgStore::mark_failed(const std::string& eventId, const std::string& error, int64_t nextAttemptAt, bool dead) {
    std::lock_guard<std::mutex> lock(mu_);
    single(conn_->c, [&](pqxx::nontransaction& w) {
        // The claim ends: once due again, any instance may take the row.
        q(w, "UPDATE OutboxEvents SET RetryCount=RetryCount+1, LastError=$2, NextAttemptAt=$3, Dead=$4, ClaimedBy=NULL, "
             "ClaimedUntil=NULL WHERE EventId=$1",
          eventId, error, nextAttemptAt, dead);
    });
}

OutboxStats PgStore::outbox_stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        const auto r = w.exec("SELECT COUNT(*) FILTER (WHERE ProcessedAt IS NULL AND NOT Dead), "
                              "COUNT(*) FILTER (WHERE ProcessedAt IS NOT NULL), COUNT(*) FILTER (WHERE Dead) FROM OutboxEvents");
        return OutboxStats{static_cast<uint64_t>(i64(r[0][0])), static_cast<uint64_t>(i64(r[0][1])), static_cast<uint64_t>(i64(r[0][2]))};
    });
}

std::vector<OutboxRow> PgStore::dead_outbox() {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<OutboxRow> out;
        for (const auto& row : w.exec("SELECT " PG_OUTBOX_COLS " FROM OutboxEvents WHERE Dead ORDER BY CreatedAt, Id"))
            out.push_back(read_outbox(row));
        return out;
    });
}

std::vector<OutboxRow> PgStore::outbox_rows(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    return single(conn_->c, [&](pqxx::nontransaction& w) {
        std::vector<OutboxRow> out;
        for (const auto& row : q(w, "SELECT " PG_OUTBOX_COLS " FROM OutboxEvents WHERE left(EventId, length($1))=$1 ORDER BY Id", prefix))
            out.push_back(read_outbox(row));
        return out;
    });
}

//-----------------------------------------------------------------------------
// [SECTION] Rate limits
//-----------------------------------------------------------------------------

// The bucket after the refill: $1 key, $2 tokens per minute, $3 burst, $4 now (ms). No time
// passes backwards (an instance whose clock is behind the stored UpdatedAt refills nothing).
#define PG_REFILLED "LEAST($3::float8, b.Tokens + GREATEST($4::bigint - b.UpdatedAt, 0) * ($2::float8 / 60000))"

int64_t PgStore::take_token(const std::string& key, int per_min, int burst, int64_t now) {
    if (per_min <= 0) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    return in_tx(conn_->c, [&](pqxx::work& w) -> int64_t {
        // A bucket need not survive a crash (a fuller bucket after one is harmless): no WAL flush wait.
        w.exec("SET LOCAL synchronous_commit = off");
        // One statement: the upsert locks the bucket's row; a concurrent take (any instance) waits,
        // then re-evaluates SET on the row as committed. SET sees the row before this update.
        const pqxx::result r =
            q(w, "INSERT INTO RateLimits AS b (BucketKey, Tokens, Taken, UpdatedAt) "
                 "VALUES($1, CASE WHEN $3::float8 >= 1 THEN $3::float8 - 1 ELSE $3::float8 END, $3::float8 >= 1, $4::bigint) "
                 "ON CONFLICT(BucketKey) DO UPDATE SET "
                 "Tokens = " PG_REFILLED " - CASE WHEN " PG_REFILLED " >= 1 THEN 1 ELSE 0 END, "
                 "Taken = " PG_REFILLED " >= 1, "
                 "UpdatedAt = GREATEST(b.UpdatedAt, $4::bigint) "
                 "RETURNING Tokens, Taken",
              key, per_min, burst, now);
        if (r[0][1].as<bool>()) return 0;
        return token_wait_seconds(r[0][0].as<double>(), per_min);
    });
}

} // namespace stub
