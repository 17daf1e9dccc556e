// pubsub_client.cpp - see pubsub_client.hpp.
//
// [SECTION] lifecycle: start / stop / connect
// [SECTION] socket events
// [SECTION] drops: recovery, reconnect, stop
// [SECTION] sends, acks, queue
// [SECTION] reliable sequence acks
// [SECTION] keep-alive and platform hints
#include "pubsub_client.hpp"

#include "url.hpp"

#include <utility>

namespace wps {

namespace {
constexpr int kClosePolicyViolation = 1008;  // service: session gone, do not recover
constexpr int kCloseAbnormal = 1006;

} // namespace

const char* to_string(ClientState s) {
    switch (s) {
    case ClientState::Stopped: return "stopped";
    case ClientState::Connecting: return "connecting";
    case ClientState::Connected: return "connected";
    case ClientState::Recovering: return "recovering";
    case ClientState::WaitingToReconnect: return "waiting-to-reconnect";
    }
    return "?";
}

PubSubClient::PubSubClient(AccessUrlProvider provider, SocketFactory sockets, Scheduler& scheduler,
                           RandomSource random, ClientOptions options)
    : provider_(std::move(provider)), sockets_(std::move(sockets)), sched_(scheduler), random_(std::move(random)),
      options_(std::move(options)) {}

PubSubClient::~PubSubClient() {
    ++gen_;
    socket_.reset();
    for (TimerId t : {seq_ack_timer_, keep_alive_timer_, retry_timer_, probe_timer_}) sched_.cancel(t);
    for (auto& [id, o] : queue_) cancel_timers(o);
    for (auto& [id, o] : pending_) cancel_timers(o);
}

void PubSubClient::cancel_timers(Outgoing& o) {
    sched_.cancel(o.deadline_timer);
    sched_.cancel(o.retry_timer);
    o.deadline_timer = o.retry_timer = 0;
}

// ============================================================================================
// [SECTION] lifecycle: start / stop / connect
// ============================================================================================

bool PubSubClient::start() {
    if (status_.state != ClientState::Stopped) return false;
    stopping_ = false;
    status_.attempt = 0;
    status_.last_close_code = 0;
    status_.last_close_reason.clear();
    begin_connect();
    return true;
}

void PubSubClient::stop() {
    if (status_.state == ClientState::Stopped) return;
    stopping_ = true;
    ++gen_;                                  // ignore anything the old socket or provider says later
    if (socket_) socket_->close(1000, "stopped by client");
    socket_.reset();
    socket_open_ = false;
    finish_stopped(1000, "stopped by client");
}

void PubSubClient::begin_connect() {
    sched_.cancel(retry_timer_);
    retry_timer_ = 0;
    status_.next_retry_at_ms = 0;
    set_state(ClientState::Connecting);
    if (status_.offline) {
        // No point dialling while the platform says there is no network: notify_online() resumes.
        set_state(ClientState::WaitingToReconnect);
        return;
    }
    const uint64_t gen = ++gen_;
    provider_([this, gen](bool ok, std::string url) {
        if (gen != gen_ || status_.state != ClientState::Connecting) return;
        if (!ok) {
            schedule_reconnect(0, "access URL: " + url);
            return;
        }
        access_url_ = url;
        open_socket(url, false);
    });
}

void PubSubClient::open_socket(const std::string& url, bool recovery) {
    const uint64_t gen = ++gen_;
    recovering_socket_ = recovery;
    socket_open_ = false;
    SocketCallbacks cb;
    cb.on_open = [this, gen] { on_open(gen); };
    cb.on_message = [this, gen](std::string text) { on_message(gen, text); };
    cb.on_close = [this, gen](int code, std::string reason) { on_close(gen, code, reason); };
    socket_ = sockets_(url, options_.protocol, std::move(cb));
}

// ============================================================================================
// [SECTION] socket events
// ============================================================================================

void PubSubClient::on_open(uint64_t gen) {
    if (gen != gen_) return;
    // The socket is open, but the session is not ready until the service's connected frame: a
    // recovery the service refuses is accepted and then closed with 1008, and must never show as
    // Connected (nor have frames sent into it).
    socket_open_ = true;
    socket_opened_ = true;
    last_received_ms_ = sched_.now_ms();
    arm_keep_alive();
}

// The connected frame arrived: the session (new or recovered) is ready.
void PubSubClient::session_ready() {
    status_.attempt = 0;
    const bool recovered = recovering_socket_;
    recovery_started_ms_ = 0;
    recovery_attempts_ = 0;
    set_state(ClientState::Connected);
    if (recovered) {
        // Same session: tell the service what we have, then resend unacked requests with the same
        // ackIds (a Duplicate ack means the first copy had been processed).
        if (last_seq_ > 0) send_sequence_ack();
        for (auto& [ackId, o] : pending_) socket_->send(o.text);
    }
    flush_queue();
}

void PubSubClient::on_message(uint64_t gen, const std::string& text) {
    if (gen != gen_) return;
    last_received_ms_ = sched_.now_ms();
    if (probe_timer_) { sched_.cancel(probe_timer_); probe_timer_ = 0; }
    auto decoded = decode_service_frame(text);
    if (!decoded) {
        // Dropped, never silently: the application hears why.
        if (events_.frame_rejected) events_.frame_rejected("frame from the service dropped: " + decoded.error);
        return;
    }
    ServiceFrame& frame = *decoded.frame;

    if (auto* ack = std::get_if<AckFrame>(&frame)) {
        handle_ack(*ack);
    } else if (auto* msg = std::get_if<MessageFrame>(&frame)) {
        if (msg->sequenceId) {
            bool drop = false;
            handle_sequence(*msg->sequenceId, drop);
            if (drop) return;
        }
        if (msg->fromGroup) {
            if (events_.group_message)
                events_.group_message(GroupMessage{std::move(msg->group), std::move(msg->fromUserId), msg->dataType, std::move(msg->data), msg->sequenceId});
        } else if (events_.server_message) {
            events_.server_message(ServerMessage{msg->dataType, std::move(msg->data), msg->sequenceId});
        }
    } else if (auto* con = std::get_if<ConnectedFrame>(&frame)) {
        if (con->reconnectionToken) reconnection_token_ = *con->reconnectionToken;
        const bool new_session = !recovering_socket_ || con->connectionId != status_.connection_id;
        if (new_session) recovering_socket_ = false;  // a different session: nothing to resend
        status_.connection_id = con->connectionId;
        status_.user_id = con->userId;
        session_ready();
        if (new_session && !ever_connected_) {
            ever_connected_ = true;
            // As the official client: rejoin the groups that were joined, then report connected.
            if (options_.auto_rejoin_groups && !groups_.empty()) rejoin_groups(con->connectionId, con->userId);
            else if (events_.connected) events_.connected(con->connectionId, con->userId);
        }
    } else if (auto* dis = std::get_if<DisconnectedFrame>(&frame)) {
        disconnect_message_ = dis->message;
    }
}

void PubSubClient::on_close(uint64_t gen, int code, const std::string& reason) {
    if (gen != gen_) return;
    ++gen_;
    socket_.reset();
    socket_open_ = false;
    handle_drop(code, reason);
}

// ============================================================================================
// [SECTION] drops: recovery, reconnect, stop
// ============================================================================================

void PubSubClient::handle_drop(int code, const std::string& reason) {
    sched_.cancel(keep_alive_timer_);
    sched_.cancel(probe_timer_);
    keep_alive_timer_ = probe_timer_ = 0;
    status_.last_close_code = code;
    status_.last_close_reason = reason;
    if (stopping_) return;

    const bool can_recover = is_reliable() && !status_.connection_id.empty() && !reconnection_token_.empty() &&
                             code != kClosePolicyViolation;
    if (can_recover) {
        const uint64_t now = sched_.now_ms();
        if (recovery_started_ms_ == 0) recovery_started_ms_ = now;
        if (now - recovery_started_ms_ < options_.recovery_window_ms) {
            set_state(ClientState::Recovering);
            // First try at once, then every recovery_retry_ms until the window closes.
            const uint64_t delay = recovery_attempts_++ == 0 ? 0 : options_.recovery_retry_ms;
            const uint64_t gen = gen_;
            retry_timer_ = sched_.after(delay, [this, gen] {
                if (gen != gen_) return;
                retry_timer_ = 0;
                try_recover();
            });
            return;
        }
    }
    connection_lost(code, reason);
}

void PubSubClient::try_recover() {
    if (status_.offline) {
        // Recovery resumes from notify_online(); the window keeps running meanwhile.
        return;
    }
    const char sep = access_url_.find('?') == std::string::npos ? '?' : '&';
    open_socket(access_url_ + sep + "awps_connection_id=" + url_encode(status_.connection_id) +
                    "&awps_reconnection_token=" + url_encode(reconnection_token_),
                true);
}

DisconnectInfo PubSubClient::end_session(int code, const std::string& reason) {
    // The next connection is a new session: sequence ids and the service's ackId memory restart.
    DisconnectInfo info{status_.connection_id, code, reason, disconnect_message_};
    status_.connection_id.clear();
    reconnection_token_.clear();
    disconnect_message_.clear();
    ever_connected_ = false;
    socket_opened_ = false;
    rejoins_pending_ = 0;
    recovery_started_ms_ = 0;
    recovery_attempts_ = 0;
    recovering_socket_ = false;
    last_seq_ = acked_seq_ = 0;
    sched_.cancel(seq_ack_timer_);
    seq_ack_timer_ = 0;
    return info;
}

void PubSubClient::connection_lost(int code, const std::string& reason) {
    const bool had_session = ever_connected_ || socket_opened_;
    const DisconnectInfo info = end_session(code, reason);
    // Sent but unacknowledged requests are not replayed on the next connection: ackIds are unique
    // per connection only, so the service could not tell a replay from a new request (the spec's
    // MUST). They fail with a reason; the application decides whether to send again. Requests
    // that never left (queued while disconnected) are still sent.
    std::vector<std::pair<SendCallback, uint64_t>> lost;
    for (auto& [ackId, o] : pending_) {
        cancel_timers(o);
        lost.emplace_back(std::move(o.cb), ackId);
    }
    pending_.clear();
    for (auto& [cb, ackId] : lost)
        if (cb)
            cb(SendResult{false, ackId, false,
                          {"ConnectionLost", "the connection was lost before the service acknowledged this request; it may or "
                                             "may not have been processed, and it is not resent on a new connection"}});
    if (status_.state == ClientState::Stopped) return;  // stop() called from a callback
    if (had_session && events_.disconnected) events_.disconnected(info);
    if (status_.state == ClientState::Stopped) return;  // stop() called from the handler
    schedule_reconnect(code, reason);
}

void PubSubClient::schedule_reconnect(int code, const std::string& reason) {
    if (code != 0 || !reason.empty()) {
        status_.last_close_code = code;
        status_.last_close_reason = reason;
    }
    if (!options_.auto_reconnect || status_.attempt >= options_.reconnect_retry.max_retries) {
        finish_stopped(code, reason);
        return;
    }
    ++status_.attempt;
    const uint64_t delay = retry_delay_ms(options_.reconnect_retry, status_.attempt, random_ ? random_() : 0.5);
    status_.next_retry_at_ms = sched_.now_ms() + delay;
    set_state(ClientState::WaitingToReconnect);
    const uint64_t gen = gen_;
    retry_timer_ = sched_.after(delay, [this, gen] {
        if (gen != gen_) return;
        retry_timer_ = 0;
        begin_connect();
    });
}

void PubSubClient::finish_stopped(int code, const std::string& reason) {
    for (TimerId t : {seq_ack_timer_, keep_alive_timer_, retry_timer_, probe_timer_}) sched_.cancel(t);
    seq_ack_timer_ = keep_alive_timer_ = retry_timer_ = probe_timer_ = 0;
    const bool had_session = ever_connected_ || socket_opened_;
    const DisconnectInfo info = end_session(code, reason);
    status_.next_retry_at_ms = 0;
    status_.last_close_code = code;
    status_.last_close_reason = reason;
    set_state(ClientState::Stopped);
    fail_all("ClientStopped", "the client stopped before the message was acknowledged");
    if (had_session && events_.disconnected) events_.disconnected(info);
    if (events_.stopped) events_.stopped(StopInfo{code, reason});
}

// ============================================================================================
// [SECTION] sends, acks, queue
// ============================================================================================

void PubSubClient::group_op(bool join, const std::string& group, std::optional<uint64_t> ackId, SendCallback cb) {
    Outgoing o;
    o.ackId = ackId ? *ackId : fresh_ack_id();
    o.text = join ? encode(ClientFrame{JoinGroupFrame{group, o.ackId}}) : encode(ClientFrame{LeaveGroupFrame{group, o.ackId}});
    o.cb = std::move(cb);
    submit(std::move(o), false);
}

// A group counts as joined once the service acknowledged the join (as the official client's
// isJoined); a refused join is never rejoined.
void PubSubClient::join_group(const std::string& group, SendCallback cb, SendOptions opt) {
    group_op(true, group, opt.ackId, [this, group, cb = std::move(cb)](const SendResult& r) {
        if (r.ok) groups_.insert(group);
        if (cb) cb(r);
    });
}

// A new session: join again every group joined before, then report connected. A rejoin the
// service refuses is reported and forgotten.
void PubSubClient::rejoin_groups(const std::string& connection_id, const std::optional<std::string>& user_id) {
    const std::vector<std::string> groups(groups_.begin(), groups_.end());
    rejoins_pending_ = groups.size();
    const uint64_t session = gen_;
    for (const std::string& group : groups)
        group_op(true, group, std::nullopt, [this, group, session, connection_id, user_id](const SendResult& r) {
            if (session != gen_ || rejoins_pending_ == 0) return;  // that connection is gone: try again on the next
            if (!r.ok) {
                if (r.error.name != "Timeout") groups_.erase(group);  // the service refused it
                if (events_.rejoin_group_failed) events_.rejoin_group_failed(group, r.error);
            }
            if (--rejoins_pending_ == 0 && events_.connected) events_.connected(connection_id, user_id);
        });
}

void PubSubClient::leave_group(const std::string& group, SendCallback cb, SendOptions opt) {
    groups_.erase(group);
    group_op(false, group, opt.ackId, std::move(cb));
}

// The next ackId no request in flight uses (an application may have picked some itself).
uint64_t PubSubClient::fresh_ack_id() {
    auto used = [this](uint64_t id) {
        if (pending_.count(id)) return true;
        for (const auto& [qid, q] : queue_)
            if (q.ackId == id) return true;
        return false;
    };
    while (used(next_ack_id_)) ++next_ack_id_;
    return next_ack_id_++;
}

SendResult PubSubClient::refuse(const Outgoing& o, const char* name, std::string message) const {
    return SendResult{false, o.ackId ? std::optional<uint64_t>(o.ackId) : std::nullopt, false, {name, std::move(message)}};
}

void PubSubClient::send_to_group(const std::string& group, json data, DataType type, SendOptions opt, SendCallback cb) {
    if (!data_matches_type(type, data)) {
        // The service declines a client that sends such a frame: it must never leave.
        if (cb) cb(SendResult{false, opt.ackId, false, {"InvalidData", std::string("the data does not fit dataType '") + to_string(type) + "'"}});
        return;
    }
    Outgoing o;
    SendToGroupFrame f{group, std::nullopt, opt.noEcho, type, std::move(data)};
    if (!opt.fireAndForget) {
        o.ackId = opt.ackId ? *opt.ackId : fresh_ack_id();
        f.ackId = o.ackId;
    }
    o.text = encode(ClientFrame{std::move(f)});
    o.cb = std::move(cb);
    submit(std::move(o), opt.fireAndForget);
}

void PubSubClient::send_event(const std::string& event, json data, DataType type, SendOptions opt, SendCallback cb) {
    if (!data_matches_type(type, data)) {
        if (cb) cb(SendResult{false, opt.ackId, false, {"InvalidData", std::string("the data does not fit dataType '") + to_string(type) + "'"}});
        return;
    }
    Outgoing o;
    EventFrame f{event, std::nullopt, type, std::move(data)};
    if (!opt.fireAndForget) {
        o.ackId = opt.ackId ? *opt.ackId : fresh_ack_id();
        f.ackId = o.ackId;
    }
    o.text = encode(ClientFrame{std::move(f)});
    o.cb = std::move(cb);
    submit(std::move(o), opt.fireAndForget);
}

void PubSubClient::submit(Outgoing o, bool fire_and_forget) {
    o.id = next_id_++;
    if (o.text.size() > kMaxFrameBytes) {
        if (o.cb) o.cb(refuse(o, "PayloadTooLarge", "the frame exceeds the service's 1 MB limit"));
        return;
    }
    if (o.ackId) {
        // An ackId still waiting for its answer cannot be reused: the earlier request would lose
        // its callback. (Reusing a finished one is the retry the service deduplicates.)
        bool in_use = pending_.count(o.ackId) > 0;
        for (const auto& [id, q] : queue_) in_use = in_use || q.ackId == o.ackId;
        if (in_use) {
            if (o.cb) o.cb(refuse(o, "AckIdInUse", "ackId " + std::to_string(o.ackId) + " is still waiting for its acknowledgement"));
            return;
        }
    }
    if (!fire_and_forget || !socket_ready()) {
        const uint64_t id = o.id;
        o.deadline_timer = sched_.after(options_.send_deadline_ms, [this, id] { expire(id); });
    }
    if (socket_ready()) {
        transmit(std::move(o));
        return;
    }
    if (status_.state == ClientState::Stopped) {
        sched_.cancel(o.deadline_timer);
        if (o.cb) o.cb(SendResult{false, o.ackId ? std::optional<uint64_t>(o.ackId) : std::nullopt, false,
                                  {"ClientStopped", "the client is stopped; call start() first"}});
        return;
    }
    if (queue_.size() >= options_.max_queued_sends) {
        sched_.cancel(o.deadline_timer);
        if (o.cb) o.cb(SendResult{false, o.ackId ? std::optional<uint64_t>(o.ackId) : std::nullopt, false,
                                  {"QueueFull", "too many sends waiting for a connection; raise max_queued_sends"}});
        return;
    }
    queue_.emplace(o.id, std::move(o));
}

void PubSubClient::transmit(Outgoing o) {
    socket_->send(o.text);
    if (o.ackId == 0) {  // fire-and-forget: done once written
        sched_.cancel(o.deadline_timer);
        if (o.cb) o.cb(SendResult{true, std::nullopt, false, {}});
        return;
    }
    const uint64_t ackId = o.ackId;
    pending_[ackId] = std::move(o);
}

void PubSubClient::flush_queue() {
    while (!queue_.empty() && socket_ready()) {
        auto node = queue_.extract(queue_.begin());
        transmit(std::move(node.mapped()));
    }
}

void PubSubClient::handle_ack(const AckFrame& ack) {
    auto it = pending_.find(ack.ackId);
    if (it == pending_.end()) return;
    Outgoing& o = it->second;
    const bool duplicate = !ack.success && ack.error && ack.error->name == "Duplicate";
    if (ack.success || duplicate) {
        cancel_timers(o);
        SendCallback cb = std::move(o.cb);
        pending_.erase(it);
        if (cb) cb(SendResult{true, ack.ackId, duplicate, {}});
        return;
    }
    ErrorDetail err = ack.error ? *ack.error : ErrorDetail{"Unknown", "the service refused the request"};
    // Only transient errors are retried, with the same ackId so the service can deduplicate.
    if (err.name == "InternalServerError" && o.retries < options_.message_retry.max_retries) {
        ++o.retries;
        const uint64_t delay = retry_delay_ms(options_.message_retry, o.retries, random_ ? random_() : 0.5);
        const uint64_t ackId = ack.ackId;
        o.retry_timer = sched_.after(delay, [this, ackId] {
            auto p = pending_.find(ackId);
            if (p == pending_.end()) return;
            p->second.retry_timer = 0;
            if (socket_ready()) socket_->send(p->second.text);
        });
        return;
    }
    cancel_timers(o);
    SendCallback cb = std::move(o.cb);
    pending_.erase(it);
    if (cb) cb(SendResult{false, ack.ackId, false, err});
}

void PubSubClient::expire(uint64_t id) {
    SendCallback cb;
    std::optional<uint64_t> ackId;
    if (auto q = queue_.find(id); q != queue_.end()) {
        cancel_timers(q->second);
        cb = std::move(q->second.cb);
        if (q->second.ackId) ackId = q->second.ackId;
        queue_.erase(q);
    } else {
        for (auto p = pending_.begin(); p != pending_.end(); ++p) {
            if (p->second.id != id) continue;
            cancel_timers(p->second);
            cb = std::move(p->second.cb);
            ackId = p->first;
            pending_.erase(p);
            break;
        }
    }
    if (cb) cb(SendResult{false, ackId, false, {"Timeout", "not acknowledged within the send deadline"}});
}

void PubSubClient::fail_all(const std::string& name, const std::string& message) {
    std::vector<std::pair<SendCallback, std::optional<uint64_t>>> cbs;
    for (auto& [id, o] : queue_) {
        cancel_timers(o);
        cbs.emplace_back(std::move(o.cb), o.ackId ? std::optional<uint64_t>(o.ackId) : std::nullopt);
    }
    for (auto& [ackId, o] : pending_) {
        cancel_timers(o);
        cbs.emplace_back(std::move(o.cb), ackId);
    }
    queue_.clear();
    pending_.clear();
    for (auto& [cb, ackId] : cbs)
        if (cb) cb(SendResult{false, ackId, false, {name, message}});
}

// ============================================================================================
// [SECTION] reliable sequence acks
// ============================================================================================

void PubSubClient::handle_sequence(uint64_t seq, bool& drop) {
    if (seq <= last_seq_) { drop = true; return; }
    last_seq_ = seq;
    if (last_seq_ - acked_seq_ > options_.sequence_ack_eager_gap) {
        send_sequence_ack();
        return;
    }
    if (!seq_ack_timer_) {
        seq_ack_timer_ = sched_.after(options_.sequence_ack_interval_ms, [this] {
            seq_ack_timer_ = 0;
            send_sequence_ack();
        });
    }
}

void PubSubClient::send_sequence_ack() {
    if (!socket_ready() || last_seq_ == 0) return;
    socket_->send(encode(ClientFrame{SequenceAckFrame{last_seq_}}));
    acked_seq_ = last_seq_;
}

// ============================================================================================
// [SECTION] keep-alive and platform hints
// ============================================================================================

void PubSubClient::arm_keep_alive() {
    sched_.cancel(keep_alive_timer_);
    keep_alive_timer_ = 0;
    if (options_.keep_alive_interval_ms == 0) return;
    uint64_t period = options_.keep_alive_interval_ms;
    if (options_.keep_alive_timeout_ms > 0 && options_.keep_alive_timeout_ms / 3 < period) period = options_.keep_alive_timeout_ms / 3;
    if (period == 0) period = 1;
    keep_alive_timer_ = sched_.after(period, [this] {
        keep_alive_timer_ = 0;
        keep_alive_tick();
    });
}

void PubSubClient::keep_alive_tick() {
    if (!socket_ready()) return;
    const uint64_t now = sched_.now_ms();
    if (options_.keep_alive_timeout_ms > 0 && now - last_received_ms_ >= options_.keep_alive_timeout_ms) {
        drop_socket(kCloseAbnormal, "keep-alive timeout: nothing received for " +
                                        std::to_string(options_.keep_alive_timeout_ms / 1000) + " s");
        return;
    }
    socket_->send(encode(ClientFrame{PingFrame{}}));
    arm_keep_alive();
}

void PubSubClient::drop_socket(int code, const std::string& reason) {
    ++gen_;
    if (socket_) socket_->close(4000, reason);
    socket_.reset();
    socket_open_ = false;
    handle_drop(code, reason);
}

void PubSubClient::notify_offline() {
    status_.offline = true;
    emit_status();
}

void PubSubClient::notify_online() {
    status_.offline = false;
    emit_status();
    reconnect_now();
}

void PubSubClient::notify_resumed() {
    if (socket_ready()) {
        // The socket may be half-open after sleep: ask for a pong and drop it if nothing comes back.
        socket_->send(encode(ClientFrame{PingFrame{}}));
        sched_.cancel(probe_timer_);
        probe_timer_ = sched_.after(options_.probe_timeout_ms, [this] {
            probe_timer_ = 0;
            drop_socket(kCloseAbnormal, "no answer to a liveness probe after resume");
        });
        return;
    }
    reconnect_now();
}

void PubSubClient::reconnect_now() {
    if (status_.state == ClientState::WaitingToReconnect) {
        begin_connect();
    } else if (status_.state == ClientState::Recovering && !socket_) {
        sched_.cancel(retry_timer_);
        retry_timer_ = 0;
        try_recover();
    }
}

void PubSubClient::set_state(ClientState s) {
    status_.state = s;
    emit_status();
}

void PubSubClient::emit_status() {
    if (events_.status_changed) events_.status_changed(status_);
}

} // namespace wps
