// fuzz_codec - the Web PubSub frame codec (src/core/protocol.hpp), both directions.
//
// Input: any bytes, taken as one WebSocket text frame. Invariants checked for every input:
//  - decode_client_frame / decode_service_frame never throw; a refusal always has a reason;
//  - a decoded frame re-encodes to text that decodes again to the same kind of frame, and encoding
//    that second frame gives the same text (encode . decode is a fixed point after one step);
//  - the data of a decoded frame matches its dataType;
//  - the encoder never throws on strings that are not UTF-8 (group names and user ids come from
//    URLs and tokens): what it produces decodes, and keeps valid UTF-8 strings unchanged.
#include "fuzz_common.hpp"

#include "core/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace wps;

namespace {

std::string describe(std::string_view s) {
    std::string out(s.substr(0, 400));
    if (s.size() > 400) out += "...";
    return out;
}

bool is_utf8(const std::string& s) {
    try {
        (void)json(s).dump();
        return true;
    } catch (const json::exception&) {
        return false;
    }
}

template <class Frame>
void check_data(const Frame& f) {
    if constexpr (std::is_same_v<Frame, SendToGroupFrame> || std::is_same_v<Frame, EventFrame> ||
                  std::is_same_v<Frame, MessageFrame>)
        FUZZ_CHECK(data_matches_type(f.dataType, f.data, std::is_same_v<Frame, MessageFrame>), "decoded data does not match dataType " + std::string(to_string(f.dataType)));
}

template <class Variant, class Decode>
void roundtrip(const Variant& first, Decode decode, const char* side) {
    std::visit([](const auto& f) { check_data(f); }, first);
    const std::string e1 = encode(first);
    auto again = decode(e1);
    FUZZ_CHECK(again.frame.has_value(), std::string(side) + " frame did not decode after encoding: " + again.error + "\n  text: " + describe(e1));
    FUZZ_CHECK(again.frame->index() == first.index(), std::string(side) + " frame changed kind after a round trip: " + describe(e1));
    const std::string e2 = encode(*again.frame);
    FUZZ_CHECK(e1 == e2, std::string(side) + " encoding is not stable:\n  first:  " + describe(e1) + "\n  second: " + describe(e2));
}

// Frames the hub builds from untrusted strings must encode without throwing and decode back.
void encode_untrusted(const std::string& raw, uint64_t n) {
    const bool utf8 = is_utf8(raw);

    auto join = decode_client_frame(encode(ClientFrame{JoinGroupFrame{raw, n}}));
    FUZZ_CHECK(join && std::holds_alternative<JoinGroupFrame>(*join.frame), "joinGroup with an untrusted name: " + join.error);
    const auto& jg = std::get<JoinGroupFrame>(*join.frame);
    FUZZ_CHECK(jg.ackId == n, "ackId changed in a joinGroup round trip");
    if (utf8) FUZZ_CHECK(jg.group == raw, "a valid UTF-8 group name changed in a round trip");

    MessageFrame m{true, raw, raw, DataType::Text, json(raw), n};
    auto msg = decode_service_frame(encode(ServiceFrame{m}));
    FUZZ_CHECK(msg && std::holds_alternative<MessageFrame>(*msg.frame), "message with untrusted strings: " + msg.error);
    const auto& mf = std::get<MessageFrame>(*msg.frame);
    FUZZ_CHECK(mf.fromGroup && mf.sequenceId == n && mf.dataType == DataType::Text, "message fields changed in a round trip");
    if (utf8) FUZZ_CHECK(mf.group == raw && mf.fromUserId == raw && mf.data == raw, "valid UTF-8 message strings changed");

    for (const ServiceFrame& f : {ServiceFrame{DisconnectedFrame{raw}}, ServiceFrame{ConnectedFrame{raw, raw, raw}},
                                  ServiceFrame{AckFrame{n, false, ErrorDetail{raw, raw}}}}) {
        auto d = decode_service_frame(encode(f));
        FUZZ_CHECK(d && d.frame->index() == f.index(), "service frame with untrusted strings: " + d.error);
        if (utf8) FUZZ_CHECK(encode(*d.frame) == encode(f), "a valid UTF-8 service frame changed in a round trip");
    }
    auto ev = decode_client_frame(encode(ClientFrame{EventFrame{raw, std::nullopt, DataType::Text, json(raw)}}));
    FUZZ_CHECK(ev && std::holds_alternative<EventFrame>(*ev.frame), "event with untrusted strings: " + ev.error);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    auto c = decode_client_frame(text);
    if (c) roundtrip(*c.frame, [](std::string_view t) { return decode_client_frame(t); }, "client");
    else FUZZ_CHECK(!c.error.empty(), "a refused client frame has no reason");

    auto s = decode_service_frame(text);
    if (s) roundtrip(*s.frame, [](std::string_view t) { return decode_service_frame(t); }, "service");
    else FUZZ_CHECK(!s.error.empty(), "a refused service frame has no reason");

    // Raw bytes as the strings of frames the hub builds (group names from URLs, user ids).
    uint64_t n = 0;
    for (std::size_t i = 0; i < size && i < 8; ++i) n = (n << 8) | data[i];
    encode_untrusted(std::string(text.substr(0, 512)), n);
    return 0;
}
