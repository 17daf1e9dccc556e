// chat_model.hpp - one conversation's messages as the client sees them.
//
// Stored messages are keyed by messageId and ordered by the server's per-conversation sequence.
// History pages (HTTP) and live messages (socket) merge without duplicates. A live message whose
// sequence is ahead of what is contiguous reports a gap, so the caller fetches afterSeq. Local
// sends are optimistic: pending under their clientMessageId until the API returns the stored
// message (or the live copy arrives first), failed with a reusable clientMessageId otherwise.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chat {

enum class SendState { Sent, Pending, Failed };

struct Attachment {
    std::string url, name, contentType;
    uint64_t size = 0;
};

// One emoji's reactions to a message: who reacted with it, in the order they did.
struct Reaction {
    std::string emoji;
    std::vector<std::string> users;
};

struct Message {
    std::string messageId;        // empty while pending
    std::string clientMessageId;
    std::string conversationId;
    uint64_t seq = 0;             // 0 while pending
    std::string senderId;
    std::string text;
    int64_t createdAtMs = 0;
    SendState state = SendState::Sent;
    std::string error;            // why a send failed
    std::optional<Attachment> attachment;
    // Edits and deletes (issue 18). `version` is the conversation's change counter at the
    // message's last edit or delete (0: never changed), so of two copies of one message the one
    // with the larger version is newer, whatever order they arrive in. A deleted message is a
    // tombstone: it keeps its id and sequence (unread counts and catch-up stay right), its text
    // and attachment are gone.
    uint64_t version = 0;
    int64_t editedAtMs = 0;       // 0: never edited
    bool deleted = false;
    std::vector<Reaction> reactions;  // by each emoji's first use; a change moves the version
    // A reply (issue 18): the message it answers, in the same conversation, and that one's seq
    // (where to page to). Only the link is stored: the quote is the parent as it is now, so an
    // edit or delete of the parent shows in every reply, and a deleted text is quoted nowhere.
    std::string replyToId;        // "" not a reply
    uint64_t replyToSeq = 0;
};

// Reactions per message: at most this many different emoji (the server refuses one more), and
// the client reads at most this many users per emoji.
inline constexpr std::size_t kMaxReactionEmoji = 20;
inline constexpr std::size_t kMaxReactionUsers = 1000;
inline constexpr std::size_t kMaxReactionEmojiBytes = 32;
// A message id as the API accepts one in a request (replyTo, GET /chat/messages/{id}).
inline constexpr std::size_t kMaxMessageIdBytes = 128;
// "👍:2,🎉:1": each emoji and how many reacted (the accessible mirror's data-reactions).
std::string reactions_summary(const Message& m);
bool reacted(const Message& m, const std::string& emoji, const std::string& user);

// Wire format shared by the API, the outbox payload and the client.
nlohmann::json to_json(const Message& m);
// Validates types; returns nullopt for anything that is not a stored message.
std::optional<Message> message_from_json(const nlohmann::json& j);

// What a conversation list shows for a message: its text, or "[name]" for a bare attachment,
// "Message deleted" for a tombstone,
// cut to at most `max_bytes` on a UTF-8 character boundary (with "..." when cut).
std::string preview_of(const Message& m, std::size_t max_bytes = 140);
// A byte count as people read it: "512 B", "12.3 KB", "4.8 MB" (1024-based).
std::string format_size(uint64_t bytes);

// conversation.activity: the small event every member's user channel receives for each stored
// message (badge, preview and order of the conversation list, without joining its group).
struct Activity {
    std::string conversationId, messageId, senderId, preview;
    uint64_t seq = 0;
    int64_t createdAtMs = 0;
    // The message's version: an edit or delete of a conversation's newest message sends its
    // activity again (same seq, larger version) so every member's list preview follows it.
    uint64_t version = 0;
};
nlohmann::json activity_json(const Message& m);
std::optional<Activity> activity_from_json(const nlohmann::json& j);

class Conversation {
public:
    explicit Conversation(std::string id = {}) : id_(std::move(id)) {}
    const std::string& id() const { return id_; }

    // Returns how many messages were new. A copy of a known message with a larger version
    // (edited or deleted since) replaces it in place.
    std::size_t merge(const std::vector<Message>& stored);
    // A live message, or a live edit or delete of one (the full message, newer version). Returns
    // true when it revealed a gap (caller should fetch afterSeq=contiguous_seq()).
    bool add_live(const Message& m);
    // Edits and deletes fetched after a reconnect (changedAfter): applied to the messages this
    // conversation holds; a message it has not loaded is left to history paging and catch-up
    // (which bring its current state). Returns how many changed.
    std::size_t apply_changes(const std::vector<Message>& changed);
    // The change counter up to which every edit and delete is known (the server's `rev` of the
    // first page, then of each changes fetch); 0 until the first page arrived.
    uint64_t changes_seen() const { return changes_seen_; }
    void set_changes_seen(uint64_t rev) { changes_seen_ = std::max(changes_seen_, rev); }
    // Bumped when a stored message changed in place (not when one was added): a view that
    // extends its rows for appended messages lays them out again when this moves.
    uint64_t edits() const { return edits_; }
    const Message* find(const std::string& messageId) const;
    // The same file under a link signed later (the message fetched again): taken when it lasts
    // longer than the one held. Returns whether it was.
    bool renew_link(const std::string& messageId, const std::string& url);
    // The stored message with the largest seq <= `seq` (nullptr: none loaded that old).
    const Message* at_or_before(uint64_t seq) const;

