// hub.cpp - see hub.hpp.
#include "hub.hpp"

#include "jwt.hpp"
#include "odata_filter.hpp"

#include "core/base64.hpp"

#include <algorithm>

namespace stub {

using namespace wps;

namespace {
constexpr int kCloseNormal = 1000;
constexpr int kCloseInvalidData = 1007;   // a frame whose data does not fit its dataType
constexpr int kClosePolicy = 1008;        // the protocol's "session gone, do not recover"
constexpr int kCloseInternalError = 1011; // a simple client's message nobody upstream handles

// What Microsoft's emulator answers when no event handler (or listener) takes a user event.
constexpr const char* kNoEventHandler = "No event handler or listener is configured.";

// Connection ids and reconnection tokens come from the CSPRNG: a reconnection token is a bearer
// credential for the session, and ids must not be guessable either.
std::string new_connection_id() { return random_token(16); }       // 22 characters
std::string new_reconnection_token() { return random_token(30); }  // 40 characters
} // namespace

ClientProtocol protocol_from_name(const std::string& name, bool& known) {
    known = true;
    if (name == kJsonProtocol) return ClientProtocol::Json;
    if (name == kReliableJsonProtocol) return ClientProtocol::ReliableJson;
    known = name.empty();
    return ClientProtocol::Simple;
}

Hub::Hub(Clock clock, HubLimits limits) : clock_(std::move(clock)), limits_(limits) {}

Hub::Conn* Hub::find(const std::string& hub, const std::string& id) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return nullptr;
    auto c = h->second.conns.find(id);
    return c == h->second.conns.end() ? nullptr : &c->second;
}
const Hub::Conn* Hub::find(const std::string& hub, const std::string& id) const {
    return const_cast<Hub*>(this)->find(hub, id);
}
Hub::Conn* Hub::find_any(const std::string& id) {
    for (auto& [name, h] : hubs_) {
        auto c = h.conns.find(id);
        if (c != h.conns.end()) return &c->second;
    }
    return nullptr;
}

// ---- connection lifecycle -------------------------------------------------------------------

bool Hub::admit(const std::string& hub, const std::string& user, std::string& error) const {
    if (user.empty()) return true;
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return true;
    auto u = h->second.users.find(user);
    if (u == h->second.users.end() || u->second.size() < limits_.max_sessions_per_user) return true;
    error = "Too many connections for this user (" + std::to_string(limits_.max_sessions_per_user) +
            ", recoverable ones included); close some first.";
    return false;
}

// A token bucket per connection for what it publishes to groups.
bool Hub::may_publish(Conn& c, std::size_t bytes) {
    const int64_t now = clock_();
    if (c.publish_tokens < 0) {
        c.publish_tokens = limits_.client_publish_burst_bytes;
        c.publish_at_ms = now;
    }
    c.publish_tokens = std::min(limits_.client_publish_burst_bytes,
                                c.publish_tokens + static_cast<double>(now - c.publish_at_ms) * limits_.client_publish_bytes_per_s / 1000.0);
    c.publish_at_ms = now;
    if (c.publish_tokens < static_cast<double>(bytes)) return false;
    c.publish_tokens -= static_cast<double>(bytes);
    return true;
}

std::string Hub::connect(const Connect& in, std::shared_ptr<ConnectionSink> sink) {
    Conn c;
    c.id = new_connection_id();
    c.hub = in.hub;
    c.userId = in.userId;
    c.protocol = in.protocol;
    c.expires_at_ms = in.expires_at_ms;
    c.roles.insert(in.roles.begin(), in.roles.end());
    c.sink = std::move(sink);
    if (c.protocol == ClientProtocol::ReliableJson) c.token = new_reconnection_token();
    HubState& h = hubs_[in.hub];
    const std::string id = c.id;
    Conn& stored = h.conns.emplace(id, std::move(c)).first->second;
    if (!stored.userId.empty()) h.users[stored.userId].insert(id);
    for (const auto& g : in.groups) join(stored, g);
    if (stored.protocol != ClientProtocol::Simple) {
        ConnectedFrame f;
        if (!stored.userId.empty()) f.userId = stored.userId;
        f.connectionId = id;
        if (!stored.token.empty()) f.reconnectionToken = stored.token;
        send_frame(stored, ServiceFrame{f});
    }
    if (on_system_event)
        on_system_event(ConnectionInfo{id, stored.userId, stored.hub, {stored.groups.begin(), stored.groups.end()}, true, stored.protocol},
                        "connected", {});
    return id;
}

