// The Web PubSub client state machine, driven through a fake socket and a fake clock.
#include "core/pubsub_client.hpp"
#include "platform/fake/fake_platform.hpp"

#include <catch2/catch.hpp>

#include <memory>

using namespace wps;
using wps::fake::FakeScheduler;
using wps::fake::FakeSockets;

namespace {

struct Harness {
    FakeScheduler sched;
    FakeSockets socks;
    int url_calls = 0;
    bool provider_ok = true;
    std::vector<std::string> events;
    std::vector<GroupMessage> group_messages;
    std::vector<DisconnectInfo> disconnects;
    std::vector<StopInfo> stops;
    std::unique_ptr<PubSubClient> client;

    explicit Harness(ClientOptions o = {}) {
        client = std::make_unique<PubSubClient>(
            [this](std::function<void(bool, std::string)> done) {
                ++url_calls;
                if (provider_ok) done(true, "ws://svc/client/hubs/chat?access_token=t" + std::to_string(url_calls));
                else done(false, "401 from backend");
            },
            socks.factory(), sched, [] { return 0.5; }, o);
        auto& ev = client->events();
        ev.connected = [this](const std::string& id, const std::optional<std::string>&) { events.push_back("connected:" + id); };
        ev.disconnected = [this](const DisconnectInfo& d) { disconnects.push_back(d); events.push_back("disconnected"); };
        ev.stopped = [this](const StopInfo& s) { stops.push_back(s); events.push_back("stopped"); };
        ev.group_message = [this](const GroupMessage& m) { group_messages.push_back(m); };
        ev.rejoin_group_failed = [this](const std::string& g, const ErrorDetail& e) { events.push_back("rejoin-failed:" + g + ":" + e.name); };
    }
    void welcome(const std::string& conn = "c1", const std::string& token = "rt1") {
        socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":")" + conn +
                      R"(","reconnectionToken":")" + token + "\"}");
    }
    void connect(const std::string& conn = "c1") {
        REQUIRE(client->start());
        socks.open();
        welcome(conn);
    }
    json sent(std::size_t back = 0) {
        auto& s = socks.last().sent;
        REQUIRE(s.size() > back);
        return json::parse(s[s.size() - 1 - back]);
    }
    void ack(uint64_t id, const char* error = nullptr) {
        json j{{"type", "ack"}, {"ackId", id}, {"success", error == nullptr}};
        if (error) j["error"] = json{{"name", error}, {"message", "m"}};
        socks.receive(j.dump());
    }
    void group_msg(uint64_t seq, const std::string& text) {
        socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "g"}, {"fromUserId", "bob"},
                           {"dataType", "text"}, {"data", text}, {"sequenceId", seq}}.dump());
    }
};

ClientOptions no_keepalive() {
    ClientOptions o;
    o.keep_alive_interval_ms = 0;
    return o;
}

} // namespace

TEST_CASE("start asks the provider for a URL and opens it with the reliable subprotocol", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    CHECK(h.url_calls == 1);
    CHECK(h.socks.last().url == "ws://svc/client/hubs/chat?access_token=t1");
    CHECK(h.socks.last().protocol == "json.reliable.webpubsub.azure.v1");
    CHECK(h.events == std::vector<std::string>{"connected:c1"});
    CHECK(h.client->status().state == ClientState::Connected);
    CHECK_FALSE(h.client->start());  // only from Stopped
}

TEST_CASE("join, send and acks resolve, Duplicate counts as success", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    std::vector<SendResult> results;
    h.client->join_group("g", [&](const SendResult& r) { results.push_back(r); });
    CHECK(h.sent() == json::parse(R"({"type":"joinGroup","group":"g","ackId":1})"));
    h.client->send_to_group("g", "hi", DataType::Text, SendOptions{std::nullopt, true, false},
                            [&](const SendResult& r) { results.push_back(r); });
    CHECK(h.sent() == json::parse(R"({"type":"sendToGroup","group":"g","ackId":2,"noEcho":true,"dataType":"text","data":"hi"})"));
    h.ack(1);
    h.ack(2, "Duplicate");
    REQUIRE(results.size() == 2);
    CHECK(results[0].ok);
    CHECK_FALSE(results[0].isDuplicated);
    CHECK(results[1].ok);
    CHECK(results[1].isDuplicated);
    CHECK(h.client->pending_acks() == 0);
}

