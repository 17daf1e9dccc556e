// chat_wire.cpp - see chat_wire.hpp.
#include "chat_wire.hpp"

namespace chat {

using nlohmann::json;

// ============================================================================================
// [SECTION] group names
// ============================================================================================

std::string conversation_group(const std::string& conversationId) { return std::string(kConversationPrefix) + conversationId; }
std::string typing_group(const std::string& conversationId) { return conversation_group(conversationId) + std::string(kTypingSuffix); }
std::string user_notifications_group(const std::string& userId) { return std::string(kUserNotificationsPrefix) + userId; }
std::string team_notifications_group(const std::string& teamId) { return std::string(kTeamNotificationsPrefix) + teamId; }
std::string global_notifications_group() { return std::string(kGlobalNotificationsGroup); }

namespace {
bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
} // namespace

std::optional<ConversationGroup> parse_conversation_group(std::string_view group) {
    if (!starts_with(group, kConversationPrefix)) return std::nullopt;
    std::string_view id = group.substr(kConversationPrefix.size());
    // "conversation::typing" is the messages group of the conversation ":typing", not a typing group.
    const bool typing = id.size() > kTypingSuffix.size() && id.substr(id.size() - kTypingSuffix.size()) == kTypingSuffix;
    if (typing) id.remove_suffix(kTypingSuffix.size());
    return ConversationGroup{std::string(id), typing};
}

std::optional<NotificationGroup> parse_notification_group(std::string_view group) {
    if (starts_with(group, kUserNotificationsPrefix))
        return NotificationGroup{NotificationAudience::User, std::string(group.substr(kUserNotificationsPrefix.size()))};
    if (starts_with(group, kTeamNotificationsPrefix))
        return NotificationGroup{NotificationAudience::Team, std::string(group.substr(kTeamNotificationsPrefix.size()))};
    if (group == kGlobalNotificationsGroup) return NotificationGroup{NotificationAudience::Global, {}};
    return std::nullopt;
}

// ============================================================================================
// [SECTION] attachment
// ============================================================================================

json attachment_json(const Attachment& a) {
    return json{{"url", a.url}, {"name", a.name}, {"contentType", a.contentType}, {"size", a.size}};
}

std::optional<Attachment> attachment_from_json(const json& j, std::string* why, AttachmentUrlRule url_ok) {
    auto refuse = [&](std::string reason) -> std::optional<Attachment> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    if (!j.is_object()) return refuse("'attachment' must be an object with a 'url'.");
    auto url = j.find("url");
    if (url == j.end() || !url->is_string()) return refuse("'attachment' must be an object with a 'url'.");
    Attachment a;
    a.url = url->get<std::string>();
    const bool url_accepted = url_ok ? url_ok(a.url) : !a.url.empty() && a.url.size() <= kMaxAttachmentUrlBytes;
    if (!url_accepted) return refuse("'attachment.url' must be an uploaded file's link (/blobs/...) or an https URL.");
    for (auto [key, out] : {std::pair{"name", &a.name}, std::pair{"contentType", &a.contentType}}) {
        auto it = j.find(key);
        if (it == j.end()) continue;
        if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxAttachmentTextBytes ||
            !valid_utf8(it->get_ref<const std::string&>()))
            return refuse(std::string("'attachment.") + key + "' must be a string of at most " +
                          std::to_string(kMaxAttachmentTextBytes) + " bytes.");
        *out = it->get<std::string>();
    }
    if (auto size = j.find("size"); size != j.end()) {
        // Parsed text holds a non-negative integer as unsigned; json built in code may hold it signed.
        const bool non_negative = size->is_number_unsigned() || (size->is_number_integer() && size->get<int64_t>() >= 0);
        if (!non_negative) return refuse("'attachment.size' must be a non-negative integer.");
        a.size = size->get<uint64_t>();
    }
    return a;
}

bool valid_utf8(std::string_view s) {
    // Well-formed UTF-8 as Unicode 15 table 3-7 defines it: no overlong forms (C0, C1, E0 80-9F,
    // F0 80-8F), no surrogates (ED A0-BF), nothing past U+10FFFF (F4 90-BF, F5-FF).
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < n) {
        const unsigned char c = at(i);
        if (c < 0x80) { ++i; continue; }
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) len = 3, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) len = 3, hi = 0x9F;
        else if (c >= 0xEE && c <= 0xEF) len = 3;
        else if (c == 0xF0) len = 4, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) len = 4, hi = 0x8F;
        else return false;
        if (i + len > n || at(i + 1) < lo || at(i + 1) > hi) return false;
        for (std::size_t k = 2; k < len; ++k)
            if ((at(i + k) >> 6) != 2) return false;
        i += len;
    }
    return true;
}

