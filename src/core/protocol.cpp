// protocol.cpp - see protocol.hpp.
#include "protocol.hpp"

#include "base64.hpp"
#include "json_limits.hpp"

namespace wps {

const char* to_string(DataType t) {
    switch (t) {
    case DataType::Json: return "json";
    case DataType::Text: return "text";
    case DataType::Binary: return "binary";
    case DataType::Protobuf: return "protobuf";
    }
    return "json";
}

std::optional<DataType> parse_data_type(std::string_view s) {
    if (s == "json") return DataType::Json;
    if (s == "text") return DataType::Text;
    if (s == "binary") return DataType::Binary;
    if (s == "protobuf") return DataType::Protobuf;
    return std::nullopt;
}

bool data_matches_type(DataType type, const json& data, bool from_service) {
    switch (type) {
    case DataType::Json: return !data.is_discarded() && (from_service || !data.is_null());
    case DataType::Text: return data.is_string();
    case DataType::Binary: return data.is_string() && base64_valid(data.get_ref<const std::string&>());
    case DataType::Protobuf: return false;  // protobuf.webpubsub.azure.v1 only, never in JSON frames
    }
    return false;
}

namespace {

void put_ack(json& j, const std::optional<uint64_t>& ackId) {
    if (ackId) j["ackId"] = *ackId;
}

struct ClientEncoder {
    json operator()(const JoinGroupFrame& f) const {
        json j{{"type", "joinGroup"}, {"group", f.group}};
        put_ack(j, f.ackId);
        return j;
    }
    json operator()(const LeaveGroupFrame& f) const {
        json j{{"type", "leaveGroup"}, {"group", f.group}};
        put_ack(j, f.ackId);
        return j;
    }
    json operator()(const SendToGroupFrame& f) const {
        json j{{"type", "sendToGroup"}, {"group", f.group}, {"dataType", to_string(f.dataType)}, {"data", f.data}};
        put_ack(j, f.ackId);
        if (f.noEcho) j["noEcho"] = true;
        return j;
    }
    json operator()(const EventFrame& f) const {
        json j{{"type", "event"}, {"event", f.event}, {"dataType", to_string(f.dataType)}, {"data", f.data}};
        put_ack(j, f.ackId);
        return j;
    }
    json operator()(const SequenceAckFrame& f) const { return json{{"type", "sequenceAck"}, {"sequenceId", f.sequenceId}}; }
    json operator()(const PingFrame&) const { return json{{"type", "ping"}}; }
};

struct ServiceEncoder {
    json operator()(const AckFrame& f) const {
        json j{{"type", "ack"}, {"ackId", f.ackId}, {"success", f.success}};
        if (f.error) j["error"] = json{{"name", f.error->name}, {"message", f.error->message}};
        return j;
    }
    json operator()(const MessageFrame& f) const {
        json j;
        if (f.sequenceId) j["sequenceId"] = *f.sequenceId;
        j["type"] = "message";
        j["from"] = f.fromGroup ? "group" : "server";
        if (f.fromGroup) {
            j["group"] = f.group;
            j["fromUserId"] = f.fromUserId ? json(*f.fromUserId) : json(nullptr);
        }
        j["dataType"] = to_string(f.dataType);
        j["data"] = f.data;
        return j;
    }
    json operator()(const ConnectedFrame& f) const {
        json j{{"type", "system"}, {"event", "connected"}, {"connectionId", f.connectionId}};
        j["userId"] = f.userId ? json(*f.userId) : json(nullptr);
        if (f.reconnectionToken) j["reconnectionToken"] = *f.reconnectionToken;
        return j;
    }
    json operator()(const DisconnectedFrame& f) const {
        return json{{"type", "system"}, {"event", "disconnected"}, {"message", f.message}};
    }
    json operator()(const PongFrame&) const { return json{{"type", "pong"}}; }
    json operator()(const UnknownFrame& f) const { return json{{"type", f.type}}; }
};

// Peer text quoted in an error message, cut to 32 bytes (errors end up in close reasons and logs).
std::string quote_peer(const std::string& text) {
    if (text.size() <= 32) return "'" + text + "'";
    std::size_t n = 32;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    return "'" + text.substr(0, n) + "...'";
}

// Field readers: each returns false (and sets err) when a present field has the wrong type.
bool read_string(const json& j, const char* key, std::string& out, std::string& err, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) err = std::string("missing '") + key + "'";
        return !required;
    }
    if (!it->is_string()) { err = std::string("'") + key + "' must be a string"; return false; }
    out = it->get<std::string>();
    return true;
}