TEST_CASE("Forbidden is never retried, InternalServerError is retried with the same ackId", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    std::vector<SendResult> results;
    h.client->send_event("e", json{{"a", 1}}, DataType::Json, {}, [&](const SendResult& r) { results.push_back(r); });
    h.client->send_to_group("g", "x", DataType::Text, {}, [&](const SendResult& r) { results.push_back(r); });
    const auto before = h.socks.last().sent.size();
    h.ack(2, "Forbidden");
    REQUIRE(results.size() == 1);
    CHECK_FALSE(results[0].ok);
    CHECK(results[0].error.name == "Forbidden");
    CHECK(results[0].ackId == 2u);

    h.ack(1, "InternalServerError");
    h.sched.advance(1000);
    REQUIRE(h.socks.last().sent.size() == before + 1);
    CHECK(h.sent()["ackId"] == 1);
    CHECK(h.sent()["type"] == "event");
    h.ack(1);
    REQUIRE(results.size() == 2);
    CHECK(results[1].ok);
    CHECK(h.socks.last().sent.size() == before + 1);  // Forbidden was not resent
}

TEST_CASE("a caller-supplied ackId is used on the wire", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    h.client->send_to_group("g", "x", DataType::Text, SendOptions{77, false, false});
    CHECK(h.sent()["ackId"] == 77);
}

TEST_CASE("fire-and-forget has no ackId and completes on write", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    bool done = false;
    h.client->send_to_group("g", "typing", DataType::Text, SendOptions{std::nullopt, false, true},
                            [&](const SendResult& r) { done = r.ok; });
    CHECK_FALSE(h.sent().contains("ackId"));
    CHECK(done);
    CHECK(h.client->pending_acks() == 0);
}

TEST_CASE("reliable: duplicates dropped, acks batched, eager when far ahead", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    const auto base = h.socks.last().sent.size();
    h.group_msg(1, "a");
    h.group_msg(2, "b");
    h.group_msg(2, "b-again");
    h.group_msg(1, "a-again");
    REQUIRE(h.group_messages.size() == 2);
    CHECK(h.socks.last().sent.size() == base);  // not yet: batched
    h.sched.advance(1000);
    CHECK(h.sent() == json::parse(R"({"type":"sequenceAck","sequenceId":2})"));
    h.group_msg(400, "far");
    CHECK(h.sent() == json::parse(R"({"type":"sequenceAck","sequenceId":400})"));
}

TEST_CASE("recovery: same session, no second connected event, unacked sends resent with same ackId", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    h.client->join_group("g");
    h.group_msg(5, "x");
    h.socks.drop(1006);
    CHECK(h.client->status().state == ClientState::Recovering);
    h.sched.advance(0);
    REQUIRE(h.socks.all.size() == 2);
    CHECK(h.socks.last().url ==
          "ws://svc/client/hubs/chat?access_token=t1&awps_connection_id=c1&awps_reconnection_token=rt1");
    CHECK(h.url_calls == 1);  // recovery does not ask for a new URL
    h.socks.open();
    h.welcome("c1", "rt2");
    CHECK(h.events == std::vector<std::string>{"connected:c1"});
    // sequenceAck for what we had, then the unacked join with its original ackId.
    CHECK(h.sent(1) == json::parse(R"({"type":"sequenceAck","sequenceId":5})"));
    CHECK(h.sent(0) == json::parse(R"({"type":"joinGroup","group":"g","ackId":1})"));
    h.group_msg(5, "redelivered");
    CHECK(h.group_messages.size() == 1);
    CHECK(h.disconnects.empty());

    // The refreshed token is used for the next recovery.
    h.socks.drop(1006);
    h.sched.advance(0);
    CHECK(h.socks.last().url.find("awps_reconnection_token=rt2") != std::string::npos);
}

