// chat_wire.hpp - what the web client and the backend (the stub) must agree on, in one place:
//
//   [SECTION] group names      conversation:{id}, conversation:{id}:typing,
//                              notifications:user:{id}, notifications:team:{id}, notifications:global
//   [SECTION] attachment       the {url, name, contentType, size} object of a message, checked
//   [SECTION] chat.message     the event the backend's outbox publishes to conversation:{id}
//   [SECTION] chat.message.updated   an edit or delete of a stored message, to the same group
//   [SECTION] conversation.created   the event each member's user channel gets for a new
//                              conversation (their lists show it before its first message)
//   [SECTION] chat.read        a member's read position moved (read receipts)
//
// Platform-free (std + nlohmann/json), in chat_core: the wasm client and the stub link the same
// code, so a grant (backend) and a filter (client), or a writer and its reader, cannot drift.
//
// 2026-11-29: first version (issue 13, "Structure"), from groups.hpp (group names) and the four
//             copies of the attachment JSON (chat_model.cpp, chat_session.cpp, the stub's
//             app_api.cpp and sqlite_store.cpp) and the event the stub's store built itself.
//             The client now drops an attachment whose fields have the wrong type or size
//             instead of reading what it can (the stub never stored one).
#pragma once

#include "chat_model.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

// ============================================================================================
// [SECTION] group names
// ============================================================================================
//
// A conversation has two groups: conversation:{id} carries stored messages and only the backend
// publishes there (through its outbox); conversation:{id}:typing carries typing signals, which
// members may send. Notifications go to one group per audience; the backend grants each user
// their own, their teams' and the global one, read-only.

inline constexpr std::string_view kConversationPrefix = "conversation:";
inline constexpr std::string_view kTypingSuffix = ":typing";
inline constexpr std::string_view kUserNotificationsPrefix = "notifications:user:";
inline constexpr std::string_view kTeamNotificationsPrefix = "notifications:team:";
inline constexpr std::string_view kGlobalNotificationsGroup = "notifications:global";

std::string conversation_group(const std::string& conversationId);
std::string typing_group(const std::string& conversationId);
std::string user_notifications_group(const std::string& userId);
std::string team_notifications_group(const std::string& teamId);
std::string global_notifications_group();

// The conversation a group name belongs to, and whether it is its typing group; nullopt for any
// other group. The id is whatever follows the prefix (possibly empty: the caller decides).
struct ConversationGroup {
    std::string conversationId;
    bool typing = false;
};
std::optional<ConversationGroup> parse_conversation_group(std::string_view group);

// Whose notification group a name is; nullopt for any other group. `id` is the user or team id
// after the prefix (possibly empty), empty for the global group.
enum class NotificationAudience { User, Team, Global };
struct NotificationGroup {
    NotificationAudience audience = NotificationAudience::Global;
    std::string id;
};
std::optional<NotificationGroup> parse_notification_group(std::string_view group);

// ============================================================================================
// [SECTION] attachment
// ============================================================================================
//
// {"url": string, "name": string, "contentType": string, "size": non-negative integer}: what
// POST /blobs answers, what a client sends with POST /chat/reply and what every stored message
// carries. `url` is required; the others may be missing (empty / 0), but never of another type.

inline constexpr std::size_t kMaxAttachmentTextBytes = 255;   // name, contentType (UTF-8 bytes)
inline constexpr std::size_t kMaxAttachmentUrlBytes = 2048;   // when no stricter rule is given

nlohmann::json attachment_json(const Attachment& a);

// Which links a reader accepts. The backend passes its own rule (its upload links and https
// URLs); without one, any non-empty string of at most kMaxAttachmentUrlBytes (the client reads
// what its backend stored).
using AttachmentUrlRule = bool (*)(const std::string& url);

// The attachment, or nullopt with `why` set to the reason, worded as the backend's 400 answer:
//   "'attachment' must be an object with a 'url'."
//   "'attachment.url' must be an uploaded file's link (/blobs/...) or an https URL."
//   "'attachment.name' must be a string of at most 255 bytes."   (also contentType; valid UTF-8)
//   "'attachment.size' must be a non-negative integer."
// Fields are checked in that order. Unknown fields are ignored.
std::optional<Attachment> attachment_from_json(const nlohmann::json& j, std::string* why = nullptr,
                                               AttachmentUrlRule url_ok = nullptr);

// Whether `s` is well-formed UTF-8 by byte patterns (lead byte, then the right number of
// continuation bytes); the backend refuses message texts and names that are not.
bool valid_utf8(std::string_view s);

