// The hub serialises one publication once for all its receivers: json connections share the very
// same bytes, reliable ones get them plus their own sequenceId, simple ones the data itself.
#include "core/protocol.hpp"
#include "hub.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace stub;
using nlohmann::json;

namespace {
struct Sink final : ConnectionSink {
    std::vector<std::shared_ptr<const std::string>> frames;
    void send(std::shared_ptr<const std::string> text) override { frames.push_back(std::move(text)); }
    void close(int, const std::string&) override {}
};
} // namespace

TEST_CASE("a group publication is encoded once and sequenced per reliable connection", "[stub][hub]") {
    Hub hub([] { return int64_t(1000); });
    auto connect = [&](ClientProtocol p, std::shared_ptr<Sink> sink) {
        const std::string id = hub.connect(Hub::Connect{"chat", "u", {}, {}, p, 0}, sink);
        REQUIRE(hub.add_connection_to_group("chat", "room", id));
        sink->frames.clear();  // the connected frame
        return id;
    };
    auto j1 = std::make_shared<Sink>(), j2 = std::make_shared<Sink>(), r1 = std::make_shared<Sink>(), r2 = std::make_shared<Sink>(),
         s1 = std::make_shared<Sink>();
    connect(ClientProtocol::Json, j1);
    connect(ClientProtocol::Json, j2);
    connect(ClientProtocol::ReliableJson, r1);
    connect(ClientProtocol::ReliableJson, r2);
    connect(ClientProtocol::Simple, s1);
    const json data{{"type", "chat.message"}, {"text", "\xCE\xB3\xCE\xB5\xCE\xB9\xCE\xB1 \"quoted\" }"}};
    hub.send_to_group("chat", "room", Payload{wps::DataType::Json, data}, {});
    // r1 sees a second message: its sequence moves on, r2's is its own.
    hub.send_to_group("chat", "room", Payload{wps::DataType::Json, data}, {});
    REQUIRE(j1->frames.size() == 2);
    REQUIRE(j2->frames.size() == 2);
    CHECK(j1->frames[0].get() == j2->frames[0].get());  // the same bytes, not a copy
    for (auto& sink : {r1, r2}) {
        REQUIRE(sink->frames.size() == 2);
        for (std::size_t i = 0; i < 2; ++i) {
            auto decoded = wps::decode_service_frame(*sink->frames[i]);
            REQUIRE(decoded.frame);
            const auto& m = std::get<wps::MessageFrame>(*decoded.frame);
            CHECK(m.sequenceId == i + 1);
            CHECK(m.group == "room");
            CHECK(m.data == data);
        }
    }
    auto plain = wps::decode_service_frame(*j1->frames[0]);
    REQUIRE(plain.frame);
    CHECK_FALSE(std::get<wps::MessageFrame>(*plain.frame).sequenceId);
    REQUIRE(s1->frames.size() == 2);
    CHECK(json::parse(*s1->frames[0]) == data);
}

TEST_CASE("system events for an event handler: connected on connect, disconnected when a session really ends", "[stub][hub][presence]") {
    int64_t now = 1000;
    Hub hub([&] { return now; });
    std::vector<std::string> events;
    hub.on_system_event = [&](const ConnectionInfo& c, const std::string& event, const std::string& reason) {
        events.push_back(event + ":" + c.userId + ":" + c.id + (reason.empty() ? "" : ":" + reason));
    };
    auto plain = std::make_shared<Sink>(), reliable = std::make_shared<Sink>();
    const std::string a = hub.connect(Hub::Connect{"chat", "alice", {}, {}, ClientProtocol::Json, 0}, plain);
    const std::string b = hub.connect(Hub::Connect{"chat", "bob", {}, {}, ClientProtocol::ReliableJson, 0}, reliable);
    CHECK(events == std::vector<std::string>{"connected:alice:" + a, "connected:bob:" + b});
    // A dropped socket ends a plain connection; a reliable session waits for recovery.
    hub.on_socket_closed(a, plain.get());
    hub.on_socket_closed(b, reliable.get());
    REQUIRE(events.size() == 3);
    CHECK(events[2] == "disconnected:alice:" + a);
    now += 29000;
    hub.tick();
    CHECK(events.size() == 3);  // still recoverable
    now += 2000;
    hub.tick();
    REQUIRE(events.size() == 4);
    CHECK(events[3] == "disconnected:bob:" + b + ":The session was not recovered in time.");
    // A REST close says why.
    auto third = std::make_shared<Sink>();
    const std::string c = hub.connect(Hub::Connect{"chat", "carol", {}, {}, ClientProtocol::Json, 0}, third);
    hub.close_connection("chat", c, "Closed by the backend.");
    REQUIRE(events.size() == 6);
    CHECK(events[5] == "disconnected:carol:" + c + ":Closed by the backend.");
}