TEST_CASE("recovery retries every second and gives up after the window", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    const uint64_t t0 = h.sched.now_ms();
    h.socks.drop(1006);
    h.sched.advance(0);
    int attempts = 1;
    while (h.disconnects.empty() && attempts < 100) {
        h.socks.drop(1006);  // recovery attempt refused (network)
        if (!h.disconnects.empty()) break;
        h.sched.advance(1000);
        ++attempts;
    }
    REQUIRE(h.disconnects.size() == 1);
    CHECK(attempts == 31);                     // at 0 s, 1 s, ... 30 s
    CHECK(h.sched.now_ms() - t0 == 30000);
    CHECK(h.client->status().state == ClientState::WaitingToReconnect);
}

TEST_CASE("close code 1008 ends recovery: disconnected, new URL, new session, groups rejoined", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    h.client->join_group("g");
    h.ack(1);
    h.group_msg(3, "x");
    h.socks.drop(1008, "session expired");
    REQUIRE(h.disconnects.size() == 1);
    CHECK(h.disconnects[0].code == 1008);
    CHECK(h.disconnects[0].reason == "session expired");
    CHECK(h.disconnects[0].connectionId == "c1");
    CHECK(h.client->status().state == ClientState::WaitingToReconnect);
    CHECK(h.client->status().next_retry_at_ms > h.sched.now_ms());
    h.sched.advance(60000);
    CHECK(h.url_calls == 2);
    h.socks.open();
    h.welcome("c2");
    // As the official client: the joined groups are rejoined first, then connected is reported.
    CHECK(h.sent() == json::parse(R"({"type":"joinGroup","group":"g","ackId":2})"));
    CHECK(h.events.back() == "disconnected");
    h.ack(2);
    CHECK(h.events.back() == "connected:c2");
    h.group_msg(1, "fresh session starts again at 1");
    CHECK(h.group_messages.size() == 2);
}

TEST_CASE("rejoin failures are reported", "[client]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.client->join_group("g");
    h.ack(1);
    h.socks.drop(1006);
    h.sched.advance(60000);
    h.socks.open();
    h.welcome("c2");
    h.ack(h.sent()["ackId"].get<uint64_t>(), "Forbidden");
    REQUIRE(h.events.size() >= 2);
    CHECK(h.events[h.events.size() - 2] == "rejoin-failed:g:Forbidden");
    CHECK(h.events.back() == "connected:c2");
    // A refused group is forgotten: the next connection does not ask again.
    CHECK(h.client->joined_groups().empty());
    const auto before = h.socks.all.size();
    h.socks.drop(1006);
    h.sched.advance(60000);
    REQUIRE(h.socks.all.size() == before + 1);
    h.socks.open();
    h.welcome("c3");
    CHECK(h.events.back() == "connected:c3");
    CHECK(h.socks.last().sent.empty());
}

TEST_CASE("non-reliable protocol never recovers: disconnected then reconnect with backoff and jitter", "[client]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    o.reconnect_retry.retry_delay_ms = 1000;
    o.reconnect_retry.jitter = 0.5;
    Harness h(o);
    h.connect();
    h.socks.drop(1006);
    CHECK(h.disconnects.size() == 1);
    // attempt 1: 1000 * (0.5 + 0.5*0.5) = 750 ms
    CHECK(h.client->status().attempt == 1);
    CHECK(h.client->status().next_retry_at_ms - h.sched.now_ms() == 750);
    h.sched.advance(749);
    CHECK(h.url_calls == 1);
    h.sched.advance(1);
    CHECK(h.url_calls == 2);
    h.socks.drop(1006);  // handshake failed
    CHECK(h.client->status().attempt == 2);
    CHECK(h.client->status().next_retry_at_ms - h.sched.now_ms() == 1500);
}

