// pubsub_client.hpp - a Web PubSub client (json and json.reliable subprotocols), platform-free.
//
// Parity with @azure/web-pubsub-client: start from a URL or from an access-URL provider called on
// every start and every reconnect; joinGroup / leaveGroup / sendToGroup / sendEvent with acks;
// connected / disconnected / stopped / group-message / server-message / rejoin-group-failed;
// reliable protocol (sequence dedupe, batched cumulative sequenceAck, recovery to the same session,
// giving up after the recovery window or on close code 1008, then a fresh connection and rejoin).
//
// Beyond it:
//  [X] retries of a send reuse the same ackId (the service's duplicate detection covers them);
//      Forbidden and other non-transient errors are never retried.
//  [X] sends made while not connected wait in a bounded queue, each with a deadline.
//  [X] application keep-alive (ping) with a receive timeout; notify_online()/notify_resumed()
//      for the browser's online and visibility events (probe or reconnect at once).
//  [X] exponential backoff always with jitter; the next try time is visible in status().
//  [X] close code and reason reach disconnected and stopped; stopped fires for every terminal state.
//  [X] stop() never reconnects; a drop always tries to (unless auto_reconnect is off).
//
// Threading: single-threaded. All calls and all port callbacks happen on one thread.
#pragma once

#include "ports.hpp"
#include "protocol.hpp"
#include "retry.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace wps {

struct ClientOptions {
    std::string protocol = kReliableJsonProtocol;
    bool auto_reconnect = true;
    bool auto_rejoin_groups = true;
    RetryOptions reconnect_retry{};                                            // exponential, unbounded
    RetryOptions message_retry{RetryOptions::Mode::Fixed, 3, 1000, 30000, 0.0}; // for transient ack errors
    uint64_t recovery_window_ms = 30000;   // how long to try recovering the same session
    uint64_t recovery_retry_ms = 1000;
    uint64_t keep_alive_interval_ms = 20000; // ping period; 0 disables keep-alive
    uint64_t keep_alive_timeout_ms = 60000;  // drop the socket after this long without any frame; 0 = never
    uint64_t probe_timeout_ms = 5000;        // after notify_resumed(): answer expected within this
    uint64_t sequence_ack_interval_ms = 1000;
    uint64_t sequence_ack_eager_gap = 300;   // ack at once when this far ahead of the last ack
    std::size_t max_queued_sends = 256;
    uint64_t send_deadline_ms = 30000;       // a queued or unacked send fails after this long
};

enum class ClientState { Stopped, Connecting, Connected, Recovering, WaitingToReconnect };
const char* to_string(ClientState s);

struct ClientStatus {
    ClientState state = ClientState::Stopped;
    uint32_t attempt = 0;              // reconnect attempt number (0 while connected)
    uint64_t next_retry_at_ms = 0;     // when WaitingToReconnect: scheduler time of the next try
    bool offline = false;              // the platform said the network is down
    std::string connection_id;
    std::optional<std::string> user_id;
    int last_close_code = 0;
    std::string last_close_reason;
};

struct SendResult {
    bool ok = false;
    std::optional<uint64_t> ackId;
    bool isDuplicated = false;
    ErrorDetail error;                 // when !ok: name (Forbidden, Timeout, QueueFull, ...) + message
};
using SendCallback = std::function<void(const SendResult&)>;

struct SendOptions {
    std::optional<uint64_t> ackId;   // reuse an ackId (e.g. from a failed SendResult)
    bool noEcho = false;
    bool fireAndForget = false;
};

struct GroupMessage {
    std::string group;
    std::optional<std::string> fromUserId;
    DataType dataType = DataType::Json;
    json data;
    std::optional<uint64_t> sequenceId;
};
struct ServerMessage {
    DataType dataType = DataType::Json;
    json data;
    std::optional<uint64_t> sequenceId;
};
struct DisconnectInfo {
    std::string connectionId;
    int code = 0;
    std::string reason;
    std::string message;  // from the service's "disconnected" system frame, if any
};
struct StopInfo {
    int code = 0;
    std::string reason;
};

struct ClientEvents {
    std::function<void(const std::string& connectionId, const std::optional<std::string>& userId)> connected;
    std::function<void(const DisconnectInfo&)> disconnected;
    std::function<void(const StopInfo&)> stopped;
    std::function<void(const GroupMessage&)> group_message;
    std::function<void(const ServerMessage&)> server_message;
    std::function<void(const std::string& group, const ErrorDetail&)> rejoin_group_failed;
    std::function<void(const ClientStatus&)> status_changed;
    // A frame from the service was not understood (malformed, or past kMaxServiceFrameBytes) and
    // was dropped: never silently.
    std::function<void(const std::string& reason)> frame_rejected;
};

// Called on every start and reconnect (not on recovery). Must call `done` exactly once, with the
// URL or (ok=false) an error text.
using AccessUrlProvider = std::function<void(std::function<void(bool ok, std::string url_or_error)> done)>;

// Starts from a fixed URL (its token is not refreshed: reconnects reuse it until it expires).
inline AccessUrlProvider fixed_url(std::string url) {
    return [url = std::move(url)](std::function<void(bool, std::string)> done) { done(true, url); };
}