bool Hub::recover(const std::string& hub, const std::string& connectionId, const std::string& token,
                  ClientProtocol protocol, std::shared_ptr<ConnectionSink> sink, std::string& error) {
    if (protocol != ClientProtocol::ReliableJson) {
        error = "Recovery needs the json.reliable.webpubsub.azure.v1 subprotocol.";
        return false;
    }
    Conn* c = find(hub, connectionId);
    if (!c || c->protocol != ClientProtocol::ReliableJson) {
        error = "Session not found: it expired or was never created.";
        return false;
    }
    if (token.empty() || !equal_secret(c->token, token)) {
        error = "Invalid reconnection token.";
        return false;
    }
    if (c->expires_at_ms && clock_() >= c->expires_at_ms) {
        // The session lives no longer than the access token that opened it.
        close(*c, kClosePolicy, "The access token expired; connect with a new one.");
        error = "The access token of this session expired; connect with a new one.";
        return false;
    }
    if (c->sink) c->sink->close(kCloseNormal, "Connection replaced by a recovered session.");
    c->sink = std::move(sink);
    c->detached_at = 0;
    c->token = new_reconnection_token();
    ConnectedFrame f;
    if (!c->userId.empty()) f.userId = c->userId;
    f.connectionId = c->id;
    f.reconnectionToken = c->token;
    c->sink->send(std::make_shared<const std::string>(encode(ServiceFrame{f})));
    for (const auto& [seq, text] : c->unacked) c->sink->send(text);  // redelivery; the client dedupes
    return true;
}

void Hub::on_socket_closed(const std::string& connectionId, const ConnectionSink* sink, bool normal_close) {
    Conn* c = find_any(connectionId);
    if (!c || c->sink.get() != sink) return;  // already replaced or removed
    c->sink.reset();
    if (c->protocol == ClientProtocol::ReliableJson && !normal_close) {
        c->detached_at = clock_();
        return;
    }
    remove(c->hub, c->id);
}

void Hub::release_sinks() {
    for (auto& [name, state] : hubs_)
        for (auto& [id, c] : state.conns) c.sink.reset();
}

void Hub::tick() {
    const int64_t now = clock_();
    std::vector<std::pair<std::string, std::string>> expired;
    for (auto& [name, h] : hubs_)
        for (auto& [id, c] : h.conns)
            if (!c.sink && c.detached_at && now - c.detached_at >= limits_.recovery_window_ms)
                expired.emplace_back(name, id);
    for (auto& [hub, id] : expired) remove(hub, id, "The session was not recovered in time.");
}

void Hub::remove(const std::string& hub, const std::string& id, const std::string& reason) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto it = h->second.conns.find(id);
    if (it == h->second.conns.end()) return;
    Conn& c = it->second;
    total_unacked_bytes_ -= c.unacked_bytes;
    for (const auto& g : c.groups) {
        auto gi = h->second.groups.find(g);
        if (gi != h->second.groups.end()) {
            gi->second.erase(id);
            if (gi->second.empty()) h->second.groups.erase(gi);
        }
    }
    if (!c.userId.empty()) {
        auto ui = h->second.users.find(c.userId);
        if (ui != h->second.users.end()) {
            ui->second.erase(id);
            if (ui->second.empty()) h->second.users.erase(ui);
        }
    }
    ConnectionInfo info{id, c.userId, c.hub, {}, false, c.protocol};
    h->second.conns.erase(it);
    if (on_system_event) on_system_event(info, "disconnected", reason);
}

void Hub::close(Conn& c, int code, const std::string& reason) {
    auto sink = std::move(c.sink);
    const std::string hub = c.hub, id = c.id;
    if (sink) {
        if (c.protocol != ClientProtocol::Simple)
            sink->send(std::make_shared<const std::string>(encode(ServiceFrame{DisconnectedFrame{reason}})));
        sink->close(code, reason);
    }
    remove(hub, id, reason);
}

// ---- frames from clients --------------------------------------------------------------------