TEST_CASE("a failing access-URL provider is retried, never given up while auto-reconnect is on", "[client]") {
    Harness h(no_keepalive());
    h.provider_ok = false;
    REQUIRE(h.client->start());
    CHECK(h.client->status().state == ClientState::WaitingToReconnect);
    CHECK(h.client->status().last_close_reason == "access URL: 401 from backend");
    h.sched.advance(600000);
    CHECK(h.url_calls > 5);
    CHECK(h.stops.empty());
    h.provider_ok = true;
    h.sched.advance(60000);
    h.socks.open();
    h.welcome("c9");
    CHECK(h.client->status().state == ClientState::Connected);
    CHECK(h.client->status().attempt == 0);
}

TEST_CASE("stop() never reconnects and fires stopped with the close code", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    bool failed = false;
    h.client->send_to_group("g", "x", DataType::Text, {}, [&](const SendResult& r) { failed = !r.ok; });
    h.client->stop();
    CHECK(h.socks.last().closed_by_client);
    CHECK(h.client->status().state == ClientState::Stopped);
    REQUIRE(h.stops.size() == 1);
    CHECK(h.stops[0].code == 1000);
    CHECK(failed);
    h.sched.advance(3600000);
    CHECK(h.socks.all.size() == 1);
    CHECK(h.url_calls == 1);
}

TEST_CASE("issue #3 - stopped fires when auto-reconnect is off and the network drops", "[client]") {
    ClientOptions o = no_keepalive();
    o.auto_reconnect = false;
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.socks.drop(1011, "server error");
    CHECK(h.events == std::vector<std::string>{"connected:c1", "disconnected", "stopped"});
    CHECK(h.disconnects[0].code == 1011);
    CHECK(h.stops[0].code == 1011);
    CHECK(h.stops[0].reason == "server error");
}

TEST_CASE("max reconnect attempts end in stopped", "[client]") {
    ClientOptions o = no_keepalive();
    o.reconnect_retry.max_retries = 2;
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.socks.drop(1006);
    h.sched.advance(60000);
    h.socks.drop(1006);
    h.sched.advance(60000);
    h.socks.drop(1006);
    CHECK(h.stops.size() == 1);
    CHECK(h.client->status().state == ClientState::Stopped);
}

TEST_CASE("sends while reconnecting are queued and flushed in order after reconnect", "[client]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.socks.drop(1006);
    std::vector<SendResult> results;
    h.client->send_to_group("g", "one", DataType::Text, {}, [&](const SendResult& r) { results.push_back(r); });
    h.client->send_to_group("g", "two", DataType::Text, {}, [&](const SendResult& r) { results.push_back(r); });
    CHECK(h.client->queued_sends() == 2);
    h.sched.advance(5000);
    h.socks.open();
    CHECK(h.socks.last().sent.empty());  // nothing goes out before the service's connected frame
    h.welcome("c2");
    CHECK(h.sent(1)["data"] == "one");
    CHECK(h.sent(0)["data"] == "two");
    h.ack(h.sent(1)["ackId"].get<uint64_t>());
    h.ack(h.sent(0)["ackId"].get<uint64_t>());
    CHECK(results.size() == 2);
}

TEST_CASE("queued sends fail after their deadline and the queue is bounded", "[client]") {
    ClientOptions o = no_keepalive();
    o.max_queued_sends = 2;
    o.send_deadline_ms = 10000;
    o.protocol = kJsonProtocol;
    o.reconnect_retry.retry_delay_ms = 100000;
    o.reconnect_retry.max_retry_delay_ms = 100000;
    Harness h(o);
    h.connect();
    h.socks.drop(1006);
    std::vector<std::string> errors;
    for (int i = 0; i < 3; ++i)
        h.client->send_to_group("g", "x", DataType::Text, {}, [&](const SendResult& r) { errors.push_back(r.error.name); });
    CHECK(errors == std::vector<std::string>{"QueueFull"});
    h.sched.advance(10000);
    CHECK(errors == std::vector<std::string>{"QueueFull", "Timeout", "Timeout"});
    CHECK(h.client->queued_sends() == 0);
}