bool valid_reaction_emoji(std::string_view s) {
    if (s.empty() || s.size() > kMaxReactionEmojiBytes || !valid_utf8(s)) return false;
    for (unsigned char c : s)
        if (c <= 0x20 || c == 0x7f) return false;
    // No C1 controls (U+0080..U+009F: C2 80..C2 9F) nor the no-break and line separators.
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const auto a = static_cast<unsigned char>(s[i]), b = static_cast<unsigned char>(s[i + 1]);
        if (a == 0xC2 && (b <= 0x9F || b == 0xA0)) return false;
        if (a == 0xE2 && b == 0x80 && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
                                                            static_cast<unsigned char>(s[i + 2]) == 0xA9))
            return false;
    }
    return true;
}

// ============================================================================================
// [SECTION] chat.message
// ============================================================================================

json chat_message_event(const Message& stored) {
    return json{{"type", kChatMessageEvent}, {"eventId", stored.messageId}, {"message", to_json(stored)}};
}

std::optional<Message> chat_message_from_event(const json& event) {
    if (!event.is_object()) return std::nullopt;
    auto type = event.find("type");
    if (type == event.end() || !type->is_string() ||
        (type->get_ref<const std::string&>() != kChatMessageEvent && type->get_ref<const std::string&>() != kChatMessageUpdatedEvent))
        return std::nullopt;
    auto message = event.find("message");
    if (message == event.end()) return std::nullopt;
    return message_from_json(*message);
}

// ============================================================================================
// [SECTION] chat.message.updated
// ============================================================================================

json chat_message_updated_event(const Message& changed) {
    return json{{"type", kChatMessageUpdatedEvent},
                {"eventId", "upd:" + changed.messageId + ":" + std::to_string(changed.version)},
                {"message", to_json(changed)}};
}

// ============================================================================================
// [SECTION] conversation.created
// ============================================================================================

json conversation_created_event(const std::string& conversationId, const std::string& createdBy) {
    return json{{"type", kConversationCreatedEvent}, {"eventId", "new:" + conversationId}, {"conversationId", conversationId},
                {"createdBy", createdBy}};
}

std::optional<ConversationCreated> conversation_created_from_event(const json& event) {
    if (!event.is_object()) return std::nullopt;
    auto type = event.find("type");
    if (type == event.end() || !type->is_string() || type->get_ref<const std::string&>() != kConversationCreatedEvent) return std::nullopt;
    auto id = event.find("conversationId");
    if (id == event.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) return std::nullopt;
    ConversationCreated c{id->get<std::string>(), {}};
    if (auto by = event.find("createdBy"); by != event.end() && by->is_string()) c.createdBy = by->get<std::string>();
    return c;
}

// ============================================================================================
// [SECTION] chat.read
// ============================================================================================

json chat_read_event(const ReadPosition& r, const std::string& eventId) {
    return json{{"type", kChatReadEvent}, {"eventId", eventId}, {"conversationId", r.conversationId}, {"userId", r.userId},
                {"lastReadSeq", r.lastReadSeq}};
}

std::optional<ReadPosition> chat_read_from_event(const json& event) {
    if (!event.is_object()) return std::nullopt;
    auto type = event.find("type");
    if (type == event.end() || !type->is_string() || type->get_ref<const std::string&>() != kChatReadEvent) return std::nullopt;
    auto conv = event.find("conversationId");
    auto user = event.find("userId");
    auto seq = event.find("lastReadSeq");
    if (conv == event.end() || !conv->is_string() || conv->get_ref<const std::string&>().empty() || user == event.end() ||
        !user->is_string() || user->get_ref<const std::string&>().empty() || seq == event.end() || !seq->is_number_unsigned())
        return std::nullopt;
    return ReadPosition{conv->get<std::string>(), user->get<std::string>(), seq->get<uint64_t>()};
}

// ============================================================================================
// [SECTION] chat.presence
// ============================================================================================

json chat_presence_event(const PresenceState& p, const std::string& eventId) {
    return json{{"type", kChatPresenceEvent}, {"eventId", eventId}, {"conversationId", p.conversationId}, {"userId", p.userId},
                {"online", p.online}, {"version", p.version}};
}

std::optional<PresenceState> presence_from_json(const std::string& userId, const json& entry) {
    if (userId.empty() || !entry.is_object()) return std::nullopt;
    auto online = entry.find("online");
    auto version = entry.find("version");
    if (online == entry.end() || !online->is_boolean() || version == entry.end() || !version->is_number_integer() ||
        (!version->is_number_unsigned() && version->get<int64_t>() < 0))
        return std::nullopt;
    return PresenceState{{}, userId, online->get<bool>(), version->get<uint64_t>()};
}

std::optional<PresenceState> chat_presence_from_event(const json& event) {
    if (!event.is_object()) return std::nullopt;
    auto type = event.find("type");
    if (type == event.end() || !type->is_string() || type->get_ref<const std::string&>() != kChatPresenceEvent) return std::nullopt;
    auto conv = event.find("conversationId");
    auto user = event.find("userId");
    if (conv == event.end() || !conv->is_string() || conv->get_ref<const std::string&>().empty() || user == event.end() ||
        !user->is_string())
        return std::nullopt;
    auto p = presence_from_json(user->get<std::string>(), event);
    if (p) p->conversationId = conv->get<std::string>();
    return p;
}

} // namespace chat