void Hub::on_frame(const std::string& connectionId, const std::string& payload, bool binary) {
    Conn* c = find_any(connectionId);
    if (!c) return;
    if (c->protocol == ClientProtocol::Simple) {
        // Every frame is the blocking "message" event: text as text, binary as base64 (the Payload
        // convention). The service drops a client whose message event fails or that no event
        // handler takes (Microsoft's emulator closes it with 1011).
        if (!on_event) return close(*c, kCloseInternalError, kNoEventHandler);
        const Payload p = binary ? Payload{DataType::Binary, base64_encode(payload)} : Payload{DataType::Text, payload};
        const std::string error = on_event(ConnectionInfo{c->id, c->userId, c->hub, {c->groups.begin(), c->groups.end()}, true, c->protocol},
                                           "message", p);
        if (!error.empty())
            if (Conn* still = find_any(connectionId)) close(*still, kCloseInternalError, "The event handler refused the message.");
        return;
    }
    // JSON subprotocols: text frames, or UTF-8 JSON in binary frames (the service takes both).
    auto decoded = decode_client_frame(payload);
    if (!decoded) {
        // The service declines a client whose frames do not match the protocol: 1007 (invalid
        // payload data) when the data does not fit its dataType, as Microsoft's emulator does.
        close(*c, decoded.invalid_data ? kCloseInvalidData : kClosePolicy, "Invalid frame: " + decoded.error);
        return;
    }
    handle(*c, *decoded.frame, payload.size());
}

void Hub::handle(Conn& c, const ClientFrame& frame, std::size_t frame_bytes) {
    if (auto* f = std::get_if<JoinGroupFrame>(&frame)) {
        if (f->ackId && is_duplicate(c, *f->ackId)) return;
        if (f->group.empty() || f->group.size() > 1024) return ack(c, f->ackId, "BadRequest", "Invalid group name.");
        if (!allowed(c, "webpubsub.joinLeaveGroup", f->group))
            return ack(c, f->ackId, "Forbidden", "The connection has no permission to join group '" + f->group + "'.");
        join(c, f->group);
        remember(c, f->ackId);
        return ack(c, f->ackId);
    }
    if (auto* f = std::get_if<LeaveGroupFrame>(&frame)) {
        if (f->ackId && is_duplicate(c, *f->ackId)) return;
        if (!allowed(c, "webpubsub.joinLeaveGroup", f->group))
            return ack(c, f->ackId, "Forbidden", "The connection has no permission to leave group '" + f->group + "'.");
        leave(c, f->group);
        remember(c, f->ackId);
        return ack(c, f->ackId);
    }
    if (auto* f = std::get_if<SendToGroupFrame>(&frame)) {
        if (f->ackId && is_duplicate(c, *f->ackId)) return;
        if (!allowed(c, "webpubsub.sendToGroup", f->group))
            return ack(c, f->ackId, "Forbidden", "The connection has no permission to send to group '" + f->group + "'.");
        if (!may_publish(c, frame_bytes))  // charged by the frame as received: nothing re-serialised
            return ack(c, f->ackId, "Throttled", "The connection publishes faster than the stub allows; slow down.");
        remember(c, f->ackId);
        const std::string hub = c.hub, self = c.id, from = c.userId;
        const auto ackId = f->ackId;
        Publication m{MessageFrame{true, f->group, from.empty() ? std::nullopt : std::optional<std::string>(from), f->dataType,
                                   f->data, std::nullopt}};
        auto& h = hubs_[hub];
        auto g = h.groups.find(f->group);
        if (g != h.groups.end()) {
            const std::set<std::string> members = g->second;  // delivery may close slow consumers
            for (const auto& id : members) {
                if (f->noEcho && id == self) continue;
                if (Conn* target = find(hub, id)) deliver(*target, m);
            }
        }
        if (Conn* me = find(hub, self)) ack(*me, ackId);
        return;
    }
    if (auto* f = std::get_if<EventFrame>(&frame)) {
        if (f->ackId && is_duplicate(c, *f->ackId)) return;
        // No event handler configured: the event cannot be delivered, which Microsoft's emulator
        // acknowledges as InternalServerError (the connection stays; the ackId is not remembered).
        if (!on_event) return ack(c, f->ackId, "InternalServerError", kNoEventHandler);
        const std::string self = c.id;
        const auto ackId = f->ackId;
        ConnectionInfo info{c.id, c.userId, c.hub, {c.groups.begin(), c.groups.end()}, true, c.protocol};
        const std::string error = on_event(info, f->event, Payload{f->dataType, f->data});
        Conn* me = find_any(self);  // the handler may have closed it
        if (!me) return;
        if (!error.empty()) return ack(*me, ackId, error, "The event handler refused the event.");
        remember(*me, ackId);
        return ack(*me, ackId);
    }
    if (auto* f = std::get_if<SequenceAckFrame>(&frame)) {
        while (!c.unacked.empty() && c.unacked.front().first <= f->sequenceId) {
            c.unacked_bytes -= c.unacked.front().second->size();
            total_unacked_bytes_ -= c.unacked.front().second->size();
            c.unacked.pop_front();
        }
        return;
    }
    if (std::get_if<PingFrame>(&frame)) send_frame(c, ServiceFrame{PongFrame{}});
}