TEST_CASE("sends on a stopped client fail at once", "[client]") {
    Harness h(no_keepalive());
    std::string err;
    h.client->send_event("e", "x", DataType::Text, {}, [&](const SendResult& r) { err = r.error.name; });
    CHECK(err == "ClientStopped");
}

TEST_CASE("keep-alive pings and drops a silent socket", "[client]") {
    ClientOptions o;
    o.keep_alive_interval_ms = 20000;
    o.keep_alive_timeout_ms = 60000;
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.sched.advance(20000);
    CHECK(h.sent() == json::parse(R"({"type":"ping"})"));
    h.socks.receive(R"({"type":"pong"})");
    h.sched.advance(59000);
    CHECK(h.disconnects.empty());
    h.sched.advance(21000);
    REQUIRE(h.disconnects.size() == 1);
    CHECK(h.disconnects[0].reason.find("keep-alive timeout") == 0);
    CHECK(h.socks.all[0]->closed_by_client);
}

TEST_CASE("resume probes the socket and drops it when no answer comes", "[client]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.client->notify_resumed();
    CHECK(h.sent() == json::parse(R"({"type":"ping"})"));
    h.sched.advance(4999);
    CHECK(h.disconnects.empty());
    h.sched.advance(1);
    CHECK(h.disconnects.size() == 1);
}

TEST_CASE("a pong after resume keeps the connection", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    h.client->notify_resumed();
    h.socks.receive(R"({"type":"pong"})");
    h.sched.advance(10000);
    CHECK(h.disconnects.empty());
}

TEST_CASE("offline waits without dialling, online reconnects at once", "[client]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.client->notify_offline();
    h.socks.drop(1006);
    h.sched.advance(600000);
    CHECK(h.url_calls == 1);
    CHECK(h.client->status().offline);
    h.client->notify_online();
    CHECK(h.url_calls == 2);
    CHECK(h.client->status().state == ClientState::Connecting);
}

TEST_CASE("reconnect_now skips the backoff wait", "[client]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    Harness h(o);
    h.connect();
    h.socks.drop(1006);
    CHECK(h.url_calls == 1);
    h.client->reconnect_now();
    CHECK(h.url_calls == 2);
}

TEST_CASE("stale callbacks from an old socket are ignored", "[client]") {
    Harness h(no_keepalive());
    h.connect();
    auto old = h.socks.all[0];
    h.client->stop();
    REQUIRE(h.client->start());
    h.socks.open();
    h.welcome("c2");
    old->alive = true;
    old->cb.on_close(1006, "late");
    CHECK(h.client->status().state == ClientState::Connected);
}

TEST_CASE("a client can start from a fixed URL", "[client]") {
    FakeScheduler sched;
    FakeSockets socks;
    PubSubClient c(fixed_url("ws://h/client/hubs/chat?access_token=x"), socks.factory(), sched, [] { return 0.5; });
    REQUIRE(c.start());
    CHECK(socks.last().url == "ws://h/client/hubs/chat?access_token=x");
    socks.open();
    CHECK(c.status().state == ClientState::Connecting);
    socks.receive(R"({"type":"system","event":"connected","connectionId":"c"})");
    CHECK(c.status().state == ClientState::Connected);
}

TEST_CASE("a client destroyed while a resend is scheduled leaves no timer behind", "[client]") {
    FakeScheduler sched;
    FakeSockets socks;
    ClientOptions o;
    o.keep_alive_interval_ms = 0;
    {
        PubSubClient c(fixed_url("ws://h/client/hubs/chat?access_token=x"), socks.factory(), sched, [] { return 0.5; }, o);
        c.start();
        socks.open();
        c.send_event("e", "x", DataType::Text);
        socks.receive(R"({"type":"ack","ackId":1,"success":false,"error":{"name":"InternalServerError","message":"m"}})");
        CHECK(sched.pending() > 0);  // the resend (and the send deadline) are scheduled
    }
    CHECK(sched.pending() == 0);     // destruction cancelled them: nothing can fire into a dead client
    sched.advance(60000);
}

// ---- fidelity to the protocol spec and the official client (issue 10, items 1-8) ------------