class PubSubClient {
public:
    PubSubClient(AccessUrlProvider provider, SocketFactory sockets, Scheduler& scheduler, RandomSource random,
                 ClientOptions options = {});
    ~PubSubClient();
    PubSubClient(const PubSubClient&) = delete;
    PubSubClient& operator=(const PubSubClient&) = delete;

    ClientEvents& events() { return events_; }
    const ClientStatus& status() const { return status_; }
    const ClientOptions& options() const { return options_; }
    // Groups whose join the service acknowledged (and not left since): what a new connection
    // rejoins when auto_rejoin_groups is on.
    const std::set<std::string>& joined_groups() const { return groups_; }

    bool start();  // false when not stopped
    void stop();   // deliberate: never reconnects; fires stopped

    void join_group(const std::string& group, SendCallback cb = {}, SendOptions opt = {});
    void leave_group(const std::string& group, SendCallback cb = {}, SendOptions opt = {});
    void send_to_group(const std::string& group, json data, DataType type, SendOptions opt = {}, SendCallback cb = {});
    void send_event(const std::string& event, json data, DataType type, SendOptions opt = {}, SendCallback cb = {});

    // Platform hints (browser online/offline and page visibility).
    void notify_offline();
    void notify_online();
    void notify_resumed();   // page visible again / woke from sleep: probe the socket, or retry now
    void reconnect_now();    // user pressed "Reconnect now"

    std::size_t queued_sends() const { return queue_.size(); }
    std::size_t pending_acks() const { return pending_.size(); }

private:
    struct Outgoing {
        uint64_t id = 0;               // unique per client, keys the queue and the deadline timer
        uint64_t ackId = 0;            // 0 for fire-and-forget
        std::string text;              // encoded frame
        SendCallback cb;
        uint32_t retries = 0;
        TimerId deadline_timer = 0;
        TimerId retry_timer = 0;       // a resend after a transient error
    };
    void cancel_timers(Outgoing& o);

    void begin_connect();
    void open_socket(const std::string& url, bool recovery);
    void on_open(uint64_t gen);
    void on_message(uint64_t gen, const std::string& text);
    void on_close(uint64_t gen, int code, const std::string& reason);
    void handle_drop(int code, const std::string& reason);
    void try_recover();
    void connection_lost(int code, const std::string& reason);
    DisconnectInfo end_session(int code, const std::string& reason);
    void schedule_reconnect(int code, const std::string& reason);
    void finish_stopped(int code, const std::string& reason);
    void handle_ack(const AckFrame& ack);
    void rejoin_groups(const std::string& connection_id, const std::optional<std::string>& user_id);
    void session_ready();
    SendResult refuse(const Outgoing& o, const char* name, std::string message) const;
    uint64_t fresh_ack_id();
    void group_op(bool join, const std::string& group, std::optional<uint64_t> ackId, SendCallback cb);
    void handle_sequence(uint64_t seq, bool& drop);
    void send_sequence_ack();
    void submit(Outgoing o, bool fire_and_forget);
    void transmit(Outgoing o);
    void flush_queue();
    void fail_all(const std::string& name, const std::string& message);
    void expire(uint64_t id);
    void arm_keep_alive();
    void keep_alive_tick();
    void drop_socket(int code, const std::string& reason);
    void set_state(ClientState s);
    void emit_status();
    bool is_reliable() const { return options_.protocol == kReliableJsonProtocol; }
    bool socket_ready() const { return socket_ && socket_open_; }

    AccessUrlProvider provider_;
    SocketFactory sockets_;
    Scheduler& sched_;
    RandomSource random_;
    ClientOptions options_;
    ClientEvents events_;
    ClientStatus status_;

    std::unique_ptr<Socket> socket_;
    bool socket_open_ = false;
    uint64_t gen_ = 0;               // bumps on every socket and every start/stop: stale callbacks are ignored
    bool stopping_ = false;
    bool recovering_socket_ = false; // the current socket is a recovery of the previous session
    std::string access_url_;         // URL of the current session (base for recovery)
    std::string reconnection_token_;
    std::string disconnect_message_;
    uint64_t recovery_started_ms_ = 0;
    uint32_t recovery_attempts_ = 0;
    bool ever_connected_ = false;    // a connected frame was seen for the current session
    bool socket_opened_ = false;     // a socket of the current session attempt opened
    std::size_t rejoins_pending_ = 0; // rejoins sent for a new session, not yet answered

    uint64_t next_ack_id_ = 1;
    std::map<uint64_t, Outgoing> pending_;   // sent, waiting for an ack, by ackId
    std::map<uint64_t, Outgoing> queue_;     // waiting for a connection, by id (= FIFO order)
    uint64_t next_id_ = 1;
    std::set<std::string> groups_;

    uint64_t last_seq_ = 0, acked_seq_ = 0;
    TimerId seq_ack_timer_ = 0, keep_alive_timer_ = 0, retry_timer_ = 0, probe_timer_ = 0;
    uint64_t last_received_ms_ = 0;
};

} // namespace wps
