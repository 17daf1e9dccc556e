// store.hpp - the app backend's storage interface (std-only). Two implementations pass the same
// storage suite (tests/stub/store_test.cpp): SqliteStore (one process, the default) and PgStore
// (PostgreSQL, several backend instances on one database). Their SQL: server-stub/sql/<engine>/.
//
// Every write that must reach clients commits together with an OutboxEvents row in one
// transaction; the outbox worker publishes those rows afterwards (transactional outbox).
#pragma once

#include "core/chat_model.hpp"
#include "core/chat_wire.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stub {

struct User {
    std::string id, displayName;
    std::vector<std::string> teams;
};

struct ConversationSummary {
    std::string id, title;
    std::string contextJson;
    std::vector<std::string> members;
    uint64_t lastSeq = 0, lastReadSeq = 0, unread = 0;
    uint64_t rev = 0;  // the change counter: edits and deletes so far (chat.message.updated versions)
    std::optional<chat::Message> lastMessage;
};

struct OutboxRow {
    std::string eventId, type, target, payloadJson, lastError;
    int64_t createdAt = 0, nextAttemptAt = 0;
    std::optional<int64_t> processedAt;
    int retryCount = 0;
    bool dead = false;
};

struct OutboxStats {
    uint64_t pending = 0, processed = 0, dead = 0;
};

struct AppendResult {
    chat::Message message;
    bool created = false;  // false: the clientMessageId had been stored before (idempotent replay)
};

// An edit or delete (chat_wire.hpp, chat.message.updated).
enum class ChangeOutcome {
    Changed,     // stored with a new version, its outbox row with it
    Unchanged,   // nothing to do (the same text; a tombstone deleted again): no event
    NotFound,    // no such message
    NotMember,   // the user is not (or no longer) a member of its conversation
    NotAllowed,  // a member, but not its author (edit), nor its author or the conversation's creator (delete)
    Deleted,     // edit, reaction: the message is a tombstone
    TooMany,     // reaction: the message has chat::kMaxReactionEmoji different emoji already
};
struct ChangeResult {
    ChangeOutcome outcome = ChangeOutcome::NotFound;
    chat::Message message;    // as stored after the call (not for NotFound / NotMember)
    std::string removedBlob;  // delete: the blob whose row went with it; the caller removes its bytes
};

struct Notification {
    std::string id, targetKind, targetId;  // targetKind: user | team | global
    std::string title, body, actionLabel, actionUrl;
    std::string createdBy;                 // user id, or "backend" for the service's own
    int64_t createdAt = 0;
    uint64_t seq = 0;                      // cursor order (newer = larger)
    bool seen = false, read = false, archived = false;  // per requesting user
};

struct NotificationPage {
    std::vector<Notification> items;       // newest first
    std::optional<uint64_t> nextCursor;    // pass as `cursor` for the next (older) page
};

enum class NotificationMark { Seen, Read, Archived };

struct BlobMeta {
    std::string id, name, contentType, uploaderId;
    uint64_t size = 0;
    int64_t createdAt = 0;
};

class Store {
public:
    virtual ~Store() = default;

    virtual void upsert_user(const User& u) = 0;
    virtual std::optional<User> user(const std::string& id) = 0;

    virtual std::string create_conversation(const std::string& id, const std::string& title,
                                            const std::string& contextJson, const std::vector<std::string>& members,
                                            const std::string& createdBy, int64_t now) = 0;
    virtual bool conversation_exists(const std::string& id) = 0;
    virtual bool is_member(const std::string& conversationId, const std::string& userId) = 0;
    virtual std::vector<std::string> members(const std::string& conversationId) = 0;
    virtual std::vector<ConversationSummary> conversations_for(const std::string& userId) = 0;
    virtual std::optional<ConversationSummary> conversation(const std::string& id, const std::string& userId) = 0;

