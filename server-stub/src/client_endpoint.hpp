// client_endpoint.hpp - the service's client endpoint, /client/hubs/{hub}: what a WebSocket
// upgrade asks for, decided without a socket, so that the Beast server (net.cpp) and the
// in-browser backend of the static demo admit clients by the same rules.
#pragma once

#include "http_types.hpp"
#include "hub.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace stub {

struct ClientUpgrade {
    Hub::Connect connect;          // hub, protocol, and (a new connection) the token's user, roles, groups
    std::string subprotocol;       // the one to answer with: the first offered that we speak ("" = simple client)
    std::string recover_id, recover_token;  // a recovery (awps_connection_id): never the access-token path
};

// The upgrade `r` (GET /client/hubs/{hub}, or /client?hub=) for the hub `hub`: its subprotocol,
// and either a recovery or a new connection whose access token (access_token=, or a Bearer
// header) is an HS256 token signed with `access_key`, unexpired at `now_s`, whose audience is
// exactly {endpoint}/client/hubs/{hub}. A refusal is nullopt with the HTTP answer in `error`: 404
// (not the client endpoint), 401 (no or a bad token), 429 (the user holds too many sessions).
std::optional<ClientUpgrade> client_upgrade(const Request& r, const std::string& access_key, const Hub& hub, int64_t now_s,
                                            Response& error);

} // namespace stub
