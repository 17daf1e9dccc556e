// realtime.cpp - see realtime.hpp.
#include "realtime.hpp"

namespace wps {

using nlohmann::json;

Realtime::Realtime(HttpClient& http, SocketFactory sockets, Scheduler& sched, RandomSource random, std::string api_base,
                   std::string hub, ClientOptions options)
    : api_(http, std::move(api_base)), hub_(std::move(hub)) {
    auto provider = [this](std::function<void(bool, std::string)> done) {
        std::set<std::string> groups;
        for (const auto& [owner, list] : joinable_) groups.insert(list.begin(), list.end());
        const json body{{"hubName", hub_}, {"groups", groups}};
        api_.call("POST", "/realtime/clientAccessUrl", &body, [done](int status, const json& j, const std::string& err) {
            if (status == 200 && j.contains("url") && j["url"].is_string()) return done(true, j["url"].get<std::string>());
            done(false, ApiClient::error_text(status, j, err));
        });
    };
    client_ = std::make_unique<PubSubClient>(provider, std::move(sockets), sched, std::move(random), std::move(options));
    ClientEvents& ev = client_->events();
    ev.connected = [this](const std::string& id, const std::optional<std::string>& user) {
        each([&](ClientEvents& l) { if (l.connected) l.connected(id, user); });
    };
    ev.disconnected = [this](const DisconnectInfo& d) { each([&](ClientEvents& l) { if (l.disconnected) l.disconnected(d); }); };
    ev.stopped = [this](const StopInfo& s) { each([&](ClientEvents& l) { if (l.stopped) l.stopped(s); }); };
    ev.group_message = [this](const GroupMessage& m) { each([&](ClientEvents& l) { if (l.group_message) l.group_message(m); }); };
    ev.server_message = [this](const ServerMessage& m) { each([&](ClientEvents& l) { if (l.server_message) l.server_message(m); }); };
    ev.rejoin_group_failed = [this](const std::string& g, const ErrorDetail& e) {
        each([&](ClientEvents& l) { if (l.rejoin_group_failed) l.rejoin_group_failed(g, e); });
    };
    ev.status_changed = [this](const ClientStatus& s) { each([&](ClientEvents& l) { if (l.status_changed) l.status_changed(s); }); };
    ev.frame_rejected = [this](const std::string& why) { each([&](ClientEvents& l) { if (l.frame_rejected) l.frame_rejected(why); }); };
}

Realtime::~Realtime() = default;

template <class F> void Realtime::each(F&& f) {
    // A listener may add or remove listeners (or destroy its owner's state) while being called:
    // iterate over the ids present now, skipping any removed meanwhile.
    std::vector<int> ids;
    for (const auto& [id, l] : listeners_) ids.push_back(id);
    for (int id : ids) {
        auto it = listeners_.find(id);
        if (it == listeners_.end()) continue;
        ClientEvents copy = it->second;
        f(copy);
    }
}

void Realtime::set_token(std::string token) {
    api_.set_token(std::move(token));
    update();
}

void Realtime::set_joinable(const std::string& owner, std::vector<std::string> groups) {
    if (joinable_[owner] == groups) return;
    joinable_[owner] = std::move(groups);
    // An open connection's URL did not allow these groups: start again with a fresh one.
    if (client_->status().state != ClientState::Stopped) {
        client_->stop();
        update();
    }
}

void Realtime::hold(const std::string& owner) {
    holders_.insert(owner);
    update();
}

void Realtime::release(const std::string& owner) {
    holders_.erase(owner);
    update();
}

void Realtime::update() {
    const bool want = !holders_.empty() && !api_.token().empty() && !page_gone_;
    if (want && client_->status().state == ClientState::Stopped) client_->start();
    if (!want && client_->status().state != ClientState::Stopped) client_->stop();
}

void Realtime::set_page_gone(bool gone) {
    const ClientStatus& s = client_->status();
    if (gone && !page_gone_ && s.state != ClientState::Stopped && !s.connection_id.empty() && !api_.token().empty())
        api_.beacon("/realtime/leave", json{{"connectionId", s.connection_id}});
    page_gone_ = gone;
    update();
}

int Realtime::listen(ClientEvents events) {
    const int id = next_listener_++;
    listeners_.emplace(id, std::move(events));
    return id;
}

void Realtime::unlisten(int id) { listeners_.erase(id); }

} // namespace wps
