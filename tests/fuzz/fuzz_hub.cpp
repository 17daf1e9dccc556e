// fuzz_hub - the Web PubSub emulator's frame handling (stub::Hub::on_frame) across several
// connections speaking json.webpubsub.azure.v1, json.reliable.webpubsub.azure.v1 and the simple
// (no subprotocol) client, with socket drops, recoveries and clock ticks in between.
//
// Input: up to 64 lines, each one step:
//   "<n> <frame>"        connection n (0-3) sends the rest of the line as a WebSocket text frame
//   "<n>!drop"           connection n's socket drops (reliable sessions wait for recovery)
//   "<n>!close"          connection n closes cleanly
//   "<n>!recover"        connection n recovers with the last reconnection token it was given
//   "<n>!recover-json"   the same from a socket that speaks plain json (must be refused)
//   "<n>!connect"        connection n connects again (new connection id)
//   "!tick <ms>"         the clock moves on, then Hub::tick() (expires detached sessions)
//   "!group <g> <json>"  a REST send to group g; "!all <json>": to everyone
// Connections (hub "chat"): 0 alice, reliable, may join/send anywhere; 1 bob, json, wildcard
// roles for "room.*" and send to "room.a"; 2 carol, reliable, initial group "conversation:demo"
// and send anywhere under "**", access token valid for 2 s; 3 anonymous simple client in "room.a".
// Invariants: nothing crashes or throws; every frame the hub sends to a JSON-protocol connection
// decodes with the codec; close codes are valid. Limits are small so their paths are reached.
#include "fuzz_common.hpp"
#include "fuzz_sinks.hpp"

#include "hub.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

using nlohmann::json;

namespace {

struct Slot {
    stub::Hub::Connect setup;
    std::string id;
    std::shared_ptr<fuzz::DiscardSink> sink;
};

stub::Hub::Connect make(const char* user, stub::ClientProtocol p, std::vector<std::string> roles, std::vector<std::string> groups,
                        int64_t expires_at_ms = 0) {
    stub::Hub::Connect c;
    c.expires_at_ms = expires_at_ms;
    c.hub = "chat";
    c.userId = user;
    c.protocol = p;
    c.roles = std::move(roles);
    c.groups = std::move(groups);
    return c;
}

void connect(stub::Hub& hub, Slot& s) {
    s.sink = std::make_shared<fuzz::DiscardSink>(s.setup.protocol);
    s.id = hub.connect(s.setup, s.sink);
    FUZZ_CHECK(!s.id.empty(), "connect gave an empty id");
    if (s.setup.protocol != stub::ClientProtocol::Simple) FUZZ_CHECK(s.sink->sent == 1, "no connected frame");
}

stub::Payload payload(std::string_view text) {
    // As the REST layer gives it: JSON nested at most 64 deep (it refuses deeper bodies).
    json j = fuzz::shallow(text) ? json::parse(text, nullptr, false) : json();
    if (j.is_discarded() || j.is_null()) return stub::Payload{wps::DataType::Text, json(std::string(text))};
    return stub::Payload{wps::DataType::Json, std::move(j)};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    using P = stub::ClientProtocol;
    std::array<Slot, 4> slots{{
        {make("alice", P::ReliableJson, {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"}, {}), {}, {}},
        {make("bob", P::Json, {"webpubsub.joinLeaveGroups.room.*", "webpubsub.sendToGroup.room.a"}, {"room.a"}), {}, {}},
        {make("carol", P::ReliableJson, {"webpubsub.sendToGroups.**"}, {"conversation:demo"}, fuzz::kNowMs + 2000), {}, {}},
        {make("", P::Simple, {}, {"room.a"}), {}, {}},
    }};
    int64_t now = fuzz::kNowMs;
    stub::HubLimits limits;
    limits.max_unacked_messages = 8;
    limits.max_unacked_bytes = 4096;
    limits.recovery_window_ms = 1000;
    limits.max_remembered_ack_ids = 16;
    stub::Hub hub([&now] { return now; }, limits);
    hub.on_event = [](const stub::ConnectionInfo& c, const std::string& event, const stub::Payload&) -> std::string {
        if (event == "refuse") return "Forbidden";
        if (event == "fail") return "InternalServerError";
        return "";
    };
    for (auto& s : slots) connect(hub, s);

    for (int step = 0; step < 64 && !in.empty(); ++step) {
        const std::string_view line = fuzz::take_line(in);
        if (line.size() < 2) continue;
        if (line[0] == '!') {
            if (line.rfind("!tick", 0) == 0) {
                int64_t ms = 0;
                for (char ch : line.substr(5))
                    if (ch >= '0' && ch <= '9' && ms < 100000000) ms = ms * 10 + (ch - '0');
                now += ms;
                hub.tick();
            } else if (line.rfind("!group ", 0) == 0) {
                std::string_view rest = line.substr(7);
                const auto sp = rest.find(' ');
                const std::string group(rest.substr(0, sp));
                hub.send_to_group("chat", group, payload(sp == std::string_view::npos ? "" : rest.substr(sp + 1)), {});
            } else if (line.rfind("!all ", 0) == 0) {
                hub.send_to_all("chat", payload(line.substr(5)), {});
            }
            continue;
        }
        if (line[0] < '0' || line[0] > '3') continue;
        Slot& s = slots[static_cast<std::size_t>(line[0] - '0')];
        const std::string_view op = line.substr(1);
        if (op[0] == ' ') {
            hub.on_frame(s.id, std::string(op.substr(1)));
        } else if (op == "!drop") {
            hub.on_socket_closed(s.id, s.sink.get(), false);
        } else if (op == "!close") {
            hub.on_socket_closed(s.id, s.sink.get(), true);
        } else if (op == "!recover" || op == "!recover-json") {
            // A new socket, speaking the connection's own subprotocol or plain json.
            const P proto = op == "!recover" ? s.setup.protocol : P::Json;
            auto sink = std::make_shared<fuzz::DiscardSink>(proto);
            std::string error;
            const std::string token = s.sink ? s.sink->token : std::string();
            if (hub.recover("chat", s.id, token, proto, sink, error)) {
                FUZZ_CHECK(proto == P::ReliableJson, "a session was recovered without the reliable subprotocol");
                FUZZ_CHECK(sink->sent >= 1 && !sink->token.empty(), "a recovered session got no connected frame with a token");
                s.sink = sink;
            } else {
                FUZZ_CHECK(!error.empty(), "a refused recovery has no reason");
            }
        } else if (op == "!connect") {
            connect(hub, s);
        }
    }
    // What the hub reports about itself stays consistent.
    for (const auto& c : hub.connections()) FUZZ_CHECK(hub.connection_exists(c.hub, c.id), "a listed connection does not exist");
    return 0;
}