bool Hub::is_duplicate(Conn& c, uint64_t ackId) {
    if (!c.ack_ids.count(ackId)) return false;
    ack(c, ackId, "Duplicate", "Message with ack-id: " + std::to_string(ackId) + " has been processed");
    return true;
}

// Only processed requests count for duplicate detection: a refused one may be retried.
void Hub::remember(Conn& c, std::optional<uint64_t> ackId) {
    if (!ackId || c.ack_ids.count(*ackId)) return;
    c.ack_ids.insert(*ackId);
    c.ack_order.push_back(*ackId);
    if (c.ack_order.size() > limits_.max_remembered_ack_ids) {
        c.ack_ids.erase(c.ack_order.front());
        c.ack_order.pop_front();
    }
}

void Hub::ack(Conn& c, std::optional<uint64_t> ackId, const std::string& error, const std::string& message) {
    if (!ackId) return;
    AckFrame a{*ackId, error.empty() || error == "Duplicate" ? error.empty() : false, std::nullopt};
    if (!error.empty()) a.error = ErrorDetail{error, message};
    send_frame(c, ServiceFrame{a});
}

// Wildcard group patterns of the newer roles: '?' one character except '.', '*' any run without
// '.', '**' any run including '.', '\\' escapes the next character.
bool group_pattern_match(std::string_view p, std::string_view s) {
    if (p.empty()) return s.empty();
    if (p[0] == '\\' && p.size() > 1) return !s.empty() && s[0] == p[1] && group_pattern_match(p.substr(2), s.substr(1));
    if (p.size() > 1 && p[0] == '*' && p[1] == '*') {
        for (std::size_t i = 0; i <= s.size(); ++i)
            if (group_pattern_match(p.substr(2), s.substr(i))) return true;
        return false;
    }
    if (p[0] == '*') {
        for (std::size_t i = 0; i <= s.size(); ++i) {
            if (group_pattern_match(p.substr(1), s.substr(i))) return true;
            if (i < s.size() && s[i] == '.') break;
        }
        return false;
    }
    if (p[0] == '?') return !s.empty() && s[0] != '.' && group_pattern_match(p.substr(1), s.substr(1));
    return !s.empty() && s[0] == p[0] && group_pattern_match(p.substr(1), s.substr(1));
}

bool Hub::allowed(const Conn& c, const std::string& role, const std::string& group) const {
    if (c.roles.count(role) || c.roles.count(role + "." + group)) return true;
    // webpubsub.joinLeaveGroup -> webpubsub.joinLeaveGroups.{pattern}; same for sendToGroup(s).
    const std::string wildcard = role + "s.";
    for (const std::string& r : c.roles) {
        if (r.compare(0, wildcard.size(), wildcard) != 0) continue;
        const std::string_view pattern = std::string_view(r).substr(wildcard.size());
        if (std::count(pattern.begin(), pattern.end(), '*') <= 5 && group_pattern_match(pattern, group)) return true;
    }
    return false;
}

void Hub::join(Conn& c, const std::string& group) {
    c.groups.insert(group);
    hubs_[c.hub].groups[group].insert(c.id);
}

void Hub::leave(Conn& c, const std::string& group) {
    c.groups.erase(group);
    auto& groups = hubs_[c.hub].groups;
    auto g = groups.find(group);
    if (g == groups.end()) return;
    g->second.erase(c.id);
    if (g->second.empty()) groups.erase(g);
}