    // A message on its way (shown at once); it keeps its attachment so Retry can send it again.
    void add_pending(const std::string& clientMessageId, const std::string& senderId, const std::string& text,
                     int64_t nowMs, std::optional<Attachment> attachment = std::nullopt, const std::string& replyTo = {});
    void mark_failed(const std::string& clientMessageId, const std::string& error);
    void mark_pending(const std::string& clientMessageId);  // retrying
    const Message* find_local(const std::string& clientMessageId) const;

    // Highest sequence up to which every message is present (the afterSeq for catch-up).
    uint64_t contiguous_seq() const { return contiguous_; }
    uint64_t last_seq() const { return stored_.empty() ? 0 : stored_.rbegin()->first; }
    uint64_t first_seq() const { return stored_.empty() ? 0 : stored_.begin()->first; }
    bool has_gap() const { return last_seq() > contiguous_; }
    void set_history_start(uint64_t firstSeq);  // the server has nothing before this (older pages done)
    std::size_t unread(uint64_t lastReadSeq, const std::string& me) const;

    // Stored messages by sequence, then local (pending/failed) ones in creation order.
    std::vector<const Message*> ordered() const;
    // Stored messages after `seq`, ascending: what arrived since a view last looked (O(k log n)).
    // Stored messages never move (an edit changes one in place), so their addresses stay valid;
    // local ones may.
    std::vector<const Message*> stored_after(uint64_t seq) const;
    std::vector<const Message*> locals() const;
    std::size_t stored_count() const { return stored_.size(); }
    std::size_t size() const { return stored_.size() + local_.size(); }
    std::size_t failed_count() const;
    // Changes on every mutation: views rebuild their layout only when it moved.
    uint64_t version() const { return version_; }

private:
    void insert_stored(const Message& m);
    bool update_stored(const Message& m);  // a newer version of a stored message
    void advance_contiguous();

    std::string id_;
    std::map<uint64_t, Message> stored_;              // by seq
    std::map<std::string, uint64_t> seq_by_id_;       // messageId -> seq
    std::vector<Message> local_;                      // pending / failed, creation order
    uint64_t contiguous_ = 0;
    uint64_t history_start_ = 1;
    uint64_t version_ = 1;
    uint64_t edits_ = 0;
    uint64_t changes_seen_ = 0;
};

// Mentions: the user ids a text names as "@id" (an id is letters, digits, '_', '.', '-'; the
// '@' starts the text or follows a space or punctuation, not a letter or digit, so e-mail
// addresses are not mentions; a trailing '.' ends the sentence, not the id). In order, once each,
// at most kMaxMentions.
inline constexpr std::size_t kMaxMentions = 20;
std::vector<std::string> mentions(const std::string& text);

// The expiry (unix seconds) a signed attachment link names (its exp= parameter), 0 when none.
int64_t link_expiry(const std::string& url);
// The in-app link that opens a message: "app:message/<seq>/<messageId>/<conversationId>" (a
// mention's notification action); message_link_parse() reads one back (nullopt for any other).
struct MessageLink {
    std::string conversationId, messageId;
    uint64_t seq = 0;
};
std::string message_link(const std::string& conversationId, const std::string& messageId, uint64_t seq);
std::optional<MessageLink> message_link_parse(const std::string& link);

// Read receipts: "Seen by" goes under the newest loaded message another member has read up to,
// naming every other member who read at least that far (by id, sorted). Empty (seq 0) when no
// other member has read a loaded message.
struct SeenBy {
    uint64_t seq = 0;
    std::string messageId;
    std::vector<std::string> users;
    bool operator==(const SeenBy& o) const { return seq == o.seq && messageId == o.messageId && users == o.users; }
    bool operator!=(const SeenBy& o) const { return !(*this == o); }
};
SeenBy seen_by(const Conversation& c, const std::map<std::string, uint64_t>& reads, const std::string& me);

// Presence, in words: "bob online", "bob, carol online", "bob, carol, dan and 2 more online"
// (three names at most); "" for nobody.
std::string online_label(const std::vector<std::string>& users);

} // namespace chat
