// store.cpp - see store.hpp: what every engine's store shares.
#include "store.hpp"

#include "jwt.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace stub {

std::string new_id(const std::string& prefix) { return prefix + random_hex(10); }

namespace {
std::string member_event_prefix(const char* kind, const std::string& conversationId, const std::string& userId) {
    return kind + std::to_string(conversationId.size()) + ":" + conversationId + ":" + std::to_string(userId.size()) + ":" +
           userId + ":";
}
} // namespace

std::string read_event_prefix(const std::string& conversationId, const std::string& userId) {
    return member_event_prefix("read:", conversationId, userId);
}

std::string presence_event_prefix(const std::string& conversationId, const std::string& userId) {
    return member_event_prefix("presence:", conversationId, userId);
}

std::string prefix_end(const std::string& prefix) {
    std::string end = prefix;  // ends with ':' (0x3A): the next byte bounds every longer id
    end.back() = static_cast<char>(end.back() + 1);
    return end;
}

ReactionRows::ReactionRows(std::vector<chat::Message>& ms) {
    lo = ms.empty() ? 0 : UINT64_MAX;
    for (auto& m : ms) {
        m.reactions.clear();
        by_id_[m.messageId] = &m;
        lo = std::min(lo, m.seq);
        hi = std::max(hi, m.seq);
    }
}

void ReactionRows::add(const std::string& messageId, const std::string& emoji, const std::string& userId) {
    auto it = by_id_.find(messageId);
    if (it == by_id_.end()) return;
    auto& list = it->second->reactions;
    auto e = std::find_if(list.begin(), list.end(), [&](const chat::Reaction& x) { return x.emoji == emoji; });
    if (e == list.end()) e = list.insert(list.end(), chat::Reaction{emoji, {}});
    e->users.push_back(userId);
}

std::string blob_id_of(const std::optional<chat::Attachment>& a) {
    // Our links: /blobs/blob_<20 hex>?exp=...&sig=... (app_api.cpp checks the whole shape).
    constexpr std::string_view kPrefix = "/blobs/";
    constexpr std::size_t kIdLength = 25;  // "blob_" + 20 hex digits (new_id)
    if (!a || a->url.compare(0, kPrefix.size(), kPrefix) != 0 || a->url.size() < kPrefix.size() + kIdLength) return {};
    std::string id = a->url.substr(kPrefix.size(), kIdLength);
    if (id.compare(0, 5, "blob_") != 0) return {};
    for (std::size_t i = 5; i < id.size(); ++i)
        if (!std::isxdigit(static_cast<unsigned char>(id[i]))) return {};
    return id;
}

int64_t token_wait_seconds(double tokens_after_refill, int per_min) {
    const double need = std::max(1.0 - tokens_after_refill, 0.0);
    // need * 60 / per_min seconds, rounded up; the 1e-9 keeps float noise (0.1 tokens stored as
    // 0.10000000000000001) from adding a second.
    const double seconds = need * 60.0 / std::max(per_min, 1);
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds - 1e-9)));
}

std::string notification_event_json(const Notification& n) {
    using nlohmann::json;
    json payload{{"type", "notification"}, {"eventId", n.id},
                 {"notification", {{"id", n.id}, {"seq", n.seq}, {"title", n.title}, {"body", n.body},
                                   {"target", {{"kind", n.targetKind}, {"id", n.targetId}}}, {"createdAt", n.createdAt}}}};
    if (!n.actionLabel.empty()) payload["notification"]["action"] = json{{"label", n.actionLabel}, {"link", n.actionUrl}};
    return payload.dump();
}

} // namespace stub
