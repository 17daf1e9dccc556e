// rest_api.cpp - see rest_api.hpp. Paths and status codes: shared/docs/webpubsub-protocol.md §3.
#include "rest_api.hpp"

#include "core/base64.hpp"
#include "core/json_limits.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "odata_filter.hpp"

#include <regex>
#include <set>

namespace stub {

using nlohmann::json;

std::string make_client_token(const std::string& access_key, const std::string& http_endpoint, const std::string& hub,
                              const std::string& user_id, const std::vector<std::string>& roles,
                              const std::vector<std::string>& groups, int64_t ttl_s) {
    const int64_t now = unix_now_s();
    json claims{{"aud", http_endpoint + "/client/hubs/" + hub}, {"iat", now}, {"exp", now + ttl_s}};
    if (!user_id.empty()) claims["sub"] = user_id;
    if (!roles.empty()) claims["role"] = roles;
    if (!groups.empty()) claims["webpubsub.group"] = groups;
    return jwt_sign(claims, access_key);
}

namespace {

bool valid_hub(const std::string& hub) {
    static const std::regex re("^[A-Za-z][A-Za-z0-9_`,.\\[\\]]{0,127}$");
    return std::regex_match(hub, re);
}

bool valid_group(const std::string& g) {
    return !g.empty() && g.size() <= 1024 && g.find_first_not_of(" \t\r\n") != std::string::npos;
}

std::set<std::string> excluded_of(const Request& r) {
    std::set<std::string> out;
    for (const auto& v : r.params("excluded")) {
        std::size_t start = 0;
        while (start <= v.size()) {
            auto comma = v.find(',', start);
            if (comma == std::string::npos) comma = v.size();
            if (comma > start) out.insert(v.substr(start, comma - start));
            start = comma + 1;
        }
    }
    return out;
}

// Body + Content-Type -> message payload; error text when the body does not fit its type.
std::optional<Payload> payload_of(const Request& r, std::string& error) {
    std::string ct = r.header("content-type");
    ct = ct.substr(0, ct.find(';'));
    for (auto& ch : ct) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ct == "text/plain") return Payload{wps::DataType::Text, r.body};
    if (ct == "application/octet-stream") return Payload{wps::DataType::Binary, wps::base64_encode(r.body)};
    if (ct == "application/json" || ct.empty()) {
        std::string why;
        json j = wps::parse_json_bounded(r.body, &why);
        if (j.is_discarded()) {
            error = "The request body is not valid JSON: " + why + ".";
            return std::nullopt;
        }
        return Payload{wps::DataType::Json, j};
    }
    error = "Unsupported Content-Type '" + ct + "': use application/json, text/plain or application/octet-stream.";
    return std::nullopt;
}

// What :addToGroups / :removeFromGroups take at most in one request (the stub's own bound).
constexpr std::size_t kMaxGroupsPerRequest = 100;

// The OData `filter` query parameter of a send: none when absent or empty; an error answer (400)
// when it is given twice or does not parse.
std::optional<Response> filter_param(const Request& r, std::optional<ODataFilter>& out) {
    const auto values = r.params("filter");
    if (values.size() > 1) return error_response(400, "BadRequest", "The 'filter' parameter is given more than once.");
    if (values.empty() || values[0].empty()) return std::nullopt;
    std::string why;
    out = ODataFilter::parse(values[0], &why);
    if (!out) return error_response(400, "BadRequest", why);
    return std::nullopt;
}

Response empty(int status) {
    Response r;
    r.status = status;
    r.content_type.clear();
    return r;
}

} // namespace

std::optional<std::string> authenticate_service_request(const Request& r, const std::string& access_key) {
    const std::string auth = r.header("authorization");
    if (auth.rfind("Bearer ", 0) != 0) return "Missing 'Authorization: Bearer <token>' header.";
    auto check = jwt_verify(auth.substr(7), access_key, unix_now_s());
    if (!check.ok) return "Invalid token: " + check.error + ".";
    auto aud = check.claims.find("aud");
    if (aud == check.claims.end() || !aud->is_string()) return "Invalid token: 'aud' is required.";
    // aud is the request URL; SDKs send it with the query (JS request.url), the docs without.
    const auto aud_path = path_of_url(aud->get<std::string>());
    auto canonical = [](std::string s) {
        s = url_decode(s, false);
        while (s.size() > 1 && s.back() == '/') s.pop_back();
        return s;
    };
    const std::string target_path = r.target.substr(0, r.target.find('?'));
    if (aud_path && canonical(*aud_path) == canonical(target_path)) return std::nullopt;
    return std::string("Invalid token: its audience does not match the request URL.");
}

