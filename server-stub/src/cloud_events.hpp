// cloud_events.hpp - Web PubSub event handlers (the service's CloudEvents over HTTP): what both
// ends share, ce-signature (HMAC-SHA256 of the connection id with each access key) and the origin
// the abuse-protection handshake names.
//
//   sender    event_upstream.hpp: the embedded emulator posts its hub's connected/disconnected
//             events to an event handler URL, the way the service does
//   receiver  app_api.cpp, OPTIONS/POST /eventhandler: the same code whether the events come from
//             the emulator or from Azure Web PubSub
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stub {

// A system event of the service's hub, as the emulator reports it to an event handler.
struct SystemEvent {
    std::string event;                 // "connected" or "disconnected"
    std::string hub, connectionId, userId, subprotocol;
    std::string reason;                // disconnected: why, when known
};
// The CloudEvents request (binary mode) the service sends for `e`: its headers, signed with
// `key` and naming `origin` (WebHook-Request-Origin), with the event id `id`; the JSON body in
// `body`.
std::map<std::string, std::string> system_event_request(const SystemEvent& e, const std::string& origin, const std::string& key,
                                                        const std::string& id, std::string& body);

// "host" or "host:port" (a port other than the scheme's) of a service endpoint URL: what the
// service sends as WebHook-Request-Origin. Empty for anything but an http(s)/ws(s) URL.
std::string service_origin(const std::string& endpoint);
// The ce-signature header: "sha256=<hex>" per key, comma-separated.
std::string ce_signature(const std::vector<std::string>& keys, const std::string& connectionId);
// ce-time ("2026-11-30T02:50:00Z", optional fraction; UTC only) as Unix milliseconds; nullopt
// for anything else.
std::optional<int64_t> parse_ce_time(const std::string& text);
// A comma-separated header's entries, trimmed and in lower case (at most 16 of them).
std::vector<std::string> header_list(const std::string& header);
// Whether one of the header's entries is the signature of `connectionId` with `key` (constant time).
bool ce_signature_valid(const std::string& header, const std::string& key, const std::string& connectionId);

} // namespace stub
