// rest_api.hpp - the emulator's REST data plane (/api/...), as the official server SDKs call it.
#pragma once

#include "http_types.hpp"

#include <functional>
#include <optional>
#include <string>

namespace stub {

class Hub;

// The REST data plane's authentication: `Authorization: Bearer <JWT>` signed with the access key
// (jwt_verify: HS256, exp required), whose `aud` is a URL whose path is the request's path (the
// SDKs sign the full request URL, query included; only the path is compared, and never against
// anything a request header says). Returns the reason for a 401, or nullopt when allowed.
std::optional<std::string> authenticate_service_request(const Request& r, const std::string& access_key);

class RestApi {
public:
    RestApi(Hub& hub, std::string access_key) : hub_(hub), key_(std::move(access_key)) {}
    // The http(s) base URL clients use (the audience of tokens from :generateToken); from
    // configuration, set once the port is known.
    void set_public_endpoint(std::string endpoint) { endpoint_ = std::move(endpoint); }
    // Handles /api/... requests; nullopt for any other path.
    std::optional<Response> handle(const Request& r);

private:
    Response groups_by_filter(const std::string& hub, const Request& r, bool add);

    Hub& hub_;
    std::string key_;
    std::string endpoint_;
};

// Signs a client access token as the service would (aud = {http endpoint}/client/hubs/{hub}).
std::string make_client_token(const std::string& access_key, const std::string& http_endpoint, const std::string& hub,
                              const std::string& user_id, const std::vector<std::string>& roles,
                              const std::vector<std::string>& groups, int64_t ttl_s);

} // namespace stub