std::optional<Response> RestApi::handle(const Request& r) {
    const auto& s = r.segments;
    if (s.empty() || s[0] != "api") return std::nullopt;
    if (s.size() == 2 && s[1] == "health") return empty(200);
    if (s.size() < 3 || s[1] != "hubs") return error_response(404, "NotFound", "Unknown REST path " + r.path + ".");
    if (auto err = authenticate_service_request(r, key_)) return error_response(401, "Unauthorized", *err);
    const std::string& hub = s[2];
    if (!valid_hub(hub)) return error_response(400, "BadRequest", "Invalid hub name '" + hub + "'.");
    const std::vector<std::string> rest(s.begin() + 3, s.end());
    const std::string& m = r.method;
    // `filter` belongs to the sends to all, a group and a user; anywhere else it is refused rather
    // than ignored (a close or a removal that ignored its filter would reach every connection).
    std::optional<ODataFilter> filter;
    if (r.param("filter")) {
        const bool filtered_send = m == "POST" && ((rest.size() == 1 && rest[0] == ":send") ||
                                                   (rest.size() == 3 && (rest[0] == "groups" || rest[0] == "users") && rest[2] == ":send"));
        if (!filtered_send)
            return error_response(400, "BadRequest", "The 'filter' parameter applies only to sends to all, to a group and to a user "
                                                     "(:addToGroups and :removeFromGroups take it in the body).");
        if (auto bad = filter_param(r, filter)) return *bad;
    }
    const ODataFilter* const f = filter ? &*filter : nullptr;
    const std::string reason = r.param("reason").value_or("");
    std::string perr;

    auto send = [&](auto&& fn) -> Response {
        auto p = payload_of(r, perr);
        if (!p) return error_response(400, "BadRequest", perr);
        fn(*p);
        return empty(202);
    };

    if (rest.size() == 1 && m == "POST") {
        if (rest[0] == ":send") return send([&](const Payload& p) { hub_.send_to_all(hub, p, excluded_of(r), f); });
        if (rest[0] == ":closeConnections") {
            hub_.close_all(hub, excluded_of(r), reason);
            return empty(204);
        }
        if (rest[0] == ":generateToken") {
            const int64_t minutes = static_cast<int64_t>(parse_uint(r.param("minutesToExpire").value_or("60"), 999999999).value_or(0));
            if (minutes < 1) return error_response(400, "BadRequest", "minutesToExpire must be an integer of at least 1.");
            std::vector<std::string> claims_text = r.params("role");
            for (const auto& g : r.params("group")) claims_text.push_back(g);
            claims_text.push_back(r.param("userId").value_or(""));
            for (const auto& v : claims_text)
                if (v.size() > 1024 || v.find('\0') != std::string::npos)
                    return error_response(400, "BadRequest", "userId, role and group must be at most 1024 bytes without NUL.");
            return json_response(200, json{{"token", make_client_token(key_, endpoint_, hub, r.param("userId").value_or(""),
                                                                       r.params("role"), r.params("group"), minutes * 60)}});
        }
        if (rest[0] == ":addToGroups" || rest[0] == ":removeFromGroups") return groups_by_filter(hub, r, rest[0] == ":addToGroups");
    }
    if (rest.size() >= 2 && rest[0] == "groups") {
        const std::string& g = rest[1];
        if (!valid_group(g)) return error_response(400, "BadRequest", "Invalid group name.");
        if (rest.size() == 2 && m == "HEAD") return empty(hub_.group_exists(hub, g) ? 200 : 404);
        if (rest.size() == 3 && m == "POST" && rest[2] == ":send")
            return send([&](const Payload& p) { hub_.send_to_group(hub, g, p, excluded_of(r), f); });
        if (rest.size() == 3 && m == "POST" && rest[2] == ":closeConnections") {
            hub_.close_group(hub, g, excluded_of(r), reason);
            return empty(204);
        }
        if (rest.size() == 3 && m == "GET" && rest[2] == "connections") {
            json value = json::array();
            for (auto& c : hub_.group_connections(hub, g)) value.push_back(json{{"connectionId", c.id}, {"userId", c.userId}});
            return json_response(200, json{{"value", value}});
        }
        if (rest.size() == 4 && rest[2] == "connections") {
            if (m == "PUT")
                return hub_.add_connection_to_group(hub, g, rest[3])
                           ? empty(200)
                           : error_response(404, "NotFound", "Connection '" + rest[3] + "' does not exist.");
            if (m == "DELETE") {
                hub_.remove_connection_from_group(hub, g, rest[3]);
                return empty(204);
            }
        }
    }
    if (rest.size() >= 2 && rest[0] == "users") {
        const std::string& u = rest[1];
        if (rest.size() == 2 && m == "HEAD") return empty(hub_.user_exists(hub, u) ? 200 : 404);
        if (rest.size() == 3 && m == "POST" && rest[2] == ":send")
            return send([&](const Payload& p) { hub_.send_to_user(hub, u, p, f); });
        if (rest.size() == 3 && m == "POST" && rest[2] == ":closeConnections") {
            hub_.close_user(hub, u, excluded_of(r), reason);
            return empty(204);
        }
        if (rest.size() == 3 && m == "DELETE" && rest[2] == "groups") {
            hub_.remove_user_from_all_groups(hub, u);
            return empty(204);
        }
        if (rest.size() == 4 && rest[2] == "groups") {
            if (m == "PUT")
                return hub_.add_user_to_group(hub, rest[3], u)
                           ? empty(200)
                           : error_response(404, "NotFound", "User '" + u + "' has no connection.");
            if (m == "DELETE") {
                hub_.remove_user_from_group(hub, rest[3], u);
                return empty(204);
            }
        }
    }
    if (rest.size() >= 2 && rest[0] == "connections") {
        const std::string& id = rest[1];
        if (rest.size() == 2 && m == "HEAD") return empty(hub_.connection_exists(hub, id) ? 200 : 404);
        if (rest.size() == 2 && m == "DELETE") {
            hub_.close_connection(hub, id, reason);
            return empty(204);
        }
        if (rest.size() == 3 && m == "POST" && rest[2] == ":send")
            return send([&](const Payload& p) { hub_.send_to_connection(hub, id, p); });
        if (rest.size() == 3 && m == "DELETE" && rest[2] == "groups") {
            hub_.remove_connection_from_all_groups(hub, id);
            return empty(204);
        }
    }
    if (rest.size() == 4 && rest[0] == "permissions" && rest[2] == "connections") {
        const std::string& perm = rest[1];
        if (perm != "joinLeaveGroup" && perm != "sendToGroup")
            return error_response(400, "BadRequest", "Unknown permission '" + perm + "'.");
        const std::string target = r.param("targetName").value_or("");
        const std::string& id = rest[3];
        if (m == "PUT") {
            if (!hub_.connection_exists(hub, id)) return error_response(404, "NotFound", "Connection does not exist.");
            hub_.grant(hub, id, perm, target);
            return empty(200);
        }
        if (m == "DELETE") {
            hub_.revoke(hub, id, perm, target);
            return empty(204);
        }
        if (m == "HEAD") return empty(hub_.has_permission(hub, id, perm, target) ? 200 : 404);
    }
    return error_response(404, "NotFound", "No REST operation " + m + " " + r.path + ".");
}

