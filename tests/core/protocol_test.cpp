#include "core/protocol.hpp"
#include "core/base64.hpp"
#include "core/json_limits.hpp"

#include <catch2/catch.hpp>

using namespace wps;

TEST_CASE("base64 round-trips both alphabets and rejects junk", "[protocol]") {
    const std::string bytes("\x00\x01\x02\xfe\xff", 5);
    CHECK(base64_encode(bytes) == "AAEC/v8=");
    CHECK(base64_encode(bytes, true) == "AAEC_v8");
    CHECK(base64_decode("AAEC/v8=").value() == bytes);
    CHECK(base64_decode("AAEC_v8").value() == bytes);
    CHECK_FALSE(base64_decode("AA*C").has_value());
    CHECK(base64_encode("") == "");
}

TEST_CASE("client frames encode as the service expects", "[protocol]") {
    CHECK(json::parse(encode(ClientFrame{JoinGroupFrame{"room1", 1}})) ==
          json::parse(R"({"type":"joinGroup","group":"room1","ackId":1})"));
    CHECK(json::parse(encode(ClientFrame{LeaveGroupFrame{"room1", std::nullopt}})) ==
          json::parse(R"({"type":"leaveGroup","group":"room1"})"));
    CHECK(json::parse(encode(ClientFrame{SendToGroupFrame{"g", 3, true, DataType::Text, "hi"}})) ==
          json::parse(R"({"type":"sendToGroup","group":"g","ackId":3,"noEcho":true,"dataType":"text","data":"hi"})"));
    CHECK(json::parse(encode(ClientFrame{EventFrame{"typing", std::nullopt, DataType::Json, json{{"a", 1}}}})) ==
          json::parse(R"({"type":"event","event":"typing","dataType":"json","data":{"a":1}})"));
    CHECK(json::parse(encode(ClientFrame{SequenceAckFrame{42}})) == json::parse(R"({"type":"sequenceAck","sequenceId":42})"));
    CHECK(json::parse(encode(ClientFrame{PingFrame{}})) == json::parse(R"({"type":"ping"})"));
}

TEST_CASE("client frames decode back (server side)", "[protocol]") {
    auto d = decode_client_frame(R"({"type":"sendToGroup","group":"g","ackId":5,"dataType":"binary","data":"AAECAw=="})");
    REQUIRE(d);
    auto& f = std::get<SendToGroupFrame>(*d.frame);
    CHECK(f.group == "g");
    CHECK(f.ackId == 5u);
    CHECK(f.dataType == DataType::Binary);
    CHECK_FALSE(f.noEcho);

    auto j = decode_client_frame(R"({"type":"joinGroup","group":"room"})");
    REQUIRE(j);
    CHECK_FALSE(std::get<JoinGroupFrame>(*j.frame).ackId.has_value());
}

TEST_CASE("bad client frames are refused with a reason", "[protocol]") {
    CHECK(decode_client_frame("{not json").error == "malformed JSON");
    CHECK(decode_client_frame("[1,2]").error == "frame must be a JSON object");
    CHECK(decode_client_frame(R"({"group":"g"})").error == "frame has no string 'type'");
    CHECK(decode_client_frame(R"({"type":"joinGroup"})").error == "missing 'group'");
    CHECK(decode_client_frame(R"({"type":"joinGroup","group":"g","ackId":-1})").error ==
          "'ackId' must be an unsigned integer");
    CHECK(decode_client_frame(R"({"type":"sendToGroup","group":"g","dataType":"text","data":5})").error ==
          "'data' does not match dataType 'text'");
    CHECK(decode_client_frame(R"({"type":"sendToGroup","group":"g","dataType":"binary","data":"**"})").error ==
          "'data' does not match dataType 'binary'");
    CHECK(decode_client_frame(R"({"type":"sendToGroup","group":"g","dataType":"xml","data":"x"})").error ==
          "unknown dataType 'xml' (json, text or binary)");
    CHECK(decode_client_frame(R"({"type":"sendToGroup","group":"g"})").error == "missing 'data'");
    CHECK(decode_client_frame(R"({"type":"teleport"})").error == "unknown frame type 'teleport'");
    std::string big = R"({"type":"event","event":"e","dataType":"text","data":")" + std::string(kMaxFrameBytes, 'x') + "\"}";
    CHECK(decode_client_frame(big).error == "frame exceeds 1 MB");
}

