// rest_publisher.cpp - RestPublisher (publishers.hpp): an external Web PubSub service through its
// REST data plane, over net.hpp's HTTP client (Beast); the rest of publishers.hpp has no network.
#include "publishers.hpp"

#include "jwt.hpp"
#include "net.hpp"
#include "odata_filter.hpp"

#include <algorithm>
#include <map>

namespace stub {

using nlohmann::json;

// ============================================================================================
// [SECTION] RestPublisher: an external service's REST data plane
// ============================================================================================

RestPublisher::RestPublisher(std::string endpoint, std::string key, std::string hub, std::string ca_file)
    : endpoint_(std::move(endpoint)), key_(std::move(key)), hub_(std::move(hub)), ca_file_(std::move(ca_file)) {}

std::string RestPublisher::publish_to_group(const std::string& group, const std::string& body) {
    return call("POST", "/groups/" + url_encode(group) + "/:send", "", body, 202, "publish");
}

std::string RestPublisher::publish_to_users(const std::vector<std::string>& users, const std::string& body,
                                            const std::string& except_group) {
    constexpr std::size_t kPerRequest = 100;
    for (std::size_t i = 0; i < users.size(); i += kPerRequest) {
        const std::string filter = activity_filter(users, i, std::min(users.size(), i + kPerRequest), except_group);
        if (auto err = call("POST", "/:send", "&filter=" + url_encode(filter), body, 202, "publish"); !err.empty()) return err;
    }
    return {};
}

int RestPublisher::change_groups(const GroupChange& c, std::string& error) {
    const std::string filter = owned_connection_filter(c);
    for (const auto& [op, groups] : {std::pair{":removeFromGroups", &c.leave}, std::pair{":addToGroups", &c.join}}) {
        if (groups->empty()) continue;
        error = call("POST", std::string("/") + op, "", json{{"groups", *groups}, {"filter", filter}}.dump(), 200, "group change");
        if (!error.empty()) return 502;
    }
    for (const auto& g : c.revoke_send)
        if (error = call("DELETE", "/permissions/sendToGroup/connections/" + url_encode(c.connectionId), "&targetName=" + url_encode(g), "", 204, "revoke"); !error.empty())
            return 502;
    for (const auto& g : c.grant_send)
        if (error = call("PUT", "/permissions/sendToGroup/connections/" + url_encode(c.connectionId), "&targetName=" + url_encode(g), "", 200, "grant"); !error.empty())
            return 502;
    return 0;
}

int RestPublisher::close_connection(const std::string&, const std::string& connectionId, std::string& error) {
    error = call("DELETE", "/connections/" + url_encode(connectionId), "&reason=" + url_encode("The page left."), "", 204, "close");
    return error.empty() ? 0 : 502;
}

std::string RestPublisher::call(const char* method, const std::string& path, const std::string& query, const std::string& body,
                                int expect, const char* what) {
    const std::string url = endpoint_ + "/api/hubs/" + url_encode(hub_) + path + "?api-version=2024-12-01" + query;
    const std::string token = jwt_sign(json{{"aud", url}, {"exp", unix_now_s() + 300}, {"iat", unix_now_s()}}, key_);
    std::string response, error;
    std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    const int status = http_request(method, url, headers, body, response, error, 5000, ca_file_);
    if (status == expect) return {};
    if (status == 0) return std::string(what) + " failed: " + error;
    return std::string(what) + " failed: HTTP " + std::to_string(status) + " " + response.substr(0, 200);
}

} // namespace stub