    // Stores the message and its outbox rows in one transaction: the message for `group` (type
    // chat.message) and a small conversation.activity event for every member's user channel
    // (type conversation.activity, target = the conversation id; eventId "act:" + messageId).
    // `followups`: notifications the stored message causes (mentions), built from it once it has
    // its id, each stored with its outbox row in the same transaction (idempotent on their ids).
    using Followups = std::function<std::vector<std::pair<Notification, std::string>>(const chat::Message& stored)>;
    virtual AppendResult append_message(const chat::Message& draft, const std::string& group, int64_t now,
                                        const Followups& followups = {}) = 0;
    // The message `senderId` stored with `clientMessageId` in the conversation, if any (a replay).
    virtual std::optional<chat::Message> message_by_client_id(const std::string& conversationId, const std::string& senderId,
                                                              const std::string& clientMessageId) = 0;
    virtual std::vector<chat::Message> history(const std::string& conversationId, uint64_t afterSeq,
                                               uint64_t beforeSeq, std::size_t limit) = 0;
    // Moves the user's read position forward (never back, never past the last message) and
    // returns it; 0 when the user is not a member. A move commits with a chat.read outbox row for
    // conversation:{id} (read receipts, chat_wire.hpp).
    virtual uint64_t set_read(const std::string& conversationId, const std::string& userId, uint64_t seq, int64_t now) = 0;
    // Every member's read position, by user id (read receipts: GET /conversation/detail "reads").
    virtual std::vector<std::pair<std::string, uint64_t>> reads(const std::string& conversationId) = 0;
    // Presence (issue 18), from the service's connected/disconnected events. Each is one
    // transaction under the user's presence row lock: a user goes online with their first
    // connection and offline when their last one ends; each change moves their version by one
    // and commits a chat.presence outbox row for every conversation they are a member of (one row
    // per member and conversation, a newer change replacing an older row, like chat.read).
    // Returns whether the user's state changed. A connection id is used once: an ended
    // connection's row stays kPresenceTombstoneMs (a disconnected event for an id never seen
    // leaves one too), so a late, repeated or replayed event about it changes nothing.
    static constexpr int64_t kPresenceTombstoneMs = 3600 * 1000;
    virtual bool presence_connected(const std::string& userId, const std::string& connectionId, int64_t now) = 0;
    virtual bool presence_disconnected(const std::string& connectionId, int64_t now) = 0;
    // The connections stored as live (for a sweep against the service's own list: a lost
    // disconnected event must not keep anyone online).
    virtual std::vector<std::string> presence_connections() = 0;
    // The user a live connection belongs to (from its connected event); none when it ended or was
    // never seen (POST /realtime/leave closes only the caller's own live connection).
    virtual std::optional<std::string> presence_owner(const std::string& connectionId) = 0;
    // Every member's state, by user id (GET /conversation/detail "presence"); never seen: offline, version 0.
    virtual std::vector<chat::PresenceState> presence(const std::string& conversationId) = 0;
    // Ends every connection (tombstones) and takes everyone offline (a new version each, no
    // events): the embedded emulator starts with no connections, so none a previous run left is live.
    virtual void presence_reset(int64_t now) = 0;
    // One stored message as it is now (a tombstone when deleted), with its reactions.
    virtual std::optional<chat::Message> message(const std::string& messageId) = 0;

    // Edits and deletes, each one transaction under the conversation's lock: the conversation's
    // change counter (rev) moves by one, the message takes it as its version, and a
    // chat.message.updated row for conversation:{id} commits with it (eventId "upd:" + id + ":" + version).
    // Edit: `userId` wrote the message and is a member; it keeps its attachment and gets editedAt.
    virtual ChangeResult edit_message(const std::string& messageId, const std::string& userId, const std::string& text,
                                      int64_t now) = 0;
    // Delete: `userId` is a member and wrote the message or created the conversation. The row
    // becomes a tombstone (text, attachment and reactions erased, seq kept). Its attachment's blob row goes
    // too when the message's author uploaded it or no other message that is not deleted links it.
    virtual ChangeResult delete_message(const std::string& messageId, const std::string& userId, int64_t now) = 0;
    // Reactions: `userId`, a member, adds (or removes) `emoji` (checked by the caller) on the
    // message: a change like an edit (new version, chat.message.updated), Unchanged when it was
    // there already (or not there). Tombstones take none (Deleted).
    virtual ChangeResult react(const std::string& messageId, const std::string& userId, const std::string& emoji, bool add,
                               int64_t now) = 0;
    // The conversation's messages changed after change counter `after` (version > after), in
    // version order, at most `limit`: what a client that was away fetches (changedAfter).
    virtual std::vector<chat::Message> changes(const std::string& conversationId, uint64_t after, std::size_t limit) = 0;