TEST_CASE("service frames round-trip", "[protocol]") {
    ServiceFrame frames[] = {
        AckFrame{7, false, ErrorDetail{"Forbidden", "no"}},
        AckFrame{8, true, std::nullopt},
        MessageFrame{true, "room", std::string("alice"), DataType::Json, json{{"x", 1}}, 9},
        MessageFrame{false, "", std::nullopt, DataType::Text, "hello", std::nullopt},
        ConnectedFrame{std::string("bob"), "conn1", std::string("tok")},
        DisconnectedFrame{"bye"},
        PongFrame{},
    };
    for (const auto& f : frames) {
        auto d = decode_service_frame(encode(f));
        REQUIRE(d);
        CHECK(d.frame->index() == f.index());
        CHECK(encode(*d.frame) == encode(f));
    }
}

TEST_CASE("service frames match the documented wire shape", "[protocol]") {
    auto d = decode_service_frame(
        R"({"sequenceId":7,"type":"message","from":"group","group":"room1","fromUserId":"alice","dataType":"json","data":{"hello":"world"}})");
    REQUIRE(d);
    auto& m = std::get<MessageFrame>(*d.frame);
    CHECK(m.fromGroup);
    CHECK(m.group == "room1");
    CHECK(m.fromUserId == std::string("alice"));
    CHECK(m.sequenceId == 7u);
    CHECK(m.data["hello"] == "world");

    auto c = decode_service_frame(R"({"type":"system","event":"connected","userId":null,"connectionId":"abc"})");
    REQUIRE(c);
    CHECK_FALSE(std::get<ConnectedFrame>(*c.frame).userId.has_value());

    auto a = decode_service_frame(R"({"type":"ack","ackId":1,"success":false,"error":{"name":"Duplicate","message":"m"}})");
    REQUIRE(a);
    CHECK(std::get<AckFrame>(*a.frame).error->name == "Duplicate");
}

TEST_CASE("unknown service frames are tolerated", "[protocol]") {
    auto d = decode_service_frame(R"({"type":"invokeResponse","invocationId":"1"})");
    REQUIRE(d);
    CHECK(std::get<UnknownFrame>(*d.frame).type == "invokeResponse");
    auto s = decode_service_frame(R"({"type":"system","event":"future"})");
    REQUIRE(s);
    CHECK(std::get<UnknownFrame>(*s.frame).type == "system.future");
    CHECK_FALSE(decode_service_frame(R"({"type":"ack","success":true})"));
}

#include "core/url.hpp"

TEST_CASE("URL helpers: percent-encoding both ways and splitting", "[protocol]") {
    CHECK(wps::url_encode("conversation:demo") == "conversation%3Ademo");
    CHECK(wps::url_encode("a b/é") == "a%20b%2F%C3%A9");
    CHECK(wps::url_decode("a%20b%2F%C3%A9", false) == "a b/é");
    CHECK(wps::url_decode("a+b", true) == "a b");
    CHECK(wps::url_decode("a+b", false) == "a+b");
    CHECK(wps::url_decode("bad%zz%2", false) == "bad%zz%2");
    wps::Url u;
    REQUIRE(wps::parse_url("wss://h.example/client/hubs/chat?x=1", u));
    CHECK(u.host == "h.example");
    CHECK(u.port == "443");
    CHECK(u.target == "/client/hubs/chat?x=1");
    CHECK(u.secure());
    REQUIRE(wps::parse_url("http://127.0.0.1:8080", u));
    CHECK(u.port == "8080");
    CHECK(u.target == "/");
    CHECK_FALSE(wps::parse_url("ftp://x/", u));
    CHECK_FALSE(wps::parse_url("no scheme", u));
}

