// protocol.hpp - Azure Web PubSub JSON client subprotocols: frame types and codec.
//
// Covers json.webpubsub.azure.v1 and json.reliable.webpubsub.azure.v1 in both directions, so the
// same code serves the client (encode client frames, decode service frames) and the stub server
// (the other way round). Reference: shared/docs/webpubsub-protocol.md section 1.
//
// Decoding never throws: untrusted text goes through json::parse(..., nullptr, false) and every
// field is type-checked. Unknown frame types decode to UnknownFrame (forward compatibility).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace wps {

using json = nlohmann::json;

inline constexpr const char* kJsonProtocol = "json.webpubsub.azure.v1";
inline constexpr const char* kReliableJsonProtocol = "json.reliable.webpubsub.azure.v1";
// The service refuses WebSocket messages above 1 MB from a client; the codec refuses to parse
// larger client frames. Frames from the service may be larger (the envelope around a 1 MB
// payload, base64 of binary data): the client accepts them up to kMaxServiceFrameBytes.
inline constexpr std::size_t kMaxFrameBytes = 1024 * 1024;
inline constexpr std::size_t kMaxServiceFrameBytes = 16 * 1024 * 1024;

enum class DataType { Json, Text, Binary, Protobuf };
const char* to_string(DataType t);
std::optional<DataType> parse_data_type(std::string_view s);

struct ErrorDetail {
    std::string name;     // Forbidden, InternalServerError, Duplicate, BadRequest, ... (open set)
    std::string message;
};

// ---- client -> service ---------------------------------------------------------------------
struct JoinGroupFrame { std::string group; std::optional<uint64_t> ackId; };
struct LeaveGroupFrame { std::string group; std::optional<uint64_t> ackId; };
struct SendToGroupFrame {
    std::string group;
    std::optional<uint64_t> ackId;
    bool noEcho = false;
    DataType dataType = DataType::Json;
    json data;
};
struct EventFrame {
    std::string event;
    std::optional<uint64_t> ackId;
    DataType dataType = DataType::Json;
    json data;
};
struct SequenceAckFrame { uint64_t sequenceId = 0; };
struct PingFrame {};

using ClientFrame = std::variant<JoinGroupFrame, LeaveGroupFrame, SendToGroupFrame, EventFrame,
                                 SequenceAckFrame, PingFrame>;

// ---- service -> client ---------------------------------------------------------------------
struct AckFrame {
    uint64_t ackId = 0;
    bool success = false;
    std::optional<ErrorDetail> error;
};
struct MessageFrame {
    bool fromGroup = false;            // "from": "group" or "server"
    std::string group;                 // set when fromGroup
    std::optional<std::string> fromUserId;
    DataType dataType = DataType::Json;
    json data;
    std::optional<uint64_t> sequenceId; // reliable protocol only
};
struct ConnectedFrame {
    std::optional<std::string> userId;
    std::string connectionId;
    std::optional<std::string> reconnectionToken; // reliable protocol only
};
struct DisconnectedFrame { std::string message; };
struct PongFrame {};
struct UnknownFrame { std::string type; };

using ServiceFrame = std::variant<AckFrame, MessageFrame, ConnectedFrame, DisconnectedFrame,
                                  PongFrame, UnknownFrame>;

// A decode result: either a frame or a reason the text was refused.
template <class Frame>
struct Decoded {
    std::optional<Frame> frame;
    std::string error;
    bool invalid_data = false;  // the frame was well formed but its data did not fit its dataType
    explicit operator bool() const { return frame.has_value(); }
};

std::string encode(const ClientFrame& f);
std::string encode(const ServiceFrame& f);
Decoded<ClientFrame> decode_client_frame(std::string_view text);
Decoded<ServiceFrame> decode_service_frame(std::string_view text);

// Checks that `data` fits `type` in a frame a client sends (text: string, binary: base64 string,
// json: any value but null; protobuf is not a dataType of the JSON subprotocols). Frames from the
// service may carry json null.
bool data_matches_type(DataType type, const json& data, bool from_service = false);

} // namespace wps
