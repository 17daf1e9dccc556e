// notification_center.hpp - the notification feed's controller (platform-free).
//
// Holds the tab's shared connection (wps::Realtime) while the app is open, whether or not the
// chat panel is, and joins notifications:user:{me}, notifications:team:{t} for each team and
// notifications:global on it. Hybrid load: the first page and the unread count come from the API,
// live items from the socket; after every (re)connect the first page is fetched again, so the
// badge never drifts and items sent while the page was closed appear.
#pragma once

#include "api_client.hpp"
#include "notification_model.hpp"
#include "ports.hpp"
#include "pubsub_client.hpp"
#include "realtime.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace notify {

struct Toast {
    std::string id, title, body;
    uint64_t until_ms = 0;
};

class NotificationCenter {
public:
    NotificationCenter(wps::HttpClient& http, wps::Realtime& realtime, wps::Scheduler& sched, std::string api_base);
    ~NotificationCenter();

    // Starts after sign-in with the session's bearer token, user and teams.
    void start(const std::string& token, const std::string& user, const std::vector<std::string>& teams);
    // The session was renewed: its new bearer token, and how to renew it (a 401 asks once).
    void set_token(const std::string& token) { api_.set_token(token); }
    void set_renew(wps::ApiClient::Renew renew) { api_.set_renew(std::move(renew)); }
    void stop();

    void mark_read(const std::string& id);
    void mark_all_read();
    void archive(const std::string& id);
    void load_older();
    void reload();  // the first page again (the feed's "Retry" after a failed load; no-op while loading)

    const Feed& feed() const { return feed_; }
    std::vector<Toast> toasts(uint64_t now_ms) const;
    const wps::ClientStatus& connection() const;
    bool loading() const { return loading_ > 0; }
    const std::string& error() const { return error_; }

    std::function<void()> on_changed;
    // Returns false when another tab already showed this toast (cross-tab dedupe).
    std::function<bool(const std::string& id)> claim_toast;

private:
    void request(const std::string& method, const std::string& path, const nlohmann::json* body,
                 std::function<void(int, const nlohmann::json&)> done);
    void load_first_page();
    void post_mark(const char* path, const nlohmann::json& body);
    void changed();

    void join_groups();

    wps::ApiClient api_;
    wps::Realtime& realtime_;
    int listener_ = 0;
    wps::Scheduler& sched_;
    std::string user_;
    std::vector<std::string> groups_;
    Feed feed_;
    std::deque<Toast> toasts_;
    int loading_ = 0;
    std::string error_;
};

} // namespace notify