// ---- delivery -------------------------------------------------------------------------------

void Hub::send_frame(Conn& c, const ServiceFrame& frame) {
    if (c.sink) c.sink->send(std::make_shared<const std::string>(encode(frame)));
}

void Hub::deliver(Conn& c, const MessageFrame& frame) {
    Publication pub{frame};
    deliver(c, pub);
}

// One publication reaches many connections: it is serialised once, lazily per protocol. The json
// protocol's frame is shared as it is; the reliable protocol's is that text with the connection's
// sequenceId added as the last member (one copy, no re-serialisation); simple clients share the
// data itself.
void Hub::deliver(Conn& c, Publication& pub) {
    const MessageFrame& frame = pub.frame;
    if (c.protocol == ClientProtocol::Simple) {
        // A simple client gets the data itself: binary in a binary frame, text as it is, json as
        // its serialisation (both in text frames).
        if (!c.sink) return;
        if (!pub.simple_done) {
            pub.simple_done = true;
            if (frame.dataType == DataType::Binary && frame.data.is_string())
                if (auto bytes = base64_decode(frame.data.get_ref<const std::string&>()))
                    pub.simple_binary = std::make_shared<const std::string>(std::move(*bytes));
            if (!pub.simple_binary)
                pub.simple_text = std::make_shared<const std::string>(
                    frame.data.is_string() ? frame.data.get<std::string>() : frame.data.dump(-1, ' ', false, json::error_handler_t::replace));
        }
        if (pub.simple_binary) return c.sink->send_binary(pub.simple_binary);
        c.sink->send(pub.simple_text);
        return;
    }
    if (!pub.json_text) {
        MessageFrame unsequenced = frame;
        unsequenced.sequenceId.reset();
        pub.json_text = std::make_shared<const std::string>(encode(ServiceFrame{unsequenced}));
    }
    if (c.protocol == ClientProtocol::Json) {
        if (c.sink) c.sink->send(pub.json_text);
        return;
    }
    const uint64_t seq = c.next_seq++;
    const std::string& base = *pub.json_text;  // a JSON object: "{...}"
    char member[40];
    const int n = std::snprintf(member, sizeof member, ",\"sequenceId\":%llu}", static_cast<unsigned long long>(seq));
    std::string framed;
    framed.reserve(base.size() + static_cast<std::size_t>(n));
    framed.append(base, 0, base.size() - 1).append(member, static_cast<std::size_t>(n));
    auto text = std::make_shared<const std::string>(std::move(framed));
    c.unacked.emplace_back(seq, text);
    c.unacked_bytes += text->size();
    total_unacked_bytes_ += text->size();
    const bool over_budget = total_unacked_bytes_ > limits_.max_total_unacked_bytes && c.unacked_bytes > 1024 * 1024;
    if (c.unacked.size() > limits_.max_unacked_messages || c.unacked_bytes > limits_.max_unacked_bytes || over_budget) {
        // The client does not acknowledge: the session cannot be kept (service behaviour).
        close(c, kClosePolicy, "Too many unacknowledged messages; the session was dropped.");
        return;
    }
    if (c.sink) c.sink->send(text);
}

static MessageFrame server_frame(const Payload& p) {
    return MessageFrame{false, {}, std::nullopt, p.dataType, p.data, std::nullopt};
}

static bool passes(const ODataFilter* filter, const std::string& id, const std::string& user, const std::set<std::string>& groups) {
    return !filter || filter->matches(user, id, groups);
}

void Hub::send_to_all(const std::string& hub, const Payload& p, const std::set<std::string>& excluded,
                      const ODataFilter* filter) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    std::vector<std::string> ids;
    for (auto& [id, c] : h->second.conns)
        if (!excluded.count(id) && passes(filter, id, c.userId, c.groups)) ids.push_back(id);
    Publication pub{server_frame(p)};
    for (auto& id : ids)
        if (Conn* c = find(hub, id)) deliver(*c, pub);
}

