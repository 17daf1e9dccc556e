// notification_center.cpp - see notification_center.hpp.
#include "notification_center.hpp"
#include "chat_wire.hpp"

#include "json_limits.hpp"

namespace notify {

using nlohmann::json;

namespace {
constexpr uint64_t kToastMs = 6000;
constexpr std::size_t kMaxToasts = 3;
constexpr std::size_t kPageSize = 20;

std::vector<Item> parse_items(const json& j) {
    std::vector<Item> out;
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array()) return out;
    for (const auto& i : j["items"])
        if (auto it = item_from_json(i)) out.push_back(*it);
    return out;
}
std::optional<std::string> cursor_of(const json& j) {
    if (j.is_object() && j.contains("nextCursor") && j["nextCursor"].is_string()) return j["nextCursor"].get<std::string>();
    return std::nullopt;
}
} // namespace

NotificationCenter::NotificationCenter(wps::HttpClient& http, wps::Realtime& realtime, wps::Scheduler& sched, std::string api_base)
    : api_(http, std::move(api_base)), realtime_(realtime), sched_(sched) {
    wps::ClientEvents ev;
    ev.connected = [this](const std::string&, const std::optional<std::string>&) {
        if (!groups_.empty()) join_groups();
    };
    ev.group_message = [this](const wps::GroupMessage& m) {
        if (!chat::parse_notification_group(m.group) || wps::string_or(m.data, "type") != "notification") return;
        auto item = item_from_json(m.data.value("notification", json()));
        if (!item || !feed_.add_live(*item)) return;
        if (!claim_toast || claim_toast(item->id)) {
            toasts_.push_back(Toast{item->id, item->title, item->body, sched_.now_ms() + kToastMs});
            while (toasts_.size() > kMaxToasts) toasts_.pop_front();
        }
        changed();
    };
    ev.status_changed = [this](const wps::ClientStatus&) { changed(); };
    listener_ = realtime_.listen(std::move(ev));
}

NotificationCenter::~NotificationCenter() {
    realtime_.unlisten(listener_);
    realtime_.release("notifications");
}

const wps::ClientStatus& NotificationCenter::connection() const { return realtime_.status(); }

void NotificationCenter::changed() {
    if (on_changed) on_changed();
}

void NotificationCenter::request(const std::string& method, const std::string& path, const json* body,
                                 std::function<void(int, const json&)> done) {
    api_.call(method, path, body, [done = std::move(done)](int status, const json& j, const std::string&) { done(status, j); });
}

void NotificationCenter::start(const std::string& token, const std::string& user, const std::vector<std::string>& teams) {
    api_.set_token(token);
    realtime_.set_token(token);
    user_ = user;
    groups_ = {chat::user_notifications_group(user)};
    for (const auto& t : teams) groups_.push_back(chat::team_notifications_group(t));
    groups_.push_back(chat::global_notifications_group());
    realtime_.set_joinable("notifications", groups_);
    load_first_page();
    realtime_.hold("notifications");
    if (realtime_.connected()) join_groups();  // the chat panel opened the connection first
}

void NotificationCenter::join_groups() {
    auto pending = std::make_shared<std::size_t>(groups_.size());
    for (const auto& g : groups_)
        realtime_.client().join_group(g, [this, pending](const wps::SendResult&) {
            // Once every group is joined, recompute from the API: nothing sent while we were
            // away (or before the join) is missed, and the badge is the server's.
            if (--*pending == 0) load_first_page();
        });
}

void NotificationCenter::stop() { realtime_.release("notifications"); }

void NotificationCenter::load_first_page() {
    ++loading_;
    request("GET", "/notifications?limit=" + std::to_string(kPageSize), nullptr, [this](int status, const json& j) {
        --loading_;
        if (status == 200) {
            feed_.apply_page(parse_items(j), cursor_of(j), wps::u64_or(j, "unreadCount"), true);
            error_.clear();
        } else {
            error_ = "Could not load notifications (HTTP " + std::to_string(status) + ")";
        }
        changed();
    });
}

void NotificationCenter::reload() {
    if (loading_ > 0 || user_.empty()) return;
    load_first_page();
}

void NotificationCenter::load_older() {
    if (!feed_.next_cursor() || loading_ > 0) return;
    ++loading_;
    request("GET", "/notifications?limit=" + std::to_string(kPageSize) + "&cursor=" + *feed_.next_cursor(), nullptr,
            [this](int status, const json& j) {
                --loading_;
                if (status == 200) feed_.apply_page(parse_items(j), cursor_of(j), wps::u64_or(j, "unreadCount", feed_.unread()), false);
                changed();
            });
}

void NotificationCenter::post_mark(const char* path, const json& body) {
    request("POST", path, &body, [this](int status, const json& j) {
        if (status == 200 && j.contains("unreadCount") && j["unreadCount"].is_number_unsigned())
            feed_.set_unread(j["unreadCount"].get<uint64_t>());
        changed();
    });
}

void NotificationCenter::mark_read(const std::string& id) {
    feed_.mark_read_local(id);
    changed();
    post_mark("/notifications/read", json{{"ids", {id}}});
}

void NotificationCenter::mark_all_read() {
    feed_.mark_all_read_local();
    changed();
    post_mark("/notifications/read", json{{"all", true}});
}

void NotificationCenter::archive(const std::string& id) {
    feed_.archive_local(id);
    changed();
    post_mark("/notifications/archive", json{{"ids", {id}}});
}

std::vector<Toast> NotificationCenter::toasts(uint64_t now_ms) const {
    std::vector<Toast> out;
    for (const auto& t : toasts_)
        if (t.until_ms > now_ms) out.push_back(t);
    return out;
}

} // namespace notify
