// stub_api.cpp - see stub_api.hpp.
#include "stub_api.hpp"

#include "app_api.hpp"
#include "config.hpp"
#include "hub.hpp"
#include "outbox.hpp"
#include "rest_api.hpp"
#include "store.hpp"

#include <climits>

namespace stub {

using nlohmann::json;

std::optional<Response> StubApi::handle(const Request& r) {
    if (r.segments.empty() || r.segments[0] != "_stub") return std::nullopt;
    if (!config_.stub_api) return error_response(404, "NotFound", "The /_stub/ API is disabled; start with --enable-stub-api.");
    // The tester acts as the backend: the same signed token as the REST data plane.
    if (auto why = authenticate_service_request(r, config_.access_key)) return error_response(401, "Unauthorized", *why);
    const std::string op = r.segments.size() > 1 ? r.segments[1] : "";
    if (op == "state" && r.method == "GET") {
        json conns = json::array();
        for (auto& c : hub_.connections())
            conns.push_back(json{{"connectionId", c.id}, {"userId", c.userId}, {"hub", c.hub}, {"groups", c.groups}, {"attached", c.attached}});
        auto st = store_.outbox_stats();
        json dead = json::array();
        for (auto& d : store_.dead_outbox())
            dead.push_back(json{{"eventId", d.eventId}, {"target", d.target}, {"lastError", d.lastError}, {"retryCount", d.retryCount}});
        return json_response(200, json{{"connections", conns},
                                       {"outbox", {{"pending", st.pending}, {"processed", st.processed}, {"dead", st.dead},
                                                   {"deadRows", dead}, {"paused", outbox_.paused()}}}});
    }
    if (op == "drop" && r.method == "POST") return json_response(200, json{{"dropped", hub_.drop_sockets(r.param("userId").value_or(""))}});
    if (op == "close" && r.method == "POST") {
        // A service-side close (1008 + disconnected frame): the session cannot be recovered.
        hub_.close_user(config_.hub, r.param("userId").value_or(""), {}, r.param("reason").value_or("Closed by the stub."));
        return json_response(200, json{{"closed", true}});
    }
    if (op == "outbox" && r.method == "POST") return outbox_control(r);
    if (op == "notifications" && r.method == "POST") return app_.create_notification_as_backend(r);
    return error_response(404, "NotFound", "Unknown /_stub/ operation.");
}

// Pause or resume, fail the next n publishes, or delay the next n by delayMs (default 1000).
Response StubApi::outbox_control(const Request& r) {
    std::optional<uint64_t> fail_next, delay_next, delay_ms = 1000;
    if (auto f = r.param("failNext"); f && !(fail_next = parse_uint(*f, INT32_MAX)))
        return error_response(400, "BadRequest", "'failNext' must be a non-negative integer.");
    if (auto d = r.param("delayNext"); d && !(delay_next = parse_uint(*d, INT32_MAX)))
        return error_response(400, "BadRequest", "'delayNext' must be a non-negative integer.");
    if (auto d = r.param("delayMs"); d && !(delay_ms = parse_uint(*d, INT32_MAX)))
        return error_response(400, "BadRequest", "'delayMs' must be a non-negative integer.");
    if (auto p = r.param("pause")) outbox_.set_paused(*p == "true" || *p == "1");
    if (fail_next) outbox_.fail_next(static_cast<int>(*fail_next));
    if (delay_next) outbox_.delay_next(static_cast<int>(*delay_next), static_cast<int64_t>(*delay_ms));
    return json_response(200, json{{"paused", outbox_.paused()}});
}

} // namespace stub
