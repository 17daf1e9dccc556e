// api_client.cpp - see api_client.hpp.
#include "api_client.hpp"

#include "json_limits.hpp"

namespace wps {

using nlohmann::json;

void ApiClient::call(const std::string& method, const std::string& path, const json* body, Done done) {
    HttpRequest req;
    req.method = method;
    req.url = base_ + path;
    if (!token_.empty()) req.headers["Authorization"] = "Bearer " + token_;
    if (body) {
        req.headers["Content-Type"] = "application/json";
        req.body = body->dump();
    }
    std::weak_ptr<bool> alive = alive_;
    http_.send(std::move(req), [alive, done = std::move(done)](HttpResponse res) {
        if (alive.expired()) return;
        json j = parse_json_bounded(res.body);
        done(res.status, j.is_discarded() ? json() : j, res.error);
    });
}

void ApiClient::upload(const std::string& path, const std::string& content_type, std::string bytes, Done done) {
    HttpRequest req;
    req.method = "POST";
    req.url = base_ + path;
    if (!token_.empty()) req.headers["Authorization"] = "Bearer " + token_;
    req.headers["Content-Type"] = content_type.empty() ? "application/octet-stream" : content_type;
    req.body = std::move(bytes);
    req.timeout_ms = 120000;  // a large file on a slow uplink
    std::weak_ptr<bool> alive = alive_;
    http_.send(std::move(req), [alive, done = std::move(done)](HttpResponse res) {
        if (alive.expired()) return;
        json j = parse_json_bounded(res.body);
        done(res.status, j.is_discarded() ? json() : j, res.error);
    });
}

std::string ApiClient::error_text(int status, const json& body, const std::string& transport) {
    if (status == 0) return transport.empty() ? "the server cannot be reached" : transport;
    if (body.is_object() && body.contains("error"))
        return string_or(body["error"], "message", "HTTP " + std::to_string(status));
    return "HTTP " + std::to_string(status);
}

} // namespace wps