bool read_u64(const json& j, const char* key, std::optional<uint64_t>& out, std::string& err) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_number_unsigned()) {
        if (it->is_number_integer() && it->get<int64_t>() >= 0) { out = it->get<uint64_t>(); return true; }
        err = std::string("'") + key + "' must be an unsigned integer";
        return false;
    }
    out = it->get<uint64_t>();
    return true;
}

// `invalid` is set when the frame is well formed but the data does not fit (the service answers
// that with close code 1007, invalid payload data).
// `data` is moved out of `j` (a frame's data may be large; the frame is not used after).
bool read_data(json& j, DataType& type, json& data, std::string& err, bool from_service, bool& invalid) {
    std::string dt = "json";
    if (!read_string(j, "dataType", dt, err, false)) return false;
    auto parsed = parse_data_type(dt);
    if (!parsed || *parsed == DataType::Protobuf) {
        err = "unknown dataType " + quote_peer(dt) + " (json, text or binary)";
        invalid = true;
        return false;
    }
    type = *parsed;
    auto it = j.find("data");
    if (it == j.end()) { err = "missing 'data'"; return false; }
    data = std::move(*it);
    if (!data_matches_type(type, data, from_service)) {
        err = "'data' does not match dataType " + quote_peer(dt);
        invalid = true;
        return false;
    }
    return true;
}

template <class Frame>
Decoded<Frame> fail(std::string why) { return Decoded<Frame>{std::nullopt, std::move(why)}; }

json parse_object(std::string_view text, std::string& err, std::size_t max_bytes) {
    if (text.size() > max_bytes) { err = "frame exceeds " + std::to_string(max_bytes / (1024 * 1024)) + " MB"; return json(); }
    json j = parse_json_bounded(text, &err);
    if (j.is_discarded()) return json();
    if (!j.is_object()) { err = "frame must be a JSON object"; return json(); }
    auto t = j.find("type");
    if (t == j.end() || !t->is_string()) { err = "frame has no string 'type'"; return json(); }
    return j;
}

} // namespace

// Strings that are not valid UTF-8 (a group name from a URL, say) are replaced, never thrown on.
std::string encode(const ClientFrame& f) { return std::visit(ClientEncoder{}, f).dump(-1, ' ', false, json::error_handler_t::replace); }
std::string encode(const ServiceFrame& f) { return std::visit(ServiceEncoder{}, f).dump(-1, ' ', false, json::error_handler_t::replace); }

Decoded<ClientFrame> decode_client_frame(std::string_view text) {
    std::string err;
    bool invalid = false;
    auto bad_data = [&] { return Decoded<ClientFrame>{std::nullopt, err, invalid}; };
    json j = parse_object(text, err, kMaxFrameBytes);
    if (!err.empty()) return fail<ClientFrame>(err);
    const std::string type = j["type"].get<std::string>();
    std::optional<uint64_t> ackId;
    if (!read_u64(j, "ackId", ackId, err)) return fail<ClientFrame>(err);

    if (type == "joinGroup" || type == "leaveGroup") {
        std::string group;
        if (!read_string(j, "group", group, err, true)) return fail<ClientFrame>(err);
        if (type == "joinGroup") return {ClientFrame{JoinGroupFrame{group, ackId}}, {}};
        return {ClientFrame{LeaveGroupFrame{group, ackId}}, {}};
    }
    if (type == "sendToGroup") {
        SendToGroupFrame f;
        f.ackId = ackId;
        if (!read_string(j, "group", f.group, err, true)) return fail<ClientFrame>(err);
        auto ne = j.find("noEcho");
        if (ne != j.end() && !ne->is_null()) {
            if (!ne->is_boolean()) return fail<ClientFrame>("'noEcho' must be a boolean");
            f.noEcho = ne->get<bool>();
        }
        if (!read_data(j, f.dataType, f.data, err, false, invalid)) return bad_data();
        return {ClientFrame{std::move(f)}, {}};
    }
    if (type == "event") {
        EventFrame f;
        f.ackId = ackId;
        if (!read_string(j, "event", f.event, err, true)) return fail<ClientFrame>(err);
        if (!read_data(j, f.dataType, f.data, err, false, invalid)) return bad_data();
        return {ClientFrame{std::move(f)}, {}};
    }
    if (type == "sequenceAck") {
        std::optional<uint64_t> seq;
        if (!read_u64(j, "sequenceId", seq, err)) return fail<ClientFrame>(err);
        if (!seq) return fail<ClientFrame>("missing 'sequenceId'");
        return {ClientFrame{SequenceAckFrame{*seq}}, {}};
    }
    if (type == "ping") return {ClientFrame{PingFrame{}}, {}};
    return fail<ClientFrame>("unknown frame type " + quote_peer(type));
}

