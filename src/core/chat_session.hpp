// chat_session.hpp - the chat panel's controller: sign-in, history, live updates, sends.
//
// Platform-free: HTTP through the HttpClient port, the socket through PubSubClient. The flow is
// the product's "no missed messages" path: load history over HTTP, connect (fresh access URL on
// every try), join conversation:{id}, then catch up afterSeq = last contiguous sequence, and
// after that append live messages (deduplicated by messageId; a sequence gap triggers another
// incremental fetch). Sends are optimistic and go through the HTTP API, idempotent on
// clientMessageId; the outbox publishes them to the group.
#pragma once

#include "chat_model.hpp"
#include "ports.hpp"
#include "pubsub_client.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chat {

enum class Phase { SigningIn, Loading, Ready, Failed };

struct SessionOptions {
    std::string api_base;       // "" = same origin
    std::string user_id;
    std::string hub = "chat";
    std::size_t history_page = 50;
};

class ChatSession {
public:
    ChatSession(wps::HttpClient& http, wps::SocketFactory sockets, wps::Scheduler& sched, wps::RandomSource random,
                SessionOptions options, wps::ClientOptions client_options = {});
    ~ChatSession();

    void start();               // sign in, load, open the first conversation, connect
    void close_panel();         // deliberate: stops the socket, never reconnects
    void open_panel();          // reconnects (fresh URL) and catches up
    bool panel_open() const { return panel_open_; }

    // Sends `text` now (optimistic). Returns false with `why` when it is refused locally.
    bool send(const std::string& text, std::string& why);
    void retry(const std::string& clientMessageId);

    Phase phase() const { return phase_; }
    const std::string& error() const { return error_; }
    const std::string& user_id() const { return options_.user_id; }
    const std::string& display_name() const { return display_name_; }
    const std::string& title() const { return title_; }
    const Conversation& conversation() const { return conversation_; }
    const wps::ClientStatus& connection() const;
    bool catching_up() const { return catching_up_ > 0; }
    std::size_t max_message_bytes() const { return max_message_bytes_; }
    wps::PubSubClient* client() { return client_.get(); }

    // Called after every change the UI should show.
    std::function<void()> on_changed;

private:
    void request(const std::string& method, const std::string& path, const nlohmann::json* body,
                 std::function<void(int status, const nlohmann::json& body, const std::string& error)> done);
    void load_conversations();
    void load_latest();
    void connect();
    void catch_up();
    void post_reply(const std::string& clientMessageId, const std::string& text);
    void changed();
    void fail(const std::string& why);

    wps::HttpClient& http_;
    wps::SocketFactory sockets_;
    wps::Scheduler& sched_;
    wps::RandomSource random_;
    SessionOptions options_;
    wps::ClientOptions client_options_;
    std::unique_ptr<wps::PubSubClient> client_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    Phase phase_ = Phase::SigningIn;
    std::string error_, token_, display_name_, title_, conversation_id_;
    Conversation conversation_;
    std::size_t max_message_bytes_ = 4000;
    int catching_up_ = 0;
    bool catch_up_again_ = false;
    bool panel_open_ = false;
    uint64_t cmid_counter_ = 0;
};

} // namespace chat