void Hub::send_to_group(const std::string& hub, const std::string& group, const Payload& p,
                        const std::set<std::string>& excluded, const ODataFilter* filter) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto g = h->second.groups.find(group);
    if (g == h->second.groups.end()) return;
    std::vector<std::string> members;  // chosen before delivery, which may close slow consumers
    for (auto& id : g->second)
        if (!excluded.count(id))
            if (const Conn* c = find(hub, id); c && passes(filter, id, c->userId, c->groups)) members.push_back(id);
    Publication pub{MessageFrame{true, group, std::nullopt, p.dataType, p.data, std::nullopt}};
    for (auto& id : members)
        if (Conn* c = find(hub, id)) deliver(*c, pub);
}

void Hub::send_to_user(const std::string& hub, const std::string& user, const Payload& p, const ODataFilter* filter) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto u = h->second.users.find(user);
    if (u == h->second.users.end()) return;
    std::vector<std::string> ids;
    for (auto& id : u->second)
        if (const Conn* c = find(hub, id); c && passes(filter, id, c->userId, c->groups)) ids.push_back(id);
    Publication pub{server_frame(p)};
    for (auto& id : ids)
        if (Conn* c = find(hub, id)) deliver(*c, pub);
}

void Hub::send_to_users(const std::string& hub, const std::vector<std::string>& users, const Payload& p,
                        const std::string& except_group) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    std::set<std::string> ids;  // a user named twice, or a connection found twice, is sent to once
    for (const auto& user : users) {
        auto u = h->second.users.find(user);
        if (u == h->second.users.end()) continue;
        for (const auto& id : u->second)
            if (const Conn* c = find(hub, id); c && (except_group.empty() || !c->groups.count(except_group))) ids.insert(id);
    }
    Publication pub{server_frame(p)};
    for (const auto& id : ids)  // chosen before delivery, which may close slow consumers
        if (Conn* c = find(hub, id)) deliver(*c, pub);
}

void Hub::send_to_connection(const std::string& hub, const std::string& id, const Payload& p) {
    if (Conn* c = find(hub, id)) deliver(*c, server_frame(p));
}

// ---- REST: membership, close, existence, permissions -----------------------------------------