Decoded<ServiceFrame> decode_service_frame(std::string_view text) {
    std::string err;
    bool invalid = false;
    json j = parse_object(text, err, kMaxServiceFrameBytes);
    if (!err.empty()) return fail<ServiceFrame>(err);
    const std::string type = j["type"].get<std::string>();

    if (type == "ack") {
        AckFrame f;
        std::optional<uint64_t> ackId;
        if (!read_u64(j, "ackId", ackId, err)) return fail<ServiceFrame>(err);
        if (!ackId) return fail<ServiceFrame>("ack without 'ackId'");
        f.ackId = *ackId;
        auto s = j.find("success");
        if (s == j.end() || !s->is_boolean()) return fail<ServiceFrame>("ack without boolean 'success'");
        f.success = s->get<bool>();
        auto e = j.find("error");
        if (e != j.end() && e->is_object()) {
            ErrorDetail d;
            if (!read_string(*e, "name", d.name, err, false) || !read_string(*e, "message", d.message, err, false))
                return fail<ServiceFrame>(err);
            f.error = d;
        }
        return {ServiceFrame{std::move(f)}, {}};
    }
    if (type == "message") {
        MessageFrame f;
        std::string from;
        if (!read_string(j, "from", from, err, true)) return fail<ServiceFrame>(err);
        if (from != "group" && from != "server") return fail<ServiceFrame>("unknown 'from' value " + quote_peer(from));
        f.fromGroup = from == "group";
        if (f.fromGroup && !read_string(j, "group", f.group, err, true)) return fail<ServiceFrame>(err);
        std::string user;
        auto u = j.find("fromUserId");
        if (u != j.end() && u->is_string()) f.fromUserId = u->get<std::string>();
        if (!read_u64(j, "sequenceId", f.sequenceId, err)) return fail<ServiceFrame>(err);
        if (!read_data(j, f.dataType, f.data, err, true, invalid)) return Decoded<ServiceFrame>{std::nullopt, err, invalid};
        return {ServiceFrame{std::move(f)}, {}};
    }
    if (type == "system") {
        std::string event;
        if (!read_string(j, "event", event, err, true)) return fail<ServiceFrame>(err);
        if (event == "connected") {
            ConnectedFrame f;
            if (!read_string(j, "connectionId", f.connectionId, err, true)) return fail<ServiceFrame>(err);
            auto u = j.find("userId");
            if (u != j.end() && u->is_string()) f.userId = u->get<std::string>();
            auto t = j.find("reconnectionToken");
            if (t != j.end() && t->is_string()) f.reconnectionToken = t->get<std::string>();
            return {ServiceFrame{std::move(f)}, {}};
        }
        if (event == "disconnected") {
            DisconnectedFrame f;
            if (!read_string(j, "message", f.message, err, false)) return fail<ServiceFrame>(err);
            return {ServiceFrame{std::move(f)}, {}};
        }
        return {ServiceFrame{UnknownFrame{"system." + event}}, {}};
    }
    if (type == "pong") return {ServiceFrame{PongFrame{}}, {}};
    return {ServiceFrame{UnknownFrame{type}}, {}};
}

} // namespace wps