TEST_CASE("payloads that do not fit their dataType are refused before they leave, nothing is sent", "[client][spec]") {
    Harness h(no_keepalive());
    h.connect();
    const auto before = h.socks.last().sent.size();
    std::vector<SendResult> results;
    auto keep = [&](const SendResult& r) { results.push_back(r); };
    h.client->send_to_group("g", 5, DataType::Text, {}, keep);
    h.client->send_to_group("g", json(nullptr), DataType::Json, {}, keep);
    h.client->send_to_group("g", "not base64!", DataType::Binary, {}, keep);
    h.client->send_to_group("g", "AAEC", DataType::Protobuf, {}, keep);
    h.client->send_event("e", json::array(), DataType::Text, {}, keep);
    REQUIRE(results.size() == 5);
    for (const auto& r : results) {
        CHECK_FALSE(r.ok);
        CHECK(r.error.name == "InvalidData");
    }
    CHECK(h.socks.last().sent.size() == before);
    CHECK(h.client->pending_acks() == 0);
    CHECK(h.client->queued_sends() == 0);
    // Valid ones still go.
    h.client->send_to_group("g", "AAEC", DataType::Binary);
    CHECK(h.sent()["dataType"] == "binary");
}

TEST_CASE("frames from the service above 1 MB are taken, a dropped frame is reported, never silent", "[client][spec]") {
    Harness h(no_keepalive());
    std::vector<std::string> rejected;
    std::vector<ServerMessage> server;
    h.client->events().frame_rejected = [&](const std::string& why) { rejected.push_back(why); };
    h.client->events().server_message = [&](const ServerMessage& m) { server.push_back(m); };
    h.connect();
    const std::string big(3 * 1024 * 1024, 'x');
    h.socks.receive(json{{"type", "message"}, {"from", "server"}, {"dataType", "text"}, {"data", big}, {"sequenceId", 1}}.dump());
    REQUIRE(server.size() == 1);
    CHECK(server[0].data.get_ref<const std::string&>().size() == big.size());
    // json null from the service is a value like any other.
    h.socks.receive(R"({"type":"message","from":"server","dataType":"json","data":null,"sequenceId":2})");
    REQUIRE(server.size() == 2);
    CHECK(server[1].data.is_null());
    h.socks.receive("{not json");
    h.socks.receive(R"({"type":"message","from":"server","dataType":"protobuf","data":"AAEC"})");
    REQUIRE(rejected.size() == 2);
    CHECK(rejected[0].find("malformed JSON") != std::string::npos);
    CHECK(server.size() == 2);
}

TEST_CASE("after a failed recovery, unacknowledged sends fail with a reason and are not replayed", "[client][spec]") {
    Harness h(no_keepalive());
    h.connect();
    std::vector<SendResult> results;
    h.client->send_to_group("g", "in flight", DataType::Text, {}, [&](const SendResult& r) { results.push_back(r); });
    REQUIRE(h.client->pending_acks() == 1);
    h.socks.drop(1008, "session gone");  // no recovery
    REQUIRE(results.size() == 1);
    CHECK_FALSE(results[0].ok);
    CHECK(results[0].error.name == "ConnectionLost");
    CHECK(results[0].ackId == 1u);
    // A send made while disconnected never left: it is sent on the new connection.
    h.client->send_to_group("g", "queued", DataType::Text, {}, [&](const SendResult& r) { results.push_back(r); });
    const auto sockets = h.socks.all.size();
    for (int i = 0; i < 30 && h.socks.all.size() == sockets; ++i) h.sched.advance(500);
    REQUIRE(h.socks.all.size() == sockets + 1);
    h.socks.open();
    h.welcome("c2");
    REQUIRE(h.socks.last().sent.size() == 1);
    CHECK(h.sent()["data"] == "queued");
    // Recovery of the same session, by contrast, resends with the same ackId (same connection).
    h.socks.drop(1006);
    h.sched.advance(1);
    h.socks.open();
    h.welcome("c2", "rt2");
    CHECK(h.sent()["data"] == "queued");
}

