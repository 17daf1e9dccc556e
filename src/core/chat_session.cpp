// chat_session.cpp - see chat_session.hpp.
#include "chat_session.hpp"

namespace chat {

using nlohmann::json;

namespace {
std::string group_of(const std::string& conversationId) { return "conversation:" + conversationId; }

std::string error_text(int status, const json& body, const std::string& transport) {
    if (status == 0) return transport.empty() ? "the server cannot be reached" : transport;
    if (body.is_object() && body.contains("error") && body["error"].is_object())
        return body["error"].value("message", "HTTP " + std::to_string(status));
    return "HTTP " + std::to_string(status);
}
} // namespace

ChatSession::ChatSession(wps::HttpClient& http, wps::SocketFactory sockets, wps::Scheduler& sched,
                         wps::RandomSource random, SessionOptions options, wps::ClientOptions client_options)
    : http_(http), sockets_(std::move(sockets)), sched_(sched), random_(std::move(random)), options_(std::move(options)),
      client_options_(std::move(client_options)) {}

ChatSession::~ChatSession() { *alive_ = false; }

const wps::ClientStatus& ChatSession::connection() const {
    static const wps::ClientStatus stopped;
    return client_ ? client_->status() : stopped;
}

void ChatSession::changed() {
    if (on_changed) on_changed();
}

void ChatSession::fail(const std::string& why) {
    phase_ = Phase::Failed;
    error_ = why;
    changed();
}

void ChatSession::request(const std::string& method, const std::string& path, const json* body,
                          std::function<void(int, const json&, const std::string&)> done) {
    wps::HttpRequest req;
    req.method = method;
    req.url = options_.api_base + path;
    if (!token_.empty()) req.headers["Authorization"] = "Bearer " + token_;
    if (body) {
        req.headers["Content-Type"] = "application/json";
        req.body = body->dump();
    }
    std::weak_ptr<bool> alive = alive_;
    http_.send(std::move(req), [alive, done = std::move(done)](wps::HttpResponse res) {
        if (alive.expired()) return;
        json j = json::parse(res.body, nullptr, false);
        done(res.status, j.is_discarded() ? json() : j, res.error);
    });
}

void ChatSession::start() {
    phase_ = Phase::SigningIn;
    panel_open_ = true;
    changed();
    const json body{{"userId", options_.user_id}};
    request("POST", "/auth/dev-login", &body, [this](int status, const json& j, const std::string& err) {
        if (status != 200 || !j.contains("token")) return fail("Sign-in failed: " + error_text(status, j, err));
        token_ = j["token"].get<std::string>();
        display_name_ = j.value("displayName", options_.user_id);
        request("GET", "/config", nullptr, [this](int st, const json& cfg, const std::string&) {
            if (st == 200 && cfg.contains("maxMessageBytes") && cfg["maxMessageBytes"].is_number_unsigned())
                max_message_bytes_ = cfg["maxMessageBytes"].get<std::size_t>();
            load_conversations();
        });
    });
}

void ChatSession::load_conversations() {
    phase_ = Phase::Loading;
    changed();
    request("GET", "/chat/conversations", nullptr, [this](int status, const json& j, const std::string& err) {
        if (status != 200) return fail("Could not load conversations: " + error_text(status, j, err));
        const json& list = j.value("conversations", json::array());
        if (list.empty()) return fail("You are not in any conversation yet.");
        const json* pick = &list[0];
        for (const auto& c : list)
            if (c.value("conversationId", "") == "demo") pick = &c;
        conversation_id_ = pick->value("conversationId", "");
        title_ = pick->value("title", conversation_id_);
        conversation_ = Conversation(conversation_id_);
        load_latest();
    });
}

void ChatSession::load_latest() {
    request("GET", "/conversation/detail?conversationId=" + conversation_id_ + "&limit=" + std::to_string(options_.history_page),
            nullptr, [this](int status, const json& j, const std::string& err) {
                if (status != 200) return fail("Could not load messages: " + error_text(status, j, err));
                std::vector<Message> page;
                for (const auto& m : j.value("messages", json::array()))
                    if (auto msg = message_from_json(m)) page.push_back(*msg);
                if (!page.empty()) conversation_.set_history_start(page.front().seq);
                conversation_.merge(page);
                phase_ = Phase::Ready;
                changed();
                connect();
            });
}

void ChatSession::connect() {
    if (!client_) {
        auto provider = [this](std::function<void(bool, std::string)> done) {
            const json body{{"hubName", options_.hub}, {"groupName", group_of(conversation_id_)}};
            request("POST", "/realtime/clientAccessUrl", &body, [done](int status, const json& j, const std::string& err) {
                if (status == 200 && j.contains("url") && j["url"].is_string()) return done(true, j["url"].get<std::string>());
                done(false, error_text(status, j, err));
            });
        };
        client_ = std::make_unique<wps::PubSubClient>(provider, sockets_, sched_, random_, client_options_);
        auto& ev = client_->events();
        ev.connected = [this](const std::string&, const std::optional<std::string>&) {
            // A new session: join, and catch up once the join is acknowledged so nothing that was
            // published between the history load and the join is missed.
            client_->join_group(group_of(conversation_id_), [this](const wps::SendResult& r) {
                if (r.ok) catch_up();
                changed();
            });
            changed();
        };
        ev.group_message = [this](const wps::GroupMessage& m) {
            if (m.group != group_of(conversation_id_) || !m.data.is_object()) return;
            if (m.data.value("type", "") != "chat.message") return;
            auto msg = message_from_json(m.data.value("message", json()));
            if (!msg || msg->conversationId != conversation_id_) return;
            if (conversation_.add_live(*msg)) catch_up();
            changed();
        };
        ev.status_changed = [this](const wps::ClientStatus&) { changed(); };
        ev.disconnected = [this](const wps::DisconnectInfo&) { changed(); };
        ev.stopped = [this](const wps::StopInfo&) { changed(); };
    }
    client_->start();
}

void ChatSession::catch_up() {
    if (catching_up_ > 0) {
        catch_up_again_ = true;
        return;
    }
    ++catching_up_;
    changed();
    const uint64_t after = conversation_.contiguous_seq();
    request("GET", "/conversation/detail?conversationId=" + conversation_id_ + "&afterSeq=" + std::to_string(after) +
                       "&limit=200",
            nullptr, [this](int status, const json& j, const std::string&) {
                --catching_up_;
                bool more = false;
                if (status == 200) {
                    std::vector<Message> page;
                    for (const auto& m : j.value("messages", json::array()))
                        if (auto msg = message_from_json(m)) page.push_back(*msg);
                    conversation_.merge(page);
                    more = j.value("hasMore", false);
                }
                if (more || catch_up_again_ || (status == 200 && conversation_.has_gap())) {
                    catch_up_again_ = false;
                    if (more || status == 200) catch_up();
                }
                changed();
            });
}

bool ChatSession::send(const std::string& text, std::string& why) {
    if (phase_ != Phase::Ready) {
        why = "Not ready yet.";
        return false;
    }
    std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        why = "The message is empty.";
        return false;
    }
    if (text.size() > max_message_bytes_) {
        why = "The message is too long (" + std::to_string(text.size()) + " of " + std::to_string(max_message_bytes_) + " bytes).";
        return false;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>((random_ ? random_() : 0.5) * 4294967295.0));
    const std::string cmid = options_.user_id + "-" + buf + "-" + std::to_string(++cmid_counter_);
    conversation_.add_pending(cmid, options_.user_id, text, static_cast<int64_t>(sched_.now_ms()));
    changed();
    post_reply(cmid, text);
    return true;
}

void ChatSession::retry(const std::string& clientMessageId) {
    const Message* m = conversation_.find_local(clientMessageId);
    if (!m || m->state != SendState::Failed) return;
    const std::string text = m->text;
    conversation_.mark_pending(clientMessageId);
    changed();
    post_reply(clientMessageId, text);
}

void ChatSession::post_reply(const std::string& cmid, const std::string& text) {
    const json body{{"conversationId", conversation_id_}, {"message", text}, {"clientMessageId", cmid}};
    request("POST", "/chat/reply", &body, [this, cmid](int status, const json& j, const std::string& err) {
        if ((status == 200 || status == 201) && j.contains("message")) {
            if (auto m = message_from_json(j["message"])) {
                conversation_.merge({*m});
                if (conversation_.has_gap()) catch_up();
            }
        } else {
            conversation_.mark_failed(cmid, error_text(status, j, err));
        }
        changed();
    });
}

void ChatSession::close_panel() {
    panel_open_ = false;
    if (client_) client_->stop();
    changed();
}

void ChatSession::open_panel() {
    if (panel_open_) return;
    panel_open_ = true;
    if (phase_ == Phase::Ready && client_) client_->start();
    changed();
}

} // namespace chat
