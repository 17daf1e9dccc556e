// hub.hpp - the Web PubSub emulator's state: connections, groups, users, acks, reliable sessions.
//
// Beast-free and single-threaded: the network adapter calls it from its one io thread and hands
// it a ConnectionSink per WebSocket. REST handlers call the same object.
//  [X] json.webpubsub.azure.v1, json.reliable.webpubsub.azure.v1 (sequence ids, sequenceAck,
//      recovery with awps_connection_id + awps_reconnection_token, redelivery of unacked)
//  [X] roles: joinLeaveGroup[.g], sendToGroup[.g], wildcard joinLeaveGroups./sendToGroups.{pattern};
//      initial groups; runtime permissions
//  [X] acks with Duplicate / Forbidden / BadRequest; noEcho; ping/pong
//  [X] REST operations: send to all/group/user/connection (with excluded), group membership,
//      close, existence, list group connections
//  [X] OData filters (odata_filter.hpp) on sends to all/group/user and on group changes of all
//      matching connections (:addToGroups / :removeFromGroups)
#pragma once

#include "core/protocol.hpp"
#include "small_queue.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace stub {

using wps::json;

class ODataFilter;

class ConnectionSink {
public:
    virtual ~ConnectionSink() = default;
    // One text frame.
    virtual void send(std::shared_ptr<const std::string> text) = 0;
    // One binary frame: binary data for a simple (no-subprotocol) client. A sink that has no
    // binary frames (a test or fuzz harness) may keep this default, which hands the bytes to send().
    virtual void send_binary(std::shared_ptr<const std::string> bytes) { send(std::move(bytes)); }
    virtual void close(int code, const std::string& reason) = 0;
};

enum class ClientProtocol { Simple, Json, ReliableJson };

struct HubLimits {
    std::size_t max_unacked_messages = 1000;
    std::size_t max_unacked_bytes = 16 * 1024 * 1024;
    int64_t recovery_window_ms = 30000;
    std::size_t max_remembered_ack_ids = 10000;
    // Protections of the stub (the service has its own quotas): sessions one user may hold,
    // detached ones included; what one connection may publish to groups (bytes per second, and a
    // burst that lets one full 1 MB frame through); the bytes all reliable sessions together may
    // keep unacknowledged, past which a session holding more than 1 MiB of them is dropped.
    std::size_t max_sessions_per_user = 32;
    double client_publish_bytes_per_s = 256 * 1024;
    double client_publish_burst_bytes = 2 * 1024 * 1024;
    std::size_t max_total_unacked_bytes = 256 * 1024 * 1024;
};

// A message as the REST API or a group send produces it, before framing.
struct Payload {
    wps::DataType dataType = wps::DataType::Json;
    json data;
};

struct ConnectionInfo {
    std::string id, userId, hub;
    std::vector<std::string> groups;
    bool attached = true;
    ClientProtocol protocol = ClientProtocol::Json;
};

class Hub {
public:
    using Clock = std::function<int64_t()>;  // milliseconds
    explicit Hub(Clock clock, HubLimits limits = {});

