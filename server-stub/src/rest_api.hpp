// rest_api.hpp - the emulator's REST data plane (/api/...), as the official server SDKs call it.
#pragma once

#include "http_types.hpp"

#include <functional>
#include <optional>
#include <string>

namespace stub {

class Hub;

class RestApi {
public:
    // `public_endpoint(request)` gives the http(s) base URL clients should use (for generateToken).
    RestApi(Hub& hub, std::string access_key, std::function<std::string(const Request&)> public_endpoint)
        : hub_(hub), key_(std::move(access_key)), endpoint_(std::move(public_endpoint)) {}
    // Handles /api/... requests; nullopt for any other path.
    std::optional<Response> handle(const Request& r);

private:
    std::optional<std::string> authenticate(const Request& r);  // error text, or nullopt when allowed
    Hub& hub_;
    std::string key_;
    std::function<std::string(const Request&)> endpoint_;
};

// Signs a client access token as the service would (aud = {http endpoint}/client/hubs/{hub}).
std::string make_client_token(const std::string& access_key, const std::string& http_endpoint, const std::string& hub,
                              const std::string& user_id, const std::vector<std::string>& roles,
                              const std::vector<std::string>& groups, int64_t ttl_s);

} // namespace stub
