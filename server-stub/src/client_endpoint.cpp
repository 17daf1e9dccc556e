// client_endpoint.cpp - see client_endpoint.hpp.
#include "client_endpoint.hpp"

#include "jwt.hpp"

#include "core/json_limits.hpp"

#include <algorithm>
#include <sstream>

namespace stub {

std::optional<ClientUpgrade> client_upgrade(const Request& r, const std::string& access_key, const Hub& hub_state, int64_t now_s,
                                            Response& error) {
    auto refuse = [&](int status, const char* code, const std::string& message) -> std::optional<ClientUpgrade> {
        error = error_response(status, code, message);
        return std::nullopt;
    };
    std::string hub;
    if (r.segments.size() == 3 && r.segments[0] == "client" && r.segments[1] == "hubs") hub = r.segments[2];
    else if (r.segments.size() == 1 && r.segments[0] == "client") hub = r.param("hub").value_or("");
    if (hub.empty()) return refuse(404, "NotFound", "WebSocket endpoint is /client/hubs/{hub}.");

    // Subprotocol: the first one we speak; none (or unknown only) = simple client.
    std::string chosen;
    ClientProtocol proto = ClientProtocol::Simple;
    std::stringstream offered(r.header("sec-websocket-protocol"));
    for (std::string p; std::getline(offered, p, ',');) {
        p.erase(0, p.find_first_not_of(' '));
        p.erase(p.find_last_not_of(' ') + 1);
        bool known = false;
        ClientProtocol cp = protocol_from_name(p, known);
        if (known && !p.empty()) {
            chosen = p;
            proto = cp;
            break;
        }
    }

    Hub::Connect c;
    c.hub = hub;
    c.protocol = proto;
    // A recovery URL is always a recovery: it never falls back to the access-token path (the
    // official client keeps access_token in it). Without its token it fails like any failed
    // recovery, with close code 1008 after the upgrade (Hub::recover refuses an empty token),
    // which tells the client to stop recovering and connect anew (as Microsoft's emulator does).
    const std::string rid = r.param("awps_connection_id").value_or("");
    const std::string rtok = r.param("awps_reconnection_token").value_or("");
    if (rid.empty()) {
        std::string token = r.param("access_token").value_or("");
        const std::string auth = r.header("authorization");
        if (token.empty() && auth.rfind("Bearer ", 0) == 0) token = auth.substr(7);
        if (token.empty()) return refuse(401, "Unauthorized", "Missing access token.");
        auto check = jwt_verify(token, access_key, now_s);
        if (!check.ok) return refuse(401, "Unauthorized", "Invalid access token: " + check.error + ".");
        // The audience is {endpoint}/client/hubs/{hub}, nothing else: its path must be exactly
        // that, without a query (a token made for a REST path is not a client token).
        const std::string aud = wps::string_or(check.claims, "aud");
        bool aud_query = false;
        const auto aud_path = path_of_url(aud, &aud_query);
        if (!aud_path || aud_query || url_decode(*aud_path, false) != "/client/hubs/" + hub)
            return refuse(401, "Unauthorized", "Invalid access token: its audience is not this hub's client endpoint.");
        if (check.claims.contains("sub") && !check.claims["sub"].is_string())
            return refuse(401, "Unauthorized", "Invalid access token: 'sub' must be a string.");
        c.userId = wps::string_or(check.claims, "sub");
        // Clamped: a far-future exp (signed by the key holder) must not overflow the milliseconds.
        c.expires_at_ms = static_cast<int64_t>(std::min(check.claims["exp"].get<double>(), 1e12)) * 1000;
        auto list = [&](const char* key, std::vector<std::string>& out) {
            auto it = check.claims.find(key);
            if (it == check.claims.end()) return;
            if (it->is_string()) out.push_back(it->get<std::string>());
            if (it->is_array())
                for (auto& v : *it)
                    if (v.is_string()) out.push_back(v.get<std::string>());
        };
        list("role", c.roles);
        list("webpubsub.group", c.groups);
        list("group", c.groups);
    }
    if (std::string why; rid.empty() && !hub_state.admit(c.hub, c.userId, why)) return refuse(429, "TooManyRequests", why);
    return ClientUpgrade{std::move(c), chosen, rid, rtok};
}

} // namespace stub
