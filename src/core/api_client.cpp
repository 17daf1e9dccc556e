// api_client.cpp - see api_client.hpp.
#include "api_client.hpp"

#include "json_limits.hpp"

#include <tuple>

namespace wps {

using nlohmann::json;

namespace {

// A JSON request (or a bodiless one) for dispatch().
std::function<void(HttpRequest&)> json_request(const std::string& method, const std::string& path, const json* body) {
    auto text = body ? std::make_shared<const std::string>(body->dump()) : nullptr;
    return [method, path, text](HttpRequest& req) {
        req.method = method;
        req.url += path;
        if (text) {
            req.headers["Content-Type"] = "application/json";
            req.body = *text;
        }
    };
}

} // namespace

void ApiClient::call(const std::string& method, const std::string& path, const json* body, Done done) {
    dispatch(json_request(method, path, body), true, std::move(done));
}

void ApiClient::call_once(const std::string& method, const std::string& path, const json* body, Done done) {
    dispatch(json_request(method, path, body), false, std::move(done));
}

void ApiClient::upload(const std::string& path, const std::string& content_type, std::string bytes, Done done) {
    // Kept until answered: sent again after a renewal (attachments are bounded).
    auto data = std::make_shared<const std::string>(std::move(bytes));
    dispatch([path, content_type, data](HttpRequest& req) {
        req.method = "POST";
        req.url += path;
        req.headers["Content-Type"] = content_type.empty() ? "application/octet-stream" : content_type;
        req.body = *data;
        req.timeout_ms = 120000;  // a large file on a slow uplink
    }, true, std::move(done));
}

void ApiClient::beacon(const std::string& path, const json& body) {
    HttpRequest req;
    req.url = base_;
    if (!token_.empty()) req.headers["Authorization"] = "Bearer " + token_;
    json_request("POST", path, &body)(req);
    req.keepalive = true;
    http_.send(std::move(req), [](HttpResponse) {});
}

void ApiClient::dispatch(Build build, bool renewable, Done done) {
    HttpRequest req;
    req.url = base_;
    std::string sent = token_;
    if (!sent.empty()) req.headers["Authorization"] = "Bearer " + sent;
    build(req);
    std::weak_ptr<bool> alive = alive_;
    http_.send(std::move(req), [this, alive, build = std::move(build), renewable, sent = std::move(sent), done = std::move(done)](HttpResponse res) mutable {
        if (alive.expired()) return;
        json j = parse_json_bounded(res.body);
        if (j.is_discarded()) j = json();
        if (res.status == 401 && renewable && !sent.empty() && !token_.empty() && token_ != sent)
            return dispatch(std::move(build), false, std::move(done));  // renewed meanwhile: again with the new token
        // The token expired (or was revoked): renew the session once, then the same request again
        // with the new token.
        if (res.status == 401 && renewable && !sent.empty() && renew_) {
            auto answer = std::make_shared<std::tuple<int, json, std::string>>(res.status, std::move(j), res.error);
            return renew_([this, alive, build = std::move(build), answer, done = std::move(done)](bool renewed) mutable {
                if (alive.expired()) return;
                if (!renewed) return done(std::get<0>(*answer), std::get<1>(*answer), std::get<2>(*answer));
                dispatch(std::move(build), false, std::move(done));
            });
        }
        done(res.status, j, res.error);
    });
}

std::string ApiClient::error_text(int status, const json& body, const std::string& transport) {
    if (status == 0) return transport.empty() ? "the server cannot be reached" : transport;
    if (body.is_object() && body.contains("error"))
        return string_or(body["error"], "message", "HTTP " + std::to_string(status));
    return "HTTP " + std::to_string(status);
}

} // namespace wps
