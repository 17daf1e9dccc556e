// store.cpp - see store.hpp: what every engine's store shares.
#include "store.hpp"

#include "jwt.hpp"

#include <nlohmann/json.hpp>

namespace stub {

std::string new_id(const std::string& prefix) { return prefix + random_hex(10); }

std::string notification_event_json(const Notification& n) {
    using nlohmann::json;
    json payload{{"type", "notification"}, {"eventId", n.id},
                 {"notification", {{"id", n.id}, {"seq", n.seq}, {"title", n.title}, {"body", n.body},
                                   {"target", {{"kind", n.targetKind}, {"id", n.targetId}}}, {"createdAt", n.createdAt}}}};
    if (!n.actionLabel.empty()) payload["notification"]["action"] = json{{"label", n.actionLabel}, {"link", n.actionUrl}};
    return payload.dump();
}

} // namespace stub