    struct Connect {
        std::string hub, userId;
        std::vector<std::string> roles, groups;
        ClientProtocol protocol = ClientProtocol::Json;
        int64_t expires_at_ms = 0;  // the access token's exp: no recovery after it (0 = none)
    };
    // Whether `user` may open one more session on `hub` (why not, in `error`).
    bool admit(const std::string& hub, const std::string& user, std::string& error) const;
    // Registers a new connection and sends its "connected" frame. Returns the connection id.
    std::string connect(const Connect& c, std::shared_ptr<ConnectionSink> sink);
    // Re-attaches a reliable session. On failure returns false with the reason (close with 1008).
    // The socket must speak the reliable subprotocol, the token must match, and the access token
    // that opened the session must not have expired.
    bool recover(const std::string& hub, const std::string& connectionId, const std::string& token, ClientProtocol protocol,
                 std::shared_ptr<ConnectionSink> sink, std::string& error);
    // A WebSocket message from a client (`binary`: it came in a binary frame). Malformed frames close
    // the connection with a reason: 1007 when only the data does not fit its dataType, else 1008.
    // A simple client's message goes to on_event as the "message" event (binary data as base64).
    void on_frame(const std::string& connectionId, const std::string& payload, bool binary = false);
    // The socket went away. `normal_close`: the client closed it with code 1000, which ends the
    // session. Any other close code, or a dropped socket, leaves a reliable session waiting for
    // recovery, as in Microsoft's emulator (a client's own keep-alive close, 4000, stays recoverable).
    void on_socket_closed(const std::string& connectionId, const ConnectionSink* sink, bool normal_close = false);
    // Expires detached sessions whose recovery window has passed.
    void tick();
    // The server stopped: every connection lets go of its socket now, while the io loop that owns
    // the sockets still exists (a socket outliving its loop crashed the stub on SIGTERM). Nothing
    // is sent and no event is raised.
    void release_sinks();

    // ---- REST data plane ----
    // A `filter` (optional) limits the recipients to the connections it matches; it is evaluated
    // against each connection's state before anything is delivered.
    void send_to_all(const std::string& hub, const Payload& p, const std::set<std::string>& excluded,
                     const ODataFilter* filter = nullptr);
    void send_to_group(const std::string& hub, const std::string& group, const Payload& p,
                       const std::set<std::string>& excluded, const ODataFilter* filter = nullptr);
    void send_to_user(const std::string& hub, const std::string& user, const Payload& p,
                      const ODataFilter* filter = nullptr);
    // Every connection of each of `users` (each once) that is not in `except_group` (empty: none
    // left out): what send_to_all with the filter "userId in (users) and not('except_group' in
    // groups)" reaches, found through the users' own connections instead of testing every
    // connection of the hub. One serialisation for all.
    void send_to_users(const std::string& hub, const std::vector<std::string>& users, const Payload& p,
                       const std::string& except_group);
    // Adds every connection of `hub` that `filter` matches (sessions waiting for recovery too, as
    // add_connection_to_group does) to each of `groups`; removes them likewise. Each connection is
    // matched once, before any change. Returns how many connections matched.
    std::size_t add_to_groups(const std::string& hub, const std::vector<std::string>& groups, const ODataFilter& filter);
    std::size_t remove_from_groups(const std::string& hub, const std::vector<std::string>& groups, const ODataFilter& filter);
    void send_to_connection(const std::string& hub, const std::string& id, const Payload& p);
    bool add_connection_to_group(const std::string& hub, const std::string& group, const std::string& id);
    void remove_connection_from_group(const std::string& hub, const std::string& group, const std::string& id);
    void remove_connection_from_all_groups(const std::string& hub, const std::string& id);
    bool add_user_to_group(const std::string& hub, const std::string& group, const std::string& user);
    void remove_user_from_group(const std::string& hub, const std::string& group, const std::string& user);
    void remove_user_from_all_groups(const std::string& hub, const std::string& user);
    void close_connection(const std::string& hub, const std::string& id, const std::string& reason);
    // close_connection, only when the connection (live, or a session waiting for recovery) is
    // `user`'s: whether it was.
    bool close_owned_connection(const std::string& hub, const std::string& id, const std::string& user, const std::string& reason);
    void close_all(const std::string& hub, const std::set<std::string>& excluded, const std::string& reason);
    void close_group(const std::string& hub, const std::string& group, const std::set<std::string>& excluded,
                     const std::string& reason);
    void close_user(const std::string& hub, const std::string& user, const std::set<std::string>& excluded,
                    const std::string& reason);
    bool connection_exists(const std::string& hub, const std::string& id) const;
    bool group_exists(const std::string& hub, const std::string& group) const;
    bool user_exists(const std::string& hub, const std::string& user) const;
    std::vector<ConnectionInfo> group_connections(const std::string& hub, const std::string& group) const;
    void grant(const std::string& hub, const std::string& id, const std::string& permission, const std::string& target);
    void revoke(const std::string& hub, const std::string& id, const std::string& permission, const std::string& target);
    bool has_permission(const std::string& hub, const std::string& id, const std::string& permission,
                        const std::string& target) const;