bool Hub::add_connection_to_group(const std::string& hub, const std::string& group, const std::string& id) {
    Conn* c = find(hub, id);
    if (!c) return false;
    join(*c, group);
    return true;
}
std::vector<std::string> Hub::matching(const std::string& hub, const ODataFilter& filter) const {
    std::vector<std::string> ids;
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return ids;
    for (auto& [id, c] : h->second.conns)  // attached or waiting for recovery alike
        if (filter.matches(c.userId, id, c.groups)) ids.push_back(id);
    return ids;
}
std::size_t Hub::add_to_groups(const std::string& hub, const std::vector<std::string>& groups, const ODataFilter& filter) {
    const auto ids = matching(hub, filter);
    for (auto& id : ids)
        if (Conn* c = find(hub, id))
            for (auto& g : groups) join(*c, g);
    return ids.size();
}
std::size_t Hub::remove_from_groups(const std::string& hub, const std::vector<std::string>& groups, const ODataFilter& filter) {
    const auto ids = matching(hub, filter);
    for (auto& id : ids)
        if (Conn* c = find(hub, id))
            for (auto& g : groups) leave(*c, g);
    return ids.size();
}
void Hub::remove_connection_from_group(const std::string& hub, const std::string& group, const std::string& id) {
    if (Conn* c = find(hub, id)) leave(*c, group);
}
void Hub::remove_connection_from_all_groups(const std::string& hub, const std::string& id) {
    if (Conn* c = find(hub, id)) {
        const auto groups = c->groups;
        for (auto& g : groups) leave(*c, g);
    }
}
bool Hub::add_user_to_group(const std::string& hub, const std::string& group, const std::string& user) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return false;
    auto u = h->second.users.find(user);
    if (u == h->second.users.end()) return false;
    for (auto& id : u->second)
        if (Conn* c = find(hub, id)) join(*c, group);
    return true;
}
void Hub::remove_user_from_group(const std::string& hub, const std::string& group, const std::string& user) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto u = h->second.users.find(user);
    if (u == h->second.users.end()) return;
    for (auto& id : std::set<std::string>(u->second))
        if (Conn* c = find(hub, id)) leave(*c, group);
}
void Hub::remove_user_from_all_groups(const std::string& hub, const std::string& user) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto u = h->second.users.find(user);
    if (u == h->second.users.end()) return;
    for (auto& id : std::set<std::string>(u->second)) remove_connection_from_all_groups(hub, id);
}
void Hub::close_connection(const std::string& hub, const std::string& id, const std::string& reason) {
    if (Conn* c = find(hub, id)) close(*c, kClosePolicy, reason.empty() ? "Closed by the server." : reason);
}
bool Hub::close_owned_connection(const std::string& hub, const std::string& id, const std::string& user, const std::string& reason) {
    Conn* c = find(hub, id);
    if (!c || c->userId != user) return false;
    close(*c, kClosePolicy, reason);
    return true;
}
void Hub::close_all(const std::string& hub, const std::set<std::string>& excluded, const std::string& reason) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    std::vector<std::string> ids;
    for (auto& [id, c] : h->second.conns)
        if (!excluded.count(id)) ids.push_back(id);
    for (auto& id : ids) close_connection(hub, id, reason);
}
void Hub::close_group(const std::string& hub, const std::string& group, const std::set<std::string>& excluded,
                      const std::string& reason) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto g = h->second.groups.find(group);
    if (g == h->second.groups.end()) return;
    for (auto& id : std::set<std::string>(g->second))
        if (!excluded.count(id)) close_connection(hub, id, reason);
}
void Hub::close_user(const std::string& hub, const std::string& user, const std::set<std::string>& excluded,
                     const std::string& reason) {
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return;
    auto u = h->second.users.find(user);
    if (u == h->second.users.end()) return;
    for (auto& id : std::set<std::string>(u->second))
        if (!excluded.count(id)) close_connection(hub, id, reason);
}
bool Hub::connection_exists(const std::string& hub, const std::string& id) const { return find(hub, id) != nullptr; }
bool Hub::group_exists(const std::string& hub, const std::string& group) const {
    auto h = hubs_.find(hub);
    return h != hubs_.end() && h->second.groups.count(group);
}
bool Hub::user_exists(const std::string& hub, const std::string& user) const {
    auto h = hubs_.find(hub);
    return h != hubs_.end() && h->second.users.count(user);
}
std::vector<ConnectionInfo> Hub::group_connections(const std::string& hub, const std::string& group) const {
    std::vector<ConnectionInfo> out;
    auto h = hubs_.find(hub);
    if (h == hubs_.end()) return out;
    auto g = h->second.groups.find(group);
    if (g == h->second.groups.end()) return out;
    for (auto& id : g->second)
        if (const Conn* c = find(hub, id)) out.push_back(ConnectionInfo{c->id, c->userId, hub, {}, c->sink != nullptr, c->protocol});
    return out;
}
void Hub::grant(const std::string& hub, const std::string& id, const std::string& permission, const std::string& target) {
    if (Conn* c = find(hub, id)) c->roles.insert("webpubsub." + permission + (target.empty() ? "" : "." + target));
}
void Hub::revoke(const std::string& hub, const std::string& id, const std::string& permission, const std::string& target) {
    if (Conn* c = find(hub, id)) c->roles.erase("webpubsub." + permission + (target.empty() ? "" : "." + target));
}
bool Hub::has_permission(const std::string& hub, const std::string& id, const std::string& permission,
                         const std::string& target) const {
    const Conn* c = find(hub, id);
    return c && allowed(*c, "webpubsub." + permission, target);
}

std::vector<ConnectionInfo> Hub::connections() const {
    std::vector<ConnectionInfo> out;
    for (auto& [name, h] : hubs_)
        for (auto& [id, c] : h.conns)
            out.push_back(ConnectionInfo{id, c.userId, name, {c.groups.begin(), c.groups.end()}, c.sink != nullptr, c.protocol});
    return out;
}

std::size_t Hub::drop_sockets(const std::string& userId) {
    std::vector<std::pair<std::string, std::shared_ptr<ConnectionSink>>> victims;
    for (auto& [name, h] : hubs_)
        for (auto& [id, c] : h.conns)
            if (c.sink && (userId.empty() || c.userId == userId)) victims.emplace_back(id, c.sink);
    for (auto& [id, sink] : victims) {
        on_socket_closed(id, sink.get());
        sink->close(-1, "dropped by fault injection");  // -1: tear down without a close frame
    }
    return victims.size();
}

} // namespace stub
