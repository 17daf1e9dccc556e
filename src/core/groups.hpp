// groups.hpp - the Web PubSub group names of this product, shared by the client and the backend.
//
// A conversation has two groups: conversation:{id} carries stored messages and only the backend
// publishes there (through its outbox); conversation:{id}:typing carries typing signals, which
// members may send. Keeping both names in one place keeps the grant (backend) and the filter
// (client) in step.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chat {

inline constexpr std::string_view kConversationPrefix = "conversation:";
inline constexpr std::string_view kTypingSuffix = ":typing";

inline std::string conversation_group(const std::string& id) { return std::string(kConversationPrefix) + id; }
inline std::string typing_group(const std::string& id) { return conversation_group(id) + std::string(kTypingSuffix); }

// The conversation a group name belongs to, and whether it is its typing group; nullopt for any
// other group.
struct ConversationGroup {
    std::string conversationId;
    bool typing = false;
};
inline std::optional<ConversationGroup> parse_conversation_group(std::string_view group) {
    if (group.substr(0, kConversationPrefix.size()) != kConversationPrefix) return std::nullopt;
    std::string_view id = group.substr(kConversationPrefix.size());
    const bool typing = id.size() > kTypingSuffix.size() && id.substr(id.size() - kTypingSuffix.size()) == kTypingSuffix;
    if (typing) id.remove_suffix(kTypingSuffix.size());
    return ConversationGroup{std::string(id), typing};
}

} // namespace chat
