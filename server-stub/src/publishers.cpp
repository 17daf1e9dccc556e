// publishers.cpp - see publishers.hpp.
#include "publishers.hpp"

#include "hub.hpp"
#include "io_poster.hpp"
#include "odata_filter.hpp"

#include "core/json_limits.hpp"

#include <algorithm>
#include <chrono>
#include <future>

namespace stub {

using nlohmann::json;

std::string activity_filter(const std::vector<std::string>& users, std::size_t begin, std::size_t end,
                            const std::string& except_group) {
    std::string filter = "userId in (";
    for (std::size_t k = begin; k < end; ++k) filter += (k > begin ? "," : "") + odata_quote(users[k]);
    filter += ")";
    if (!except_group.empty()) filter += " and not(" + odata_quote(except_group) + " in groups)";
    return filter;
}

std::string owned_connection_filter(const GroupChange& c) {
    return "connectionId eq " + odata_quote(c.connectionId) + " and userId eq " + odata_quote(c.owner);
}

// ============================================================================================
// [SECTION] HubPublisher: the embedded emulator, in process
// ============================================================================================

HubPublisher::HubPublisher(Hub& hub, std::string hub_name, std::shared_ptr<IoPoster> poster)
    : hub_(hub), name_(std::move(hub_name)), poster_(std::move(poster)) {}

std::string HubPublisher::publish_to_group(const std::string& group, const std::string& body) {
    return run(body, [this, group](const Payload& p) { hub_.send_to_group(name_, group, p, {}); });
}

// In process the users' own connections are looked up (Hub::send_to_users), rather than every
// connection of the hub tested against the filter the REST publisher sends (activity_filter):
// the cost follows the conversation's members, not the hub's connections.
std::string HubPublisher::publish_to_users(const std::vector<std::string>& users, const std::string& body,
                                           const std::string& except_group) {
    if (users.empty()) return {};  // nobody to tell (as the REST publisher: no request)
    return run(body, [this, users, except_group](const Payload& p) { hub_.send_to_users(name_, users, p, except_group); });
}

std::string HubPublisher::run(const std::string& body, std::function<void(const Payload&)> send) {
    json data = wps::parse_json_bounded(body);
    if (data.is_discarded()) return "publish failed: the outbox row is not JSON";
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    auto payload = std::make_shared<Payload>(Payload{wps::DataType::Json, std::move(data)});
    if (!poster_->post([send = std::move(send), payload, done] {
            send(*payload);
            done->set_value();
        }))
        return "publish failed: the server is stopping";
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return "publish failed: the io thread did not answer in 5 s";
    // Ready also when the work was destroyed unrun (the server stopped with it queued) or threw:
    // then the promise is broken, and the row is not published.
    try {
        future.get();
    } catch (const std::future_error&) {
        return "publish failed: the server stopped before it was sent";
    }
    return {};
}

int HubPublisher::change_groups(const GroupChange& c, std::string& error) {
    const auto owned = ODataFilter::parse(owned_connection_filter(c));
    if (!owned || hub_.remove_from_groups(name_, c.leave, *owned) == 0) {
        error = "Connection '" + c.connectionId + "' is not one of your connections.";
        return 404;
    }
    hub_.add_to_groups(name_, c.join, *owned);
    for (const auto& g : c.revoke_send) hub_.revoke(name_, c.connectionId, "sendToGroup", g);
    for (const auto& g : c.grant_send) hub_.grant(name_, c.connectionId, "sendToGroup", g);
    return 0;
}

int HubPublisher::close_connection(const std::string& owner, const std::string& connectionId, std::string& error) {
    if (!hub_.close_owned_connection(name_, connectionId, owner, "The page left.")) {
        error = "Connection '" + connectionId + "' is not one of your live connections.";
        return 404;
    }
    return 0;
}

} // namespace stub