TEST_CASE("groups count as joined only once acknowledged, stop() then start() rejoins them before connected", "[client][spec]") {
    Harness h(no_keepalive());
    h.connect();
    h.client->join_group("g");
    CHECK(h.client->joined_groups().empty());  // not before the ack
    h.ack(1);
    CHECK(h.client->joined_groups() == std::set<std::string>{"g"});
    h.client->join_group("secret");
    h.ack(2, "Forbidden");
    CHECK(h.client->joined_groups() == std::set<std::string>{"g"});
    h.client->stop();
    CHECK(h.client->joined_groups() == std::set<std::string>{"g"});
    h.events.clear();
    h.connect("c9");
    CHECK(h.sent()["type"] == "joinGroup");
    CHECK(h.sent()["group"] == "g");
    CHECK(h.socks.last().sent.size() == 1);  // "secret" is not asked for
    CHECK(h.events.empty());                 // connected waits for the rejoin
    h.ack(h.sent()["ackId"].get<uint64_t>());
    CHECK(h.events == std::vector<std::string>{"connected:c9"});
}

TEST_CASE("keep_alive_timeout_ms = 0 turns the receive timeout off, pings keep going", "[client][spec]") {
    ClientOptions o;
    o.keep_alive_interval_ms = 1000;
    o.keep_alive_timeout_ms = 0;
    Harness h(o);
    h.connect();
    h.sched.advance(10 * 60 * 1000);
    CHECK(h.client->status().state == ClientState::Connected);
    CHECK(h.disconnects.empty());
    CHECK(h.sent()["type"] == "ping");
}

TEST_CASE("an ackId still waiting for its ack cannot be reused, the first send keeps its callback", "[client][spec]") {
    Harness h(no_keepalive());
    h.connect();
    std::vector<std::string> got;
    SendOptions o;
    o.ackId = 7;
    h.client->send_to_group("g", "first", DataType::Text, o, [&](const SendResult& r) { got.push_back(r.ok ? "first:ok" : "first:" + r.error.name); });
    h.client->send_to_group("g", "second", DataType::Text, o, [&](const SendResult& r) { got.push_back(r.ok ? "second:ok" : "second:" + r.error.name); });
    CHECK(got == std::vector<std::string>{"second:AckIdInUse"});
    // Generated ackIds skip the one the application picked.
    for (int i = 0; i < 8; ++i) h.client->send_event("e", "x", DataType::Text);
    std::set<uint64_t> ids;
    for (const auto& text : h.socks.last().sent) ids.insert(json::parse(text)["ackId"].get<uint64_t>());
    CHECK(ids.size() == 9);
    h.ack(7);
    CHECK(got == std::vector<std::string>{"second:AckIdInUse", "first:ok"});
}

TEST_CASE("a recovery the service accepts and then closes with 1008 never shows as Connected", "[client][spec]") {
    Harness h(no_keepalive());
    std::vector<ClientState> states;
    h.client->events().status_changed = [&](const ClientStatus& s) { states.push_back(s.state); };
    h.connect();
    h.socks.drop(1006);
    REQUIRE(h.client->status().state == ClientState::Recovering);
    const auto sockets = h.socks.all.size();
    h.sched.advance(1);
    REQUIRE(h.socks.all.size() == sockets + 1);
    states.clear();
    h.socks.open();                       // the recovery socket is accepted...
    h.socks.drop(1008, "session gone");   // ...and closed before any connected frame
    for (auto s : states) CHECK(s != ClientState::Connected);
    CHECK(h.disconnects.size() == 1);
}

TEST_CASE("disconnected fires for a connection that opened but never saw its connected frame", "[client][spec]") {
    ClientOptions o = no_keepalive();
    o.protocol = kJsonProtocol;
    Harness h(o);
    REQUIRE(h.client->start());
    h.socks.open();
    h.socks.drop(1011, "server error");
    REQUIRE(h.disconnects.size() == 1);
    CHECK(h.disconnects[0].code == 1011);
    CHECK(h.disconnects[0].connectionId.empty());
}