TEST_CASE("JSON nested past the bound is refused before any value is built", "[protocol][security]") {
    // 100,000 levels used to overflow the stack on the first recursive copy (native and wasm).
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    std::string why;
    CHECK(parse_json_bounded(deep, &why).is_discarded());
    CHECK(why == "JSON nested deeper than 64 levels");
    const std::string frame = R"({"type":"event","event":"e","dataType":"json","data":)" + deep + "}";
    auto c = decode_client_frame(frame);
    REQUIRE_FALSE(c);
    CHECK(c.error == "JSON nested deeper than 64 levels");
    const std::string message = R"({"type":"message","from":"server","dataType":"json","data":)" + deep + "}";
    CHECK_FALSE(decode_service_frame(message));

    // The bound itself: 64 levels in all parse, 65 do not; brackets inside strings do not count.
    auto nest = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
    CHECK(json_nesting_depth(nest(64)) == 64);
    CHECK_FALSE(parse_json_bounded(nest(64)).is_discarded());
    CHECK(parse_json_bounded(nest(65)).is_discarded());
    CHECK(json_nesting_depth(R"(["[[[[\"[[[", {"a": "}}}]]]"}])") == 2);
    CHECK(parse_json_bounded(R"({"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})").is_object());
}

TEST_CASE("typed reads of untrusted JSON never throw", "[protocol][security]") {
    const json j = json::parse(R"({"s":5,"u":-1,"b":"yes","ok":"x","n":7,"t":true})");
    CHECK(string_or(j, "s", "d") == "d");
    CHECK(string_or(j, "ok") == "x");
    CHECK(u64_or(j, "u", 3) == 3);
    CHECK(u64_or(j, "n") == 7);
    CHECK(bool_or(j, "b", true));
    CHECK(bool_or(j, "t"));
    CHECK(string_or(json::array(), "s", "d") == "d");
    CHECK(u64_or(json(5), "n", 1) == 1);
}

TEST_CASE("dataType rules of the JSON subprotocols: null json from the service, no protobuf, 1007 cases flagged", "[protocol]") {
    // The service may send json null; a client may not.
    auto m = decode_service_frame(R"({"type":"message","from":"server","dataType":"json","data":null})");
    REQUIRE(m);
    CHECK(std::get<MessageFrame>(*m.frame).data.is_null());
    auto c = decode_client_frame(R"({"type":"event","event":"e","dataType":"json","data":null})");
    CHECK_FALSE(c);
    CHECK(c.invalid_data);
    // protobuf belongs to protobuf.webpubsub.azure.v1 only.
    for (const char* text : {R"({"type":"sendToGroup","group":"g","dataType":"protobuf","data":"AAEC"})",
                             R"({"type":"event","event":"e","dataType":"protobuf","data":"AAEC"})"}) {
        auto d = decode_client_frame(text);
        CHECK_FALSE(d);
        CHECK(d.invalid_data);
    }
    CHECK_FALSE(decode_service_frame(R"({"type":"message","from":"server","dataType":"protobuf","data":"AAEC"})"));
    // Data that does not fit its type is flagged; a malformed frame is not.
    auto t = decode_client_frame(R"({"type":"sendToGroup","group":"g","dataType":"text","data":5})");
    CHECK(t.invalid_data);
    auto b = decode_client_frame(R"({"type":"sendToGroup","group":"g","dataType":"binary","data":"not base64!"})");
    CHECK(b.invalid_data);
    CHECK_FALSE(decode_client_frame(R"({"type":"sendToGroup","dataType":"text","data":"x"})").invalid_data);
    // Frames from the service above the client's 1 MB send limit are accepted up to 16 MB.
    const std::string big = R"({"type":"message","from":"server","dataType":"text","data":")" + std::string(3 * 1024 * 1024, 'x') + "\"}";
    CHECK(decode_service_frame(big));
    CHECK_FALSE(decode_client_frame(big));
}
