// realtime.hpp - the tab's one Web PubSub connection, shared by the chat panel and the
// notification feed (platform-free).
//
// Azure Web PubSub bills and limits concurrent connections, so a tab holds one socket, not one
// per feature. Each feature holds the connection while it needs it (the feed while the app runs,
// the chat panel while it is open): the socket opens on the first hold, once a sign-in token is
// known, and stops (never to reconnect) when the last holder lets go. Every start and reconnect
// asks the backend for a fresh access URL that lets the connection join the groups the holders
// declared (set_joinable). Events fan out to every listener.
#pragma once

#include "api_client.hpp"
#include "pubsub_client.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wps {

class Realtime {
public:
    Realtime(HttpClient& http, SocketFactory sockets, Scheduler& sched, RandomSource random, std::string api_base,
             std::string hub = "chat", ClientOptions options = {});
    ~Realtime();
    Realtime(const Realtime&) = delete;
    Realtime& operator=(const Realtime&) = delete;

    void set_token(std::string token);  // the app session's bearer token (starts a waiting hold)
    // Renews an expired bearer token when the access URL request is answered 401 (ApiClient::set_renew).
    void set_renew(ApiClient::Renew renew) { api_.set_renew(std::move(renew)); }
    // Groups `owner` wants this connection to be allowed to join (asked for in the access URL).
    // Changing them while connected reconnects with a fresh URL: declare them before holding.
    void set_joinable(const std::string& owner, std::vector<std::string> groups);

    void hold(const std::string& owner);
    void release(const std::string& owner);
    bool held_by(const std::string& owner) const { return holders_.count(owner) > 0; }

    // Every event a listener sets is called, in the order listeners were added.
    int listen(ClientEvents events);
    void unlisten(int id);

    // Browser hints for the tab's connection, whoever holds it (the feed alone when the chat is
    // closed): network down/up (no dialling while down, at once when back) and page shown again
    // (a liveness probe: the socket may be half-open after sleep).
    void notify_offline() { client_->notify_offline(); }
    void notify_online() { client_->notify_online(); }
    void notify_resumed() { client_->notify_resumed(); }
    // The page is going away (beforeunload, pagehide): the socket closes now with a normal close,
    // so the service ends the session at once (presence goes offline; no session waits for a
    // recovery that cannot come). A browser tearing the page down may never get that close frame
    // out (Chromium on a loaded machine), so the backend is also asked to end the connection
    // (POST /realtime/leave, a keepalive request that outlives the page). false: the page is back
    // (from the back/forward cache, or it stayed after beforeunload): holders connect again.
    void set_page_gone(bool gone);

    PubSubClient& client() { return *client_; }
    const ClientStatus& status() const { return client_->status(); }
    bool connected() const { return status().state == ClientState::Connected; }

private:
    void update();
    template <class F> void each(F&& f);

    ApiClient api_;
    std::string hub_;
    bool page_gone_ = false;
    std::unique_ptr<PubSubClient> client_;
    std::set<std::string> holders_;
    std::map<std::string, std::vector<std::string>> joinable_;
    std::map<int, ClientEvents> listeners_;
    int next_listener_ = 1;
};

} // namespace wps
