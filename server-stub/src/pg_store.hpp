// pg_store.hpp - Store on PostgreSQL (libpqxx 6.4 over libpq), for several backend instances on
// one database. Selected by `--db postgresql://...` (or postgres://); a file path keeps SQLite.
//
//  [X] the SqliteStore's semantics: the same storage suite runs against both (tests/stub/store_test.cpp)
//  [X] versioned schema migrations (server-stub/sql/postgresql/NNN_*.sql), in one transaction under
//      an advisory lock, so instances starting together migrate once
//  [X] per-conversation sequence numbers unique and gap-free across instances: the conversation
//      row is locked (SELECT ... FOR UPDATE) and LastSeq incremented in the message's transaction
//  [X] idempotent replies by clientMessageId, checked under that lock (a concurrent replay of the
//      same id waits and gets the stored message)
//  [X] outbox claimed with a lease: due_outbox() claims rows for this instance until now + lease;
//      an expired lease is taken over; a row is not handed out while an older pending row of the
//      same target is claimed by another instance (per-target publish order); claims of all
//      instances are serialized by an advisory lock, rows locked elsewhere skipped (SKIP LOCKED)
//  [X] every query is a string literal with $1..$n parameters (exec_params): no user data in SQL
//  [X] text with a NUL character is refused (PostgreSQL cannot store it; libpq would cut it short)
//  [X] errors name the database without its password
//  [X] rate-limit buckets in the database (take_token): one upsert statement per take, so
//      concurrent takes on several instances never hand out more than the bucket holds
//  [ ] a connection pool: one connection behind a mutex, as SqliteStore's (the server's io thread
//      and its outbox worker share it)
//  [ ] LISTEN/NOTIFY to wake other instances' outbox workers: a worker that sleeps without due
//      rows of its own takes over a dead instance's rows at its next wake-up
//
// 2026-11-29: first version (issue 16).
#pragma once

#include "store.hpp"

#include <memory>
#include <mutex>

namespace stub {

// True for a PostgreSQL connection URL (postgresql:// or postgres://), which --db takes instead
// of a SQLite file path.
bool is_postgres_url(const std::string& db);

// "" when libpq can parse `url`; otherwise why not, without the URL's password.
std::string postgres_url_problem(const std::string& url);

// The URL for logs and errors: postgresql://user@host:port/dbname, never the password.
std::string redacted_postgres_url(const std::string& url);

struct PgOptions {
    int64_t lease_ms = 30000;  // how long a claimed outbox row is this instance's
    std::string instance_id;   // who claims (OutboxEvents.ClaimedBy); empty: a random "inst_..." id
};

class PgStore final : public Store {
public:
    // Connects (libpq's connect_timeout defaults to 10 s here) and migrates. Throws
    // std::runtime_error naming the database (redacted_postgres_url) and libpq's reason.
    explicit PgStore(const std::string& url, PgOptions options = {});
    ~PgStore() override;
    PgStore(const PgStore&) = delete;
    PgStore& operator=(const PgStore&) = delete;

    const std::string& instance_id() const { return options_.instance_id; }
    int schema_version();

    void upsert_user(const User& u) override;
    std::optional<User> user(const std::string& id) override;
    std::string create_conversation(const std::string& id, const std::string& title, const std::string& contextJson,
                                    const std::vector<std::string>& members, const std::string& createdBy,
                                    int64_t now) override;
    bool conversation_exists(const std::string& id) override;
    bool is_member(const std::string& conversationId, const std::string& userId) override;
    std::vector<std::string> members(const std::string& conversationId) override;
    std::vector<ConversationSummary> conversations_for(const std::string& userId) override;
    std::optional<ConversationSummary> conversation(const std::string& id, const std::string& userId) override;
    AppendResult append_message(const chat::Message& draft, const std::string& group, int64_t now,
                                const Followups& followups = {}) override;
    std::optional<chat::Message> message_by_client_id(const std::string& conversationId, const std::string& senderId,
                                                      const std::string& clientMessageId) override;
    std::vector<chat::Message> history(const std::string& conversationId, uint64_t afterSeq, uint64_t beforeSeq,
                                       std::size_t limit) override;
    uint64_t set_read(const std::string& conversationId, const std::string& userId, uint64_t seq, int64_t now) override;
    std::vector<std::pair<std::string, uint64_t>> reads(const std::string& conversationId) override;
    bool presence_connected(const std::string& userId, const std::string& connectionId, int64_t now) override;
    bool presence_disconnected(const std::string& connectionId, int64_t now) override;
    std::vector<std::string> presence_connections() override;
    std::optional<std::string> presence_owner(const std::string& connectionId) override;
    std::vector<chat::PresenceState> presence(const std::string& conversationId) override;
    void presence_reset(int64_t now) override;
    std::optional<chat::Message> message(const std::string& messageId) override;
    ChangeResult edit_message(const std::string& messageId, const std::string& userId, const std::string& text,
                              int64_t now) override;
    ChangeResult delete_message(const std::string& messageId, const std::string& userId, int64_t now) override;
    std::vector<chat::Message> changes(const std::string& conversationId, uint64_t after, std::size_t limit) override;
    ChangeResult react(const std::string& messageId, const std::string& userId, const std::string& emoji, bool add,
                       int64_t now) override;
    std::pair<Notification, bool> create_notification(const Notification& n, const std::string& group, int64_t now) override;
    NotificationPage notifications_for(const std::string& userId, uint64_t cursor, std::size_t limit,
                                       bool include_archived) override;
    uint64_t unread_notifications(const std::string& userId) override;
    void mark_notifications(const std::string& userId, const std::vector<std::string>& ids, bool all,
                            NotificationMark mark, int64_t now) override;
    void put_blob(const BlobMeta& meta) override;
    std::optional<BlobMeta> blob(const std::string& id) override;
    uint64_t blob_bytes_of(const std::string& uploaderId) override;
    std::vector<OutboxRow> due_outbox(int64_t now, std::size_t limit) override;
    std::optional<int64_t> next_outbox_due() override;
    void mark_published(const std::string& eventId, int64_t now) override;
    void mark_failed(const std::string& eventId, const std::string& error, int64_t nextAttemptAt, bool dead) override;
    OutboxStats outbox_stats() override;
    std::vector<OutboxRow> dead_outbox() override;
    std::vector<OutboxRow> outbox_rows(const std::string& prefix) override;
    int64_t take_token(const std::string& key, int per_min, int burst, int64_t now) override;

private:
    struct Conn;  // the libpqxx connection (pqxx stays out of this header)
    void migrate();
    std::unique_ptr<Conn> conn_;
    PgOptions options_;
    std::mutex mu_;
};

} // namespace stub