    // ---- inspection / fault injection (the /_stub/ API) ----
    std::vector<ConnectionInfo> connections() const;
    // Drops sockets without a close handshake, as a network failure would (sessions stay recoverable).
    std::size_t drop_sockets(const std::string& userId /* empty = all */);

    // Upstream for "event" frames and simple clients' messages (event "message"). Returns an error
    // name ("" = success). Unset = no event handler configured: an event frame is acknowledged with
    // InternalServerError "No event handler or listener is configured." and the connection stays;
    // a simple client's message closes it with 1011 (docs/EMULATOR.md explains why).
    std::function<std::string(const ConnectionInfo&, const std::string& event, const Payload&)> on_event;
    // The service's system events, for an event handler (event_upstream.hpp): "connected" once a
    // new connection is registered, "disconnected" when it ends (a reliable session: only when it
    // can no longer be recovered), with the close reason when there is one. Unset: none.
    std::function<void(const ConnectionInfo&, const std::string& event, const std::string& reason)> on_system_event;

private:
    struct Conn {
        std::string id, hub, userId, token;
        ClientProtocol protocol = ClientProtocol::Json;
        std::set<std::string> roles;
        std::set<std::string> groups;
        std::shared_ptr<ConnectionSink> sink;   // null while detached (waiting for recovery)
        int64_t detached_at = 0;
        int64_t expires_at_ms = 0;
        uint64_t next_seq = 1;
        SmallQueue<std::pair<uint64_t, std::shared_ptr<const std::string>>> unacked;
        std::size_t unacked_bytes = 0;
        double publish_tokens = -1;  // client publish budget in bytes (-1: full, set on first use)
        int64_t publish_at_ms = 0;
        std::set<uint64_t> ack_ids;
        SmallQueue<uint64_t> ack_order;
    };
    struct HubState {
        std::map<std::string, Conn> conns;
        std::map<std::string, std::set<std::string>> groups;  // group -> connection ids
        std::map<std::string, std::set<std::string>> users;   // user -> connection ids
    };

    Conn* find(const std::string& hub, const std::string& id);
    const Conn* find(const std::string& hub, const std::string& id) const;
    Conn* find_any(const std::string& id);
    std::vector<std::string> matching(const std::string& hub, const ODataFilter& filter) const;
    struct Publication {
        explicit Publication(wps::MessageFrame f) : frame(std::move(f)) {}
        wps::MessageFrame frame;
        std::shared_ptr<const std::string> json_text, simple_text, simple_binary;  // encoded once, lazily
        bool simple_done = false;
    };
    void deliver(Conn& c, const wps::MessageFrame& frame);
    void deliver(Conn& c, Publication& pub);
    void send_frame(Conn& c, const wps::ServiceFrame& frame);
    void ack(Conn& c, std::optional<uint64_t> ackId, const std::string& error = {}, const std::string& message = {});
    bool is_duplicate(Conn& c, uint64_t ackId);
    void remember(Conn& c, std::optional<uint64_t> ackId);
    bool allowed(const Conn& c, const std::string& role, const std::string& group) const;
    void join(Conn& c, const std::string& group);
    void leave(Conn& c, const std::string& group);
    void remove(const std::string& hub, const std::string& id, const std::string& reason = {});
    void close(Conn& c, int code, const std::string& reason);
    void handle(Conn& c, const wps::ClientFrame& frame, std::size_t frame_bytes);

    Clock clock_;
    HubLimits limits_;
    std::map<std::string, HubState> hubs_;
    std::size_t total_unacked_bytes_ = 0;
    bool may_publish(Conn& c, std::size_t bytes);
};

ClientProtocol protocol_from_name(const std::string& name, bool& known);
bool group_pattern_match(std::string_view pattern, std::string_view group);

} // namespace stub