// A reaction's emoji as the backend accepts it: 1 to kMaxReactionEmojiBytes bytes of UTF-8
// without whitespace or control characters (any emoji sequence, skin tones and ZWJ included).
bool valid_reaction_emoji(std::string_view s);

// ============================================================================================
// [SECTION] chat.message
// ============================================================================================
//
// {"type": "chat.message", "eventId": messageId, "message": <to_json(Message)>}: one per stored
// message, published by the backend's outbox to conversation:{id}. The eventId is the message id,
// so a retried publish is a duplicate the client drops.

inline constexpr char kChatMessageEvent[] = "chat.message";

nlohmann::json chat_message_event(const Message& stored);
// The stored message a chat.message or chat.message.updated event carries; nullopt for any other
// event or a malformed message.
std::optional<Message> chat_message_from_event(const nlohmann::json& event);

// ============================================================================================
// [SECTION] chat.message.updated
// ============================================================================================
//
// {"type": "chat.message.updated", "eventId": "upd:" + messageId + ":" + version, "message":
// <to_json(Message)>}: the message as it is after an edit (editedAt set) or a delete (deleted:
// true, no text or attachment), with the conversation's change counter as its version. Stored
// in the outbox with the change (one transaction) and published to conversation:{id} after the
// message's own event. A client keeps the copy with the larger version, so applying events
// twice, out of order or after a catch-up ends in the same state. chat_message_from_event reads
// both events (the message is the full current state either way).

inline constexpr char kChatMessageUpdatedEvent[] = "chat.message.updated";

nlohmann::json chat_message_updated_event(const Message& changed);

// ============================================================================================
// [SECTION] conversation.created
// ============================================================================================
//
// {"type": "conversation.created", "eventId": "new:" + id, "conversationId": id, "createdBy":
// userId}: stored in the outbox with the conversation (one transaction), published to every
// member's user channel (members as of publishing). A client that does not list the
// conversation yet loads its list again; one that does ignores it.

inline constexpr char kConversationCreatedEvent[] = "conversation.created";

struct ConversationCreated {
    std::string conversationId, createdBy;
};
nlohmann::json conversation_created_event(const std::string& conversationId, const std::string& createdBy);
// The event's fields; nullopt for any other event, or an empty or non-string conversationId.
std::optional<ConversationCreated> conversation_created_from_event(const nlohmann::json& event);

// ============================================================================================
// [SECTION] chat.read
// ============================================================================================
//
// {"type": "chat.read", "eventId": "read:" + random, "conversationId", "userId", "lastReadSeq"}:
// a member's read position moved forward (POST /chat/read). Stored in the outbox with the new
// position (one transaction), published to conversation:{id}, so the other members' "Seen by"
// follows live; GET /conversation/detail answers every member's position ("reads") for a
// client that was away. A position only grows, so applying these in any order, twice, or
// after a catch-up ends in the same state (the largest wins).

inline constexpr char kChatReadEvent[] = "chat.read";

struct ReadPosition {
    std::string conversationId, userId;
    uint64_t lastReadSeq = 0;
};
nlohmann::json chat_read_event(const ReadPosition& r, const std::string& eventId);
// The event's fields; nullopt for any other event, or one with empty ids or a wrong type.
std::optional<ReadPosition> chat_read_from_event(const nlohmann::json& event);

// ============================================================================================
// [SECTION] chat.presence
// ============================================================================================
//
// {"type": "chat.presence", "eventId": "presence:" + ..., "conversationId", "userId", "online",
// "version"}: a member came online (their first connection) or went offline (their last one
// ended). The backend learns it from the service's connected/disconnected events (CloudEvents,
// POST /eventhandler), stores it with a per-user version, and publishes one event to each of the
// user's conversations. GET /conversation/detail answers every member's state ("presence":
// {userId: {"online", "version"}}). The larger version wins, so these apply in any order, twice,
// or after a catch-up to the same state.

inline constexpr char kChatPresenceEvent[] = "chat.presence";

struct PresenceState {
    std::string conversationId, userId;
    bool online = false;
    uint64_t version = 0;
};
nlohmann::json chat_presence_event(const PresenceState& p, const std::string& eventId);
// The event's fields; nullopt for any other event, or one with empty ids or a wrong type.
std::optional<PresenceState> chat_presence_from_event(const nlohmann::json& event);
// One answer entry ({"online": bool, "version": n}) as a state of `userId`; nullopt when malformed.
std::optional<PresenceState> presence_from_json(const std::string& userId, const nlohmann::json& entry);

} // namespace chat
