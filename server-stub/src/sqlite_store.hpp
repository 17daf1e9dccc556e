// sqlite_store.hpp - Store on SQLite (WAL, versioned schema migrations), safe to share between the
// network thread and the outbox worker (one connection behind a mutex).
#pragma once

#include "store.hpp"

#include <memory>
#include <mutex>

struct sqlite3;

namespace stub {

struct StmtCache;  // sqlite_store.cpp

class SqliteStore final : public Store {
public:
    // Opens (creating if needed) and migrates. Throws std::runtime_error with SQLite's message.
    explicit SqliteStore(const std::string& path);
    ~SqliteStore() override;

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
    void mark_published_all(const std::vector<std::string>& eventIds, int64_t now) override;
    void mark_failed(const std::string& eventId, const std::string& error, int64_t nextAttemptAt, bool dead) override;
    OutboxStats outbox_stats() override;
    std::vector<OutboxRow> dead_outbox() override;
    std::vector<OutboxRow> outbox_rows(const std::string& prefix) override;
    int64_t take_token(const std::string& key, int per_min, int burst, int64_t now) override;

private:
    // The user's state moved (inside the caller's transaction): a new version and the events.
    void set_presence_locked(const std::string& userId, bool online, int64_t now);
    void migrate();
    std::optional<ConversationSummary> summary_locked(const std::string& id, const std::string& userId);
    std::optional<ChangeResult> change_check_locked(const std::string& messageId, const std::string& userId, bool del,
                                                    chat::Message& m);
    uint64_t next_rev_locked(const std::string& conversationId);
    void insert_update_event_locked(const chat::Message& m, int64_t now);
    void supersede_pending_locked(const chat::Message& m, bool erase);
    std::pair<Notification, bool> create_notification_locked(const Notification& in, const std::string& group, int64_t now);
    void load_reactions_locked(const std::string& conversationId, std::vector<chat::Message>& ms);
    sqlite3* db_ = nullptr;
    std::unique_ptr<StmtCache> stmts_;  // prepared statements of db_, by SQL text
    std::mutex mu_;
};

} // namespace stub
