// api_client.hpp - JSON calls to the app backend through the HttpClient port, with the bearer
// token. Answers arrive parsed (never throwing); none arrives after the ApiClient is destroyed.
#pragma once

#include "ports.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace wps {

class ApiClient {
public:
    using Done = std::function<void(int status, const nlohmann::json& body, const std::string& transport_error)>;
    ApiClient(HttpClient& http, std::string base) : http_(http), base_(std::move(base)) {}
    ~ApiClient() { *alive_ = false; }
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;

    void set_token(std::string token) { token_ = std::move(token); }
    // Renews the session when the bearer token has expired: called with a callback that gets
    // true once set_token() holds a fresh token (false: the session could not be renewed). A
    // request answered 401 while a token was sent asks it once, then is sent again with the new
    // token; a second 401, or a failed renewal, goes to the caller as it came.
    using Renew = std::function<void(std::function<void(bool renewed)>)>;
    void set_renew(Renew renew) { renew_ = std::move(renew); }
    const std::string& token() const { return token_; }
    const std::string& base() const { return base_; }

    void call(const std::string& method, const std::string& path, const nlohmann::json* body, Done done);
    // call() without the renewal (the renewal's own sign-in request).
    void call_once(const std::string& method, const std::string& path, const nlohmann::json* body, Done done);
    // POST of raw bytes (a file) with the bearer token; the answer parsed as JSON like call()'s.
    void upload(const std::string& path, const std::string& content_type, std::string bytes, Done done);
    // A JSON POST that outlives the page (HttpRequest::keepalive), with the bearer token; no answer
    // is awaited and none renews the session.
    void beacon(const std::string& path, const nlohmann::json& body);

    // The server's error message ({"error":{"message"}}), or what went wrong on the way.
    static std::string error_text(int status, const nlohmann::json& body, const std::string& transport_error);

private:
    using Build = std::function<void(HttpRequest&)>;  // fills in a request (url holds the base)
    void dispatch(Build build, bool renewable, Done done);

    HttpClient& http_;
    std::string base_, token_;
    Renew renew_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace wps