// POST :addToGroups / :removeFromGroups, body {"groups":[...],"filter":"..."} as the JS SDK sends it
// (addConnectionsToGroups / removeConnectionsFromGroups): 200 on success. As Microsoft's emulator:
// a non-empty list of valid group names is required, and an absent or empty filter matches every
// connection of the hub.
Response RestApi::groups_by_filter(const std::string& hub, const Request& r, bool add) {
    std::string ct = r.header("content-type");
    ct = ct.substr(0, ct.find(';'));
    for (auto& ch : ct) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!ct.empty() && ct != "application/json")
        return error_response(415, "UnsupportedMediaType", "The body of this request is JSON (Content-Type: application/json).");
    std::string why;
    const json body = wps::parse_json_bounded(r.body, &why);
    if (body.is_discarded()) return error_response(400, "BadRequest", "The request body is not valid JSON: " + why + ".");
    if (!body.is_object()) return error_response(400, "BadRequest", "The request body must be an object {\"groups\":[...],\"filter\":\"...\"}.");
    const auto g = body.find("groups");
    if (g == body.end() || !g->is_array() || g->empty() || g->size() > kMaxGroupsPerRequest)
        return error_response(400, "BadRequest", "'groups' must be a list of 1 to " + std::to_string(kMaxGroupsPerRequest) + " group names.");
    std::vector<std::string> groups;
    for (const auto& v : *g) {
        if (!v.is_string() || !valid_group(v.get_ref<const std::string&>()))
            return error_response(400, "BadRequest", "Invalid group name in 'groups': each is 1 to 1024 characters, not all whitespace.");
        groups.push_back(v.get<std::string>());
    }
    std::string text;
    if (const auto fv = body.find("filter"); fv != body.end() && !fv->is_null()) {
        if (!fv->is_string()) return error_response(400, "BadRequest", "'filter' must be a string (an OData filter).");
        text = fv->get<std::string>();
    }
    std::optional<ODataFilter> filter = text.empty() ? ODataFilter::parse("true") : ODataFilter::parse(text, &why);
    if (!filter) return error_response(400, "BadRequest", why);
    if (add) hub_.add_to_groups(hub, groups, *filter);
    else hub_.remove_from_groups(hub, groups, *filter);
    return empty(200);
}

} // namespace stub