    // Stores the notification and its outbox row in one transaction; idempotent on id
    // (returns the stored one and false when the id existed).
    virtual std::pair<Notification, bool> create_notification(const Notification& n, const std::string& group,
                                                              int64_t now) = 0;
    virtual NotificationPage notifications_for(const std::string& userId, uint64_t cursor, std::size_t limit,
                                               bool include_archived) = 0;
    virtual uint64_t unread_notifications(const std::string& userId) = 0;
    // Marks the given ids (or every visible notification when ids is empty and all is true).
    virtual void mark_notifications(const std::string& userId, const std::vector<std::string>& ids, bool all,
                                    NotificationMark mark, int64_t now) = 0;

    virtual void put_blob(const BlobMeta& meta) = 0;
    virtual std::optional<BlobMeta> blob(const std::string& id) = 0;
    virtual uint64_t blob_bytes_of(const std::string& uploaderId) = 0;  // for per-user quotas

    // Rows to publish now, oldest first. A store shared by several instances (PgStore) claims
    // them for this instance until a lease expires: another instance gets them only after that,
    // or once they are marked failed (and due again), and never while an older pending row of the
    // same target is claimed by someone else (per-target publish order).
    virtual std::vector<OutboxRow> due_outbox(int64_t now, std::size_t limit) = 0;
    // When due_outbox may next return something (none: no pending row).
    virtual std::optional<int64_t> next_outbox_due() = 0;
    virtual void mark_published(const std::string& eventId, int64_t now) = 0;
    // Rows one worker's pass published, marked together (a store may commit them at once).
    virtual void mark_published_all(const std::vector<std::string>& eventIds, int64_t now) {
        for (const auto& id : eventIds) mark_published(id, now);
    }
    virtual void mark_failed(const std::string& eventId, const std::string& error, int64_t nextAttemptAt, bool dead) = 0;
    virtual OutboxStats outbox_stats() = 0;
    virtual std::vector<OutboxRow> dead_outbox() = 0;
    // Every row whose event id starts with `prefix`, published or not, oldest first (inspection:
    // what the outbox table holds of a message).
    virtual std::vector<OutboxRow> outbox_rows(const std::string& prefix) = 0;

    // Rate limits: token bucket `key` (e.g. "send:alice"), stored so that every instance on the
    // database shares it. The bucket holds up to `burst` tokens (full when first used) and gains
    // per_min tokens a minute; one is taken when there is one. Returns 0 when a token was taken,
    // otherwise the seconds until one will be there (nothing taken). per_min <= 0: no limit (0,
    // nothing stored). Atomic: concurrent callers, on any instance, never get more than the
    // bucket holds. A clock behind the stored one refills nothing (no negative time).
    // Not durable on purpose: a crash may forget the last takes (the bucket is then fuller).
    virtual int64_t take_token(const std::string& key, int per_min, int burst, int64_t now) = 0;
};

// take_token's answer when no token was taken: the seconds until the bucket, holding
// `tokens_after_refill` (< 1) now, has a whole token (at least 1). Shared by the engines.
int64_t token_wait_seconds(double tokens_after_refill, int per_min);

// Gathers reaction rows (MessageId, Emoji, UserId, in reaction order) into the messages they
// belong to, for both engines: clears the messages' reactions, gives the sequence range to read
// (one query over [lo, hi]) and groups each row by emoji in order of first use.
class ReactionRows {
public:
    explicit ReactionRows(std::vector<chat::Message>& ms);
    uint64_t lo = 0, hi = 0;
    void add(const std::string& messageId, const std::string& emoji, const std::string& userId);

private:
    std::map<std::string, chat::Message*> by_id_;
};

// The blob an attachment links (its /blobs/<id>?... URL), "" for any other link: stored with the
// message so that a delete finds it.
std::string blob_id_of(const std::optional<chat::Attachment>& a);

// The event ids of a member's chat.read rows start with this (lengths make it unambiguous
// whatever the ids hold), and every id with that prefix sorts below prefix_end(prefix).
std::string read_event_prefix(const std::string& conversationId, const std::string& userId);
// The same for a member's chat.presence rows.
std::string presence_event_prefix(const std::string& conversationId, const std::string& userId);
std::string prefix_end(const std::string& prefix);
// A fresh id: `prefix` + 20 hex digits from the CSPRNG (blob ids are part of attachment links,
// and none should be guessable).
std::string new_id(const std::string& prefix);

// The outbox payload of a stored notification (type "notification"): the same on every engine.
std::string notification_event_json(const Notification& n);

} // namespace stub
