// app_api.cpp - see app_api.hpp.
#include "app_api.hpp"

#include "cloud_events.hpp"

#include "jwt.hpp"
#include "rest_api.hpp"

#include "core/base64.hpp"
#include "core/json_limits.hpp"
#include "sqlite_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace stub {

using nlohmann::json;


namespace {

constexpr std::size_t kMaxHistoryPage = 200;
constexpr std::size_t kMaxContextBytes = 4096;     // a conversation's free-form context, serialized
constexpr std::size_t kMaxMembers = 100;           // members named when a conversation is created
constexpr int kCreateBurst = 10;
constexpr int kUploadBurst = 10;
constexpr int kNotifyPerMinute = 30;              // notifications one user may create (burst 30)
constexpr int kNotifyBurst = 30;

// `429 Too Many Requests` with the wait in seconds.
Response too_many(const std::string& what, int64_t wait) {
    Response busy = error_response(429, "TooManyRequests", "Too many " + what + "; try again in " + std::to_string(wait) + " s.");
    busy.headers.emplace_back("Retry-After", std::to_string(wait));
    return busy;
}

// An action link a user may put in a notification: an in-app route (app:word/word...) or a
// same-site path (/word/...), both from a closed character set, so no browser can read them as
// another scheme or a protocol-relative URL.
bool in_app_link(const std::string& link) {
    static const std::regex app("^app:[A-Za-z0-9_-]+(/[A-Za-z0-9_.~-]+)*$");
    static const std::regex path("^(/[A-Za-z0-9_.~-]+)+/?(\\?[A-Za-z0-9_.~=&%-]*)?$|^/$");
    return link.size() <= 512 && (std::regex_match(link, app) || std::regex_match(link, path)) &&
           link.find("/../") == std::string::npos && link.find("/./") == std::string::npos;
}

// An https URL with a plain host name, nothing a browser or a header could read otherwise.
bool safe_https_url(const std::string& url) {
    if (url.size() > 2048 || url.find_first_of(std::string(" \r\n\t\0\"<>\\", 9)) != std::string::npos) return false;
    wps::Url u;
    return url.rfind("https://", 0) == 0 && wps::parse_url(url, u) &&
           u.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == std::string::npos;
}

// An attachment link a message may carry: exactly the shape upload_blob returns, or an https URL.
bool safe_attachment_url(const std::string& url) {
    static const std::regex ours("^/blobs/blob_[0-9a-f]{20}\\?exp=[0-9]{1,12}&sig=[A-Za-z0-9_-]{43}$");
    return std::regex_match(url, ours) || safe_https_url(url);
}

// A NUL character (U+0000) in any string of `j`, object keys included.
bool has_nul(const json& j) {
    if (j.is_string()) return j.get_ref<const std::string&>().find('\0') != std::string::npos;
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it.key().find('\0') != std::string::npos || has_nul(it.value())) return true;
    } else if (j.is_array()) {
        for (const auto& v : j)
            if (has_nul(v)) return true;
    }
    return false;
}

constexpr const char* kNulRefused = "Text must not contain a NUL character (U+0000).";

// The body as a JSON object, or a 400 in `err`. Text with a NUL character is refused here for
// every store: PostgreSQL's text cannot hold it (PgStore would throw, a 500), and SQLite would
// keep it where other code compares C strings.
std::optional<json> body_object(const Request& r, Response& err) {
    std::string why;
    json j = wps::parse_json_bounded(r.body, &why);
    if (j.is_discarded() || !j.is_object()) {
        err = error_response(400, "BadRequest", "The request body must be a JSON object" + (why.empty() ? "" : " (" + why + ")") + ".");
        return std::nullopt;
    }
    if (has_nul(j)) {
        err = error_response(400, "BadRequest", kNulRefused);
        return std::nullopt;
    }
    return j;
}

// The users seed() creates: the stub's whole directory (the store has no listing of users).
std::vector<User> seeded_users(const Config& config) {
    std::vector<User> users{User{"alice", "Alice Martin", {"core"}}, User{"bob", "Bob Chen", {"core"}},
                            User{"carol", "Carol Diaz", {"design"}}};
    for (int i = 1; i <= config.demo_users; ++i)
        users.push_back(User{"user-" + std::to_string(i), "User " + std::to_string(i), {"load"}});
    return users;
}

constexpr std::size_t kMaxContacts = 500;

// GET /chat/contacts: whom the user may pick for a new conversation. Only people the user already
// shares a conversation or a team with (never the whole directory), and only their ids and
// display names (no teams, no memberships), sorted by name, at most kMaxContacts.
Response list_contacts(Store& store, const Config& config, const std::string& me) {
    std::set<std::string> ids;
    for (const auto& c : store.conversations_for(me))
        for (const auto& m : c.members) ids.insert(m);
    const auto self = store.user(me);
    for (const auto& u : seeded_users(config)) {
        if (!self) break;
        for (const auto& t : u.teams)
            if (std::find(self->teams.begin(), self->teams.end(), t) != self->teams.end()) ids.insert(u.id);
    }
    ids.erase(me);
    std::vector<User> people;
    for (const auto& id : ids)
        if (auto u = store.user(id)) people.push_back(*u);
    std::sort(people.begin(), people.end(), [](const User& a, const User& b) {
        return a.displayName != b.displayName ? a.displayName < b.displayName : a.id < b.id;
    });
    if (people.size() > kMaxContacts) people.resize(kMaxContacts);
    json list = json::array();
    for (const auto& u : people) list.push_back(json{{"userId", u.id}, {"displayName", u.displayName}});
    return json_response(200, json{{"users", list}});
}

std::optional<uint64_t> u64_param(const Request& r, const char* name, Response& err) {
    auto v = r.param(name);
    if (!v || v->empty()) return uint64_t{0};
    auto n = parse_uint(*v, INT64_MAX);
    if (!n) err = error_response(400, "BadRequest", std::string("'") + name + "' must be a non-negative integer.");
    return n;
}

} // namespace

AppApi::AppApi(const Config& config, Store& store, std::function<void()> outbox_notify, PubSubTarget target)
    : config_(config), store_(store), outbox_notify_(std::move(outbox_notify)), target_(std::move(target)) {
    secret_ = config.app_secret.empty() ? hmac_sha256(target_.access_key, "app-session-tokens") : config.app_secret;
}

void AppApi::seed() {
    for (const auto& u : seeded_users(config_)) store_.upsert_user(u);
    if (!store_.conversation_exists("demo")) {
        store_.create_conversation("demo", "Launch planning",
                                   json{{"kind", "project"}, {"name", "Launch planning"}}.dump(),
                                   {"alice", "bob", "carol"}, "alice", unix_now_ms());
        chat::Message m;
        m.conversationId = "demo";
        m.senderId = "carol";
        m.text = "Welcome to the launch channel! Say hi \u2014 \u03b3\u03b5\u03b9\u03b1, \u043f\u0440\u0438\u0432\u0435\u0442.";
        m.clientMessageId = "seed-1";
        store_.append_message(m, conversation_group("demo"), unix_now_ms());
        Notification n;
        n.id = "welcome";
        n.targetKind = "global";
        n.title = "Welcome to the demo";
        n.body = "Open the launch channel and say hello.";
        n.actionLabel = "Open chat";
        n.actionUrl = "app:conversation/demo";
        n.createdBy = "backend";
        store_.create_notification(n, chat::global_notifications_group(), unix_now_ms());
        if (outbox_notify_) outbox_notify_();
    }
}

std::optional<std::string> AppApi::authenticate(const Request& r, Response& error) {
    const std::string auth = r.header("authorization");
    if (auth.rfind("Bearer ", 0) != 0) {
        error = error_response(401, "Unauthorized", "Sign in first: send 'Authorization: Bearer <token>'.");
        return std::nullopt;
    }
    const std::string token = auth.substr(7);
    const int64_t now = unix_now_s();
    {
        std::lock_guard<std::mutex> lock(sessions_mu_);
        if (auto it = sessions_.find(token); it != sessions_.end()) {
            if (it->second.exp > static_cast<double>(now)) return it->second.user;
            sessions_.erase(it);  // expired: verified again below, which says so
        }
    }
    auto check = jwt_verify(token, secret_, now);
    if (!check.ok || !check.claims.contains("sub") || !check.claims["sub"].is_string() ||
        wps::string_or(check.claims, "aud") != "chat-app") {
        error = error_response(401, "Unauthorized",
                               "Invalid or expired session token" + (check.error.empty() ? "" : ": " + check.error) + ".");
        return std::nullopt;
    }
    std::string user = check.claims["sub"].get<std::string>();
    if (!store_.user(user)) {
        error = error_response(401, "Unauthorized", "Unknown user '" + user + "'.");
        return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(sessions_mu_);
    if (sessions_.size() >= kMaxCachedSessions) sessions_.clear();
    sessions_[token] = VerifiedSession{user, check.claims["exp"].get<double>()};
    return user;
}

std::optional<Response> AppApi::handle(const Request& r) {
    const std::string& p = r.path;
    const std::string& m = r.method;
    if (p == "/healthz" && m == "GET") return std::nullopt;  // answered by the server (knows the worker)
    if (p == "/config" && m == "GET")
        // serverTime: the clock attachment links' expiry is on (clients time their renewal by it).
        return json_response(200, json{{"hub", target_.hub}, {"maxMessageBytes", config_.max_message_bytes},
                                       {"maxAttachmentBytes", config_.max_blob_bytes}, {"devLogin", config_.dev},
                                       {"serverTime", unix_now_ms()}});
    if (p == "/auth/dev-login" && m == "POST") return dev_login(r);
    if (p == "/eventhandler") return event_handler(r);
    if (r.segments.size() == 2 && r.segments[0] == "blobs" && (m == "GET" || m == "HEAD")) return download_blob(r);
    static const char* const kAuthed[] = {"/me", "/realtime/clientAccessUrl", "/realtime/leave", "/chat/conversations", "/chat/contacts", "/chat/reply",
                                          "/chat/subscribe", "/chat/read", "/conversation/detail", "/notifications",
                                          "/notifications/unread-count", "/notifications/read",
                                          "/notifications/seen", "/notifications/archive", "/blobs"};
    bool known = false;
    for (const char* k : kAuthed) known = known || p == k;
    // /chat/messages/{messageId}: PATCH (edit) and DELETE; /chat/messages/{messageId}/reactions:
    // POST and DELETE {emoji}.
    const bool message_path = r.segments.size() == 3 && r.segments[0] == "chat" && r.segments[1] == "messages";
    const bool reactions_path =
        r.segments.size() == 4 && r.segments[0] == "chat" && r.segments[1] == "messages" && r.segments[3] == "reactions";
    if (!known && !message_path && !reactions_path) return std::nullopt;
    for (const auto& [k, v] : r.query)  // decoded: %00 in a query parameter (see body_object)
        if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos)
            return error_response(400, "BadRequest", kNulRefused);
    if (p != "/blobs" && r.body.size() > config_.max_body_bytes)
        return error_response(413, "PayloadTooLarge", "The request body exceeds " + std::to_string(config_.max_body_bytes) + " bytes.");

    Response err;
    auto user = authenticate(r, err);
    if (!user) return err;
    if (p == "/me" && m == "GET") {
        auto u = store_.user(*user);
        return json_response(200, json{{"userId", u->id}, {"displayName", u->displayName}, {"teams", u->teams}});
    }
    if (p == "/realtime/clientAccessUrl" && m == "POST") return client_access_url(r, *user);
    if (p == "/realtime/leave" && m == "POST") return leave(r, *user);
    if (p == "/chat/conversations" && m == "GET") return list_conversations(*user);
    if (p == "/chat/conversations" && m == "POST") return create_conversation(r, *user);
    if (p == "/chat/contacts" && m == "GET") return list_contacts(store_, config_, *user);
    if (p == "/chat/reply" && m == "POST") return reply(r, *user);
    if (p == "/chat/subscribe" && m == "POST") return subscribe(r, *user);
    if (p == "/chat/read" && m == "POST") return mark_read(r, *user);
    if (message_path && m == "GET") return get_message(*user, r.segments[2]);
    if (message_path && (m == "PATCH" || m == "DELETE")) return change_message(r, *user, r.segments[2]);
    if (reactions_path && (m == "POST" || m == "DELETE")) return react(r, *user, r.segments[2]);
    if (p == "/conversation/detail" && m == "GET") return detail(r, *user);
    if (p == "/notifications" && m == "POST") return create_notification(r, *user, false);
    if (p == "/notifications" && m == "GET") return list_notifications(r, *user);
    if (p == "/notifications/unread-count" && m == "GET")
        return json_response(200, json{{"unreadCount", store_.unread_notifications(*user)}});
    if (p == "/notifications/read" && m == "POST") return mark_notifications(r, *user, NotificationMark::Read);
    if (p == "/notifications/seen" && m == "POST") return mark_notifications(r, *user, NotificationMark::Seen);
    if (p == "/notifications/archive" && m == "POST") return mark_notifications(r, *user, NotificationMark::Archived);
    if (p == "/blobs" && m == "POST") return upload_blob(r, *user);
    return error_response(405, "MethodNotAllowed", m + " is not supported on " + p + ".");
}

Response AppApi::dev_login(const Request& r) {
    if (!config_.dev) return error_response(404, "NotFound", "Dev login is disabled on this server.");
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    auto uid = body->find("userId");
    if (uid == body->end() || !uid->is_string()) return error_response(400, "BadRequest", "'userId' (string) is required.");
    auto u = store_.user(uid->get<std::string>());
    if (!u) return error_response(401, "Unauthorized", "'" + uid->get<std::string>() + "' is not a demo user.");
    const int64_t exp = unix_now_s() + config_.session_ttl_s;
    const std::string token = jwt_sign(json{{"sub", u->id}, {"aud", "chat-app"}, {"exp", exp}}, secret_);
    return json_response(200, json{{"token", token}, {"userId", u->id}, {"displayName", u->displayName},
                                   {"teams", u->teams}, {"expiresAt", exp}});
}

std::optional<std::string> AppApi::roles_for(const std::string& user, const std::string& group,
                                             std::vector<std::string>& roles) {
    if (const auto conv = chat::parse_conversation_group(group)) {
        // conversation:{id} carries stored messages and only the backend publishes there; members
        // may send to conversation:{id}:typing, which carries typing signals and nothing else.
        const std::string& id = conv->conversationId;
        if (!store_.is_member(id, user)) return "You are not a member of conversation '" + id + "'.";
        const std::string messages = conversation_group(id), typing = chat::typing_group(id);
        roles.push_back("webpubsub.joinLeaveGroup." + messages);
        roles.push_back("webpubsub.joinLeaveGroup." + typing);
        roles.push_back("webpubsub.sendToGroup." + typing);
        return std::nullopt;
    }
    if (const auto n = chat::parse_notification_group(group)) {
        if (n->audience == chat::NotificationAudience::User && n->id != user)
            return std::string("A user may only join their own notification group.");
        if (n->audience == chat::NotificationAudience::Team) {
            auto u = store_.user(user);
            bool member = false;
            if (u)
                for (auto& t : u->teams) member = member || t == n->id;
            if (!member) return "You are not a member of team '" + n->id + "'.";
        }
        roles.push_back("webpubsub.joinLeaveGroup." + group);  // read-only: no send role
        return std::nullopt;
    }
    return "Unknown group '" + group + "'.";
}

Response AppApi::client_access_url(const Request& r, const std::string& user) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    if (body->contains("hubName") && !(*body)["hubName"].is_string() && !(*body)["hubName"].is_null())
        return error_response(400, "BadRequest", "'hubName' must be a string.");
    const std::string hub = wps::string_or(*body, "hubName", target_.hub);
    if (hub != target_.hub) return error_response(404, "NotFound", "Unknown hub '" + hub + "'.");
    std::vector<std::string> groups;
    if (auto g = body->find("groupName"); g != body->end() && !g->is_null()) {
        if (!g->is_string()) return error_response(400, "BadRequest", "'groupName' must be a string.");
        groups.push_back(g->get<std::string>());
    }
    if (auto gs = body->find("groups"); gs != body->end() && !gs->is_null()) {
        if (!gs->is_array()) return error_response(400, "BadRequest", "'groups' must be an array of strings.");
        for (auto& g : *gs) {
            if (!g.is_string()) return error_response(400, "BadRequest", "'groups' must be an array of strings.");
            groups.push_back(g.get<std::string>());
        }
    }
    if (groups.size() > 32) return error_response(400, "BadRequest", "At most 32 groups per access URL.");
    std::vector<std::string> roles;
    for (auto& g : groups)
        if (auto why = roles_for(user, g, roles)) return error_response(403, "Forbidden", *why);
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    const std::string& http = target_.http_endpoint;
    if (http.empty()) return error_response(503, "ServiceUnavailable", "The server is starting.");
    const std::string token = make_client_token(target_.access_key, http, hub, user, roles, {}, config_.token_ttl_s);
    std::string ws = http;
    if (ws.rfind("https://", 0) == 0) ws = "wss://" + ws.substr(8);
    else if (ws.rfind("http://", 0) == 0) ws = "ws://" + ws.substr(7);
    return json_response(200, json{{"url", ws + "/client/hubs/" + hub + "?access_token=" + token},
                                   {"expiresAt", unix_now_s() + config_.token_ttl_s},
                                   {"groups", groups}});
}

Response AppApi::list_conversations(const std::string& user) {
    json list = json::array();
    auto convs = store_.conversations_for(user);
    std::sort(convs.begin(), convs.end(), [](const ConversationSummary& a, const ConversationSummary& b) {
        const int64_t ta = a.lastMessage ? a.lastMessage->createdAtMs : 0, tb = b.lastMessage ? b.lastMessage->createdAtMs : 0;
        return ta > tb;
    });
    for (auto& c : convs) list.push_back(summary_out(c));
    return json_response(200, json{{"conversations", list}});
}

Response AppApi::create_conversation(const Request& r, const std::string& user) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    if (const int64_t wait = rate_limited("create", user, config_.create_rate_per_min, kCreateBurst))
        return too_many("new conversations", wait);
    auto title = body->find("title");
    if (title == body->end() || !title->is_string() || title->get<std::string>().empty() ||
        title->get<std::string>().size() > 200)
        return error_response(400, "BadRequest", "'title' must be a non-empty string of at most 200 bytes.");
    std::vector<std::string> members{user};
    if (auto ms = body->find("members"); ms != body->end()) {
        if (!ms->is_array()) return error_response(400, "BadRequest", "'members' must be an array of user ids.");
        if (ms->size() > kMaxMembers)
            return error_response(400, "BadRequest", "At most " + std::to_string(kMaxMembers) + " members per conversation.");
        for (auto& mem : *ms) {
            if (!mem.is_string() || !store_.user(mem.get<std::string>()))
                return error_response(400, "BadRequest", "Unknown member " + mem.dump() + ".");
            if (std::find(members.begin(), members.end(), mem.get<std::string>()) == members.end())
                members.push_back(mem.get<std::string>());
        }
    }
    json context = body->value("context", json::object());
    if (!context.is_object()) return error_response(400, "BadRequest", "'context' must be an object.");
    const std::string context_text = context.dump(-1, ' ', false, json::error_handler_t::replace);
    if (context_text.size() > kMaxContextBytes)
        return error_response(413, "PayloadTooLarge", "'context' is " + std::to_string(context_text.size()) +
                                                          " bytes; the limit is " + std::to_string(kMaxContextBytes) + ".");
    const std::string id = store_.create_conversation("", title->get<std::string>(), context_text, members, user, unix_now_ms());
    if (outbox_notify_) outbox_notify_();  // its conversation.created row, for the members' lists
    return json_response(201, json{{"conversation", summary_out(*store_.conversation(id, user))}});
}

Response AppApi::reply(const Request& r, const std::string& user) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    auto cid = body->find("conversationId");
    auto text = body->find("message");
    if (cid == body->end() || !cid->is_string()) return error_response(400, "BadRequest", "'conversationId' (string) is required.");
    if (text == body->end() || !text->is_string()) return error_response(400, "BadRequest", "'message' (string) is required.");
    const std::string& msg = text->get_ref<const std::string&>();
    chat::Message draft;
    draft.conversationId = cid->get<std::string>();
    draft.senderId = user;
    draft.text = msg;
    if (auto cm = body->find("clientMessageId"); cm != body->end() && !cm->is_null()) {
        if (!cm->is_string() || cm->get<std::string>().size() > 128)
            return error_response(400, "BadRequest", "'clientMessageId' must be a string of at most 128 bytes.");
        draft.clientMessageId = cm->get<std::string>();
    }
    if (auto att = body->find("attachment"); att != body->end() && !att->is_null()) {
        std::string why;
        draft.attachment = chat::attachment_from_json(*att, &why, safe_attachment_url);
        if (!draft.attachment) return error_response(400, "BadRequest", why);
        // One of our links: signed by this server, for a file that exists, and either still valid
        // or the poster's own upload (the history renews links, so an old link must not become
        // lasting access to someone else's file).
        if (const std::string id = blob_id_of(draft.attachment); !id.empty()) {
            if (issued_blob(draft.attachment).empty())
                return error_response(400, "BadRequest", "'attachment.url' is not a link this server issued.");
            const auto meta = store_.blob(id);
            if (!meta) return error_response(400, "BadRequest", "'attachment.url' names no stored file.");
            if (meta->uploaderId != user && blob_link_expired(draft.attachment->url))
                return error_response(400, "BadRequest", "'attachment.url' has expired; upload the file again.");
        }
    }
    std::optional<std::string> reply_to;  // checked once membership is known (no hint about other conversations)
    if (auto rt = body->find("replyTo"); rt != body->end() && !rt->is_null()) {
        if (!rt->is_string() || rt->get_ref<const std::string&>().empty() || rt->get_ref<const std::string&>().size() > chat::kMaxMessageIdBytes)
            return error_response(400, "BadRequest", "'replyTo' must be the id of a message of this conversation.");
        reply_to = rt->get<std::string>();
    }
    if (msg.empty() && !draft.attachment) return error_response(400, "BadRequest", "The message is empty.");
    if (msg.size() > config_.max_message_bytes)
        return error_response(413, "PayloadTooLarge", "The message is " + std::to_string(msg.size()) +
                                                          " bytes; the limit is " + std::to_string(config_.max_message_bytes) + ".");
    if (!chat::valid_utf8(msg)) return error_response(400, "BadRequest", "The message is not valid UTF-8.");
    if (!store_.conversation_exists(draft.conversationId))
        return error_response(404, "NotFound", "Conversation '" + draft.conversationId + "' does not exist.");
    if (!store_.is_member(draft.conversationId, user))
        return error_response(403, "Forbidden", "You are not a member of this conversation.");
    if (reply_to && !draft.clientMessageId.empty()) {
        // A replay of a stored reply is answered as before, whatever happened to its parent since.
        if (auto stored = store_.message_by_client_id(draft.conversationId, user, draft.clientMessageId))
            return json_response(200, json{{"message", message_out(*stored)}, {"duplicate", true}});
    }
    if (reply_to) {
        // A reply links a message of the same conversation (the same answer for one that does not
        // exist and one elsewhere); one deleted meanwhile is quoted as deleted.
        const auto parent = store_.message(*reply_to);
        if (!parent || parent->conversationId != draft.conversationId)
            return error_response(400, "BadRequest", "'replyTo' must be the id of a message of this conversation.");
        if (parent->deleted) return error_response(409, "Conflict", "The message you reply to was deleted.");
        draft.replyToId = parent->messageId;
        draft.replyToSeq = parent->seq;
    }
    if (const int64_t wait = rate_limited("send", user, config_.send_rate_per_min, config_.send_burst)) {
        // A replay of a stored message (a client retrying a lost answer, e.g. after a restart: the
        // buckets are stored and outlive it) is answered as before, never refused.
        if (!draft.clientMessageId.empty())
            if (auto stored = store_.message_by_client_id(draft.conversationId, user, draft.clientMessageId))
                return json_response(200, json{{"message", message_out(*stored)}, {"duplicate", true}});
        return too_many("messages", wait);
    }
    // Mentions: each member named "@id" (not the sender) gets a notification in their own feed,
    // stored with the message (one transaction). It says who and where, never the text (a
    // message deleted later leaves no copy in anyone's feed); its action opens the message.
    std::vector<std::string> mentioned;
    for (const std::string& id : chat::mentions(msg))
        if (id != user && store_.is_member(draft.conversationId, id)) mentioned.push_back(id);
    Store::Followups followups;
    if (!mentioned.empty()) {
        const auto conv = store_.conversation(draft.conversationId, user);
        const std::string title = conv ? conv->title : draft.conversationId;
        const auto sender = store_.user(user);
        const std::string who = sender && !sender->displayName.empty() ? sender->displayName : user;
        followups = [mentioned, title, who, user](const chat::Message& stored) {
            std::vector<std::pair<Notification, std::string>> out;
            for (const std::string& id : mentioned) {
                Notification n;
                n.id = "mention:" + stored.messageId + ":" + id;
                n.targetKind = "user";
                n.targetId = id;
                n.title = who + " mentioned you";
                n.body = "in \u201c" + title + "\u201d";
                n.actionLabel = "Open";
                n.actionUrl = chat::message_link(stored.conversationId, stored.messageId, stored.seq);
                n.createdBy = user;
                out.emplace_back(std::move(n), chat::user_notifications_group(id));
            }
            return out;
        };
    }
    AppendResult res = store_.append_message(draft, conversation_group(draft.conversationId), unix_now_ms(), followups);
    if (res.created && outbox_notify_) outbox_notify_();
    return json_response(res.created ? 201 : 200, json{{"message", message_out(res.message)}, {"duplicate", !res.created}});
}

// POST /chat/subscribe {connectionId, conversationId (null: none), previousConversationId?}: the
// connection leaves the previous conversation's groups and joins this one's (its stored messages,
// its typing signals, and the right to send typing signals). The client subscribes only to the
// conversation it shows, so the number of conversations a user is in never limits what is live;
// the others' activity reaches the user's own channel (conversation.activity).
Response AppApi::subscribe(const Request& r, const std::string& user) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    const json* conn = body->contains("connectionId") ? &(*body)["connectionId"] : nullptr;
    if (!conn || !conn->is_string() || conn->get_ref<const std::string&>().empty() || conn->get_ref<const std::string&>().size() > 256)
        return error_response(400, "BadRequest", "'connectionId' must be the connection id from the connected event.");
    auto id_field = [&](const char* key, std::string& out) -> bool {
        auto it = body->find(key);
        if (it == body->end() || it->is_null()) return true;
        if (!it->is_string() || it->get_ref<const std::string&>().empty() || it->get_ref<const std::string&>().size() > 256) return false;
        out = it->get<std::string>();
        return true;
    };
    std::string conv, previous;
    if (!id_field("conversationId", conv) || !id_field("previousConversationId", previous))
        return error_response(400, "BadRequest", "'conversationId' and 'previousConversationId' must be conversation ids or null.");
    if (!conv.empty()) {
        if (!store_.conversation_exists(conv)) return error_response(404, "NotFound", "Conversation '" + conv + "' does not exist.");
        if (!store_.is_member(conv, user)) return error_response(403, "Forbidden", "You are not a member of this conversation.");
    }
    if (!groups_) return error_response(503, "ServiceUnavailable", "The server is starting.");
    GroupChange change{user, conn->get<std::string>(), {}, {}, {}, {}};
    if (!previous.empty() && previous != conv) {
        change.leave = {conversation_group(previous), chat::typing_group(previous)};
        change.revoke_send = {chat::typing_group(previous)};
    }
    if (!conv.empty()) {
        change.join = {conversation_group(conv), chat::typing_group(conv)};
        change.grant_send = {chat::typing_group(conv)};
    }
    std::string why;
    if (const int status = groups_(change, why))
        return error_response(status, status == 404 ? "NotFound" : "ServiceUnavailable", why);
    return json_response(200, json{{"conversationId", conv.empty() ? json() : json(conv)}, {"groups", change.join}});
}

// POST /realtime/leave {"connectionId"}: the page that holds this connection is going away (sent
// with fetch keepalive on pagehide, which outlives the page). The service ends the connection now,
// so its session stops waiting for a recovery that cannot come and the user goes offline at once:
// a browser tearing a page down does not always get the socket's own close frame out. Only the
// caller's own connection (LeaveControl checks: main.cpp). Presence follows at once, without
// waiting for the service's disconnected event (which may be late, or lost).
Response AppApi::leave(const Request& r, const std::string& user) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    const auto conn = body->find("connectionId");
    if (conn == body->end() || !conn->is_string() || conn->get_ref<const std::string&>().empty() ||
        conn->get_ref<const std::string&>().size() > 256)
        return error_response(400, "BadRequest", "'connectionId' must be the connection id from the connected event.");
    const std::string& id = conn->get_ref<const std::string&>();
    if (!leave_) return error_response(503, "ServiceUnavailable", "The server is starting.");
    std::string why;
    if (const int status = leave_(user, id, why))
        return error_response(status, status == 404 ? "NotFound" : "BadGateway", why);
    if (store_.presence_disconnected(id, unix_now_ms()) && outbox_notify_) outbox_notify_();  // idempotent
    Response done;
    done.status = 204;
    done.content_type.clear();
    return done;
}

Response AppApi::detail(const Request& r, const std::string& user) {
    const std::string cid = r.param("conversationId").value_or("");
    if (cid.empty()) return error_response(400, "BadRequest", "'conversationId' is required.");
    Response err;
    auto after = u64_param(r, "afterSeq", err);
    if (!after) return err;
    auto before = u64_param(r, "beforeSeq", err);
    if (!before) return err;
    auto limit = u64_param(r, "limit", err);
    if (!limit) return err;
    std::size_t lim = *limit == 0 ? 50 : static_cast<std::size_t>(*limit);
    if (lim > kMaxHistoryPage) lim = kMaxHistoryPage;
    auto conv = store_.conversation(cid, user);
    if (!conv) {
        if (!store_.conversation_exists(cid)) return error_response(404, "NotFound", "Conversation '" + cid + "' does not exist.");
        return error_response(403, "Forbidden", "You are not a member of this conversation.");
    }
    // The summary (and its change counter) is read before the messages: a change committed in
    // between is in the page and counted again by the next changedAfter, never missed.
    if (r.param("changedAfter")) {
        // Edits and deletes since the client's counter, in counter order (issue 18).
        auto changed_after = u64_param(r, "changedAfter", err);
        if (!changed_after) return err;
        auto changed = store_.changes(cid, *changed_after, lim + 1);
        const bool more = changed.size() > lim;
        if (more) changed.pop_back();
        json list = json::array();
        for (auto& c : changed) list.push_back(message_out(c));
        // More to come: the client continues from the last version it got, not from rev.
        return json_response(200, json{{"messages", list}, {"hasMore", more},
                                       {"rev", more ? changed.back().version : conv->rev}});
    }
    // Without afterSeq/beforeSeq: the latest page (what a newly opened panel shows).
    uint64_t before_seq = *before;
    if (*after == 0 && before_seq == 0) before_seq = conv->lastSeq + 1;
    auto messages = store_.history(cid, *after, before_seq, lim + 1);
    bool more = messages.size() > lim;
    if (more) {
        if (before_seq > 0 && *after == 0) messages.erase(messages.begin());
        else messages.pop_back();
    }
    json list = json::array();
    for (auto& m : messages) list.push_back(message_out(m));
    json answer{{"conversation", summary_out(*conv)}, {"messages", list}, {"hasMore", more}, {"rev", conv->rev}};
    // The latest page and catch-up (afterSeq) answers bring the members' state; an older page
    // (beforeSeq) does not: the client already has it from the page it opened with.
    if (*before == 0) {
        // Every member's read position (read receipts), read after the page: never older than it.
        json reads = json::object();
        for (const auto& [who, seq] : store_.reads(cid)) reads[who] = seq;
        // Every member's presence (a version each: the client keeps the newest of these and the events).
        json presence = json::object();
        for (const auto& p : store_.presence(cid)) presence[p.userId] = json{{"online", p.online}, {"version", p.version}};
        answer["reads"] = std::move(reads);
        answer["presence"] = std::move(presence);
    }
    return json_response(200, answer);
}

// PATCH /chat/messages/{messageId} {text}: the author edits it. DELETE /chat/messages/{messageId}:
// the author or the conversation's creator deletes it (a tombstone). Both go the durable way:
// stored with a chat.message.updated outbox row, published to the conversation by the worker.
Response AppApi::change_message(const Request& r, const std::string& user, const std::string& messageId) {
    if (messageId.empty() || messageId.size() > 128) return error_response(404, "NotFound", "No such message.");
    const bool del = r.method == "DELETE";
    std::string text;
    if (!del) {
        Response err;
        auto body = body_object(r, err);
        if (!body) return err;
        auto t = body->find("text");
        if (t == body->end() || !t->is_string()) return error_response(400, "BadRequest", "'text' (string) is required.");
        text = t->get<std::string>();
        if (text.empty()) return error_response(400, "BadRequest", "The text is empty; delete the message instead.");
        if (text.size() > config_.max_message_bytes)
            return error_response(413, "PayloadTooLarge", "The message is " + std::to_string(text.size()) +
                                                              " bytes; the limit is " + std::to_string(config_.max_message_bytes) + ".");
        if (!chat::valid_utf8(text)) return error_response(400, "BadRequest", "The message is not valid UTF-8.");
    }
    if (const int64_t wait = rate_limited("change", user, config_.send_rate_per_min, config_.send_burst))
        return too_many(del ? "deletes" : "edits", wait);
    const ChangeResult res = del ? store_.delete_message(messageId, user, unix_now_ms())
                                 : store_.edit_message(messageId, user, text, unix_now_ms());
    switch (res.outcome) {
    case ChangeOutcome::NotFound: return error_response(404, "NotFound", "No such message.");
    case ChangeOutcome::NotMember: return error_response(403, "Forbidden", "You are not a member of this conversation.");
    case ChangeOutcome::NotAllowed:
        return error_response(403, "Forbidden", del ? "Only its author or the conversation's creator can delete a message."
                                                    : "Only its author can edit a message.");
    case ChangeOutcome::Deleted: return error_response(409, "Conflict", "The message was deleted.");
    case ChangeOutcome::TooMany:  // (reactions only)
    case ChangeOutcome::Changed:
    case ChangeOutcome::Unchanged: break;
    }
    if (!res.removedBlob.empty()) {
        // Its row is gone (downloads answer 404 from now on); the bytes go too.
        std::error_code ec;
        std::filesystem::remove(blob_dir() + "/" + res.removedBlob, ec);
    }
    if (res.outcome == ChangeOutcome::Changed && outbox_notify_) outbox_notify_();
    return json_response(200, json{{"message", message_out(res.message)}, {"changed", res.outcome == ChangeOutcome::Changed}});
}

// GET /chat/messages/{messageId}: one message as it is now (a tombstone when deleted), for a
// member of its conversation: the quote of a reply whose parent is older than the pages loaded.
Response AppApi::get_message(const std::string& user, const std::string& messageId) {
    if (messageId.empty() || messageId.size() > chat::kMaxMessageIdBytes) return error_response(404, "NotFound", "No such message.");
    // Someone else's message is answered like no message at all: ids say nothing to non-members.
    const auto m = store_.message(messageId);
    if (!m || !store_.is_member(m->conversationId, user)) return error_response(404, "NotFound", "No such message.");
    return json_response(200, json{{"message", message_out(*m)}});
}

// POST /chat/messages/{messageId}/reactions {emoji}: the user (a member) reacts; DELETE with the
// same body takes the reaction back. One per user and emoji, at most chat::kMaxReactionEmoji
// different emoji per message; the durable path like an edit (chat.message.updated).
Response AppApi::react(const Request& r, const std::string& user, const std::string& messageId) {
    if (messageId.empty() || messageId.size() > 128) return error_response(404, "NotFound", "No such message.");
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    auto e = body->find("emoji");
    if (e == body->end() || !e->is_string() || !chat::valid_reaction_emoji(e->get_ref<const std::string&>()))
        return error_response(400, "BadRequest", "'emoji' must be 1 to " + std::to_string(chat::kMaxReactionEmojiBytes) +
                                                     " bytes of UTF-8 without spaces or control characters.");
    if (const int64_t wait = rate_limited("change", user, config_.send_rate_per_min, config_.send_burst))
        return too_many("reactions", wait);
    const bool add = r.method == "POST";
    const ChangeResult res = store_.react(messageId, user, e->get<std::string>(), add, unix_now_ms());
    switch (res.outcome) {
    case ChangeOutcome::NotFound: return error_response(404, "NotFound", "No such message.");
    case ChangeOutcome::NotMember:
    case ChangeOutcome::NotAllowed: return error_response(403, "Forbidden", "You are not a member of this conversation.");
    case ChangeOutcome::Deleted: return error_response(409, "Conflict", "The message was deleted.");
    case ChangeOutcome::TooMany:
        return error_response(409, "Conflict", "The message has " + std::to_string(chat::kMaxReactionEmoji) +
                                                   " different reactions already; add one of those.");
    case ChangeOutcome::Changed:
    case ChangeOutcome::Unchanged: break;
    }
    if (res.outcome == ChangeOutcome::Changed && outbox_notify_) outbox_notify_();
    return json_response(200, json{{"message", message_out(res.message)}, {"changed", res.outcome == ChangeOutcome::Changed}});
}

// The event handler Web PubSub calls (CloudEvents over HTTP, binary mode), for presence. Not a
// user's route: the service proves itself with ce-signature, an HMAC of the connection id with
// the access key. OPTIONS is the abuse-protection handshake: only this backend's service
// (the embedded emulator's public endpoint, or the external one's) is allowed to deliver.
constexpr int64_t kEventMaxSkewMs = 10 * 60 * 1000;

Response AppApi::event_handler(const Request& r) {
    const std::string allowed = service_origin(target_.http_endpoint);
    if (r.method == "OPTIONS") {
        const auto asked = header_list(r.header("webhook-request-origin"));
        if (asked.empty() || asked.front().empty())
            return error_response(400, "BadRequest", "WebHook-Request-Origin is missing: this is a Web PubSub event handler.");
        if (allowed.empty() || std::find(asked.begin(), asked.end(), allowed) == asked.end())
            return error_response(403, "Forbidden", "This event handler takes events only from its own Web PubSub service.");
        Response res;
        res.content_type.clear();
        res.headers.emplace_back("WebHook-Allowed-Origin", allowed);
        return res;
    }
    if (r.method != "POST") return error_response(405, "MethodNotAllowed", r.method + " is not supported on /eventhandler.");
    if (r.body.size() > config_.max_body_bytes)
        return error_response(413, "PayloadTooLarge", "The request body exceeds " + std::to_string(config_.max_body_bytes) + " bytes.");
    if (r.header("ce-specversion") != "1.0")
        return error_response(400, "BadRequest", "Not a CloudEvents 1.0 request in binary mode (ce-specversion).");
    const std::string type = r.header("ce-type"), hub = r.header("ce-hub"), connection = r.header("ce-connectionid"),
                      user = r.header("ce-userid");
    if (connection.empty() || connection.size() > 128)
        return error_response(400, "BadRequest", "ce-connectionId is missing or longer than 128 bytes.");
    if (!ce_signature_valid(r.header("ce-signature"), target_.access_key, connection))
        return error_response(401, "Unauthorized", "ce-signature does not verify with this backend's access key.");
    if (hub != target_.hub) return error_response(400, "BadRequest", "The event is for another hub than '" + target_.hub + "'.");
    // The signature covers only the connection id: a captured event is refused once its time is
    // ten minutes off (its connection's row, kept an hour, refuses it until then).
    const auto at = parse_ce_time(r.header("ce-time"));
    if (!at || std::llabs(*at - unix_now_ms()) > kEventMaxSkewMs)
        return error_response(400, "BadRequest", "ce-time is missing or more than 10 minutes from now.");
    if (user.size() > 128) return error_response(400, "BadRequest", "ce-userId is longer than 128 bytes.");
    bool changed = false;
    if (type == "azure.webpubsub.sys.connected") {
        if (!user.empty()) changed = store_.presence_connected(user, connection, unix_now_ms());  // anonymous: no presence
    } else if (type == "azure.webpubsub.sys.disconnected") {
        changed = store_.presence_disconnected(connection, unix_now_ms());
    } else if (type == "azure.webpubsub.sys.connect") {
        // Nothing to decide here: the access URL this backend signed set the user and roles already.
    } else {
        return error_response(400, "BadRequest", "This event handler takes the connect, connected and disconnected system events only.");
    }
    if (changed && outbox_notify_) outbox_notify_();  // the chat.presence rows
    Response res;
    res.status = 204;
    res.content_type.clear();
    return res;
}

Response AppApi::mark_read(const Request& r, const std::string& user) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    const std::string cid = wps::string_or(*body, "conversationId");
    auto seq = body->find("seq");
    if (cid.empty() || seq == body->end() || !seq->is_number_unsigned())
        return error_response(400, "BadRequest", "'conversationId' and 'seq' (non-negative integer) are required.");
    if (!store_.is_member(cid, user)) return error_response(403, "Forbidden", "You are not a member of this conversation.");
    const uint64_t now_read = store_.set_read(cid, user, seq->get<uint64_t>(), unix_now_ms());
    if (outbox_notify_) outbox_notify_();  // its chat.read row, if the position moved (a wake-up costs nothing otherwise)
    return json_response(200, json{{"lastReadSeq", now_read}});
}

} // namespace stub

namespace stub {

namespace {
json notification_json(const Notification& n) {
    json j{{"id", n.id},           {"seq", n.seq},       {"title", n.title}, {"body", n.body},
           {"target", {{"kind", n.targetKind}, {"id", n.targetId}}},
           {"createdAt", n.createdAt}, {"seen", n.seen}, {"read", n.read}, {"archived", n.archived}};
    if (!n.actionLabel.empty()) j["action"] = json{{"label", n.actionLabel}, {"link", n.actionUrl}};
    return j;
}

// kind: user | team | global (checked by create_notification).
std::string notification_group(const std::string& kind, const std::string& id) {
    if (kind == "user") return chat::user_notifications_group(id);
    if (kind == "team") return chat::team_notifications_group(id);
    return chat::global_notifications_group();
}
} // namespace

int64_t AppApi::rate_limited(const char* kind, const std::string& user, int per_min, int burst) {
    if (per_min <= 0) return 0;
    return store_.take_token(std::string(kind) + ":" + user, per_min, burst, unix_now_ms());
}

Response AppApi::create_notification_as_backend(const Request& r) { return create_notification(r, "backend", true); }

// A signed-in user (dev mode only) may notify any user or a team they belong to, with in-app links;
// the backend (the tester's /_stub/notifications) may also notify everyone and link off-site.
Response AppApi::create_notification(const Request& r, const std::string& creator, bool backend) {
    if (!backend && !config_.dev) return error_response(403, "Forbidden", "Creating notifications is a dev/test tool.");
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    Notification n;
    auto str = [&](const json& j, const char* k, std::string& out, std::size_t max, bool required) -> std::optional<Response> {
        auto it = j.find(k);
        if (it == j.end() || it->is_null()) {
            if (required) return error_response(400, "BadRequest", std::string("'") + k + "' is required.");
            return std::nullopt;
        }
        if (!it->is_string() || it->get<std::string>().size() > max)
            return error_response(400, "BadRequest", std::string("'") + k + "' must be a string of at most " + std::to_string(max) + " bytes.");
        out = it->get<std::string>();
        return std::nullopt;
    };
    if (auto e = str(*body, "title", n.title, 200, true)) return *e;
    if (auto e = str(*body, "body", n.body, 2000, false)) return *e;
    if (auto e = str(*body, "id", n.id, 128, false)) return *e;
    if (n.id.empty()) n.id = new_id("ntf_");
    auto target = body->find("target");
    if (target == body->end() || !target->is_object()) return error_response(400, "BadRequest", "'target' {kind, id} is required.");
    if (auto e = str(*target, "kind", n.targetKind, 16, true)) return *e;
    if (n.targetKind == "user") {
        if (auto e = str(*target, "id", n.targetId, 128, true)) return *e;
        if (!store_.user(n.targetId)) return error_response(400, "BadRequest", "Unknown user '" + n.targetId + "'.");
    } else if (n.targetKind == "team") {
        if (auto e = str(*target, "id", n.targetId, 128, true)) return *e;
        if (!backend) {
            auto u = store_.user(creator);
            if (!u || std::find(u->teams.begin(), u->teams.end(), n.targetId) == u->teams.end())
                return error_response(403, "Forbidden", "You may only notify a team you belong to.");
        }
    } else if (n.targetKind == "global") {
        if (!backend) return error_response(403, "Forbidden", "Notifications to everyone come from the backend, not from users.");
    } else {
        return error_response(400, "BadRequest", "'target.kind' must be user, team or global.");
    }
    if (auto action = body->find("action"); action != body->end() && !action->is_null()) {
        if (!action->is_object()) return error_response(400, "BadRequest", "'action' must be {label, link}.");
        if (auto e = str(*action, "label", n.actionLabel, 64, true)) return *e;
        if (auto e = str(*action, "link", n.actionUrl, 2048, true)) return *e;
        const bool ok = in_app_link(n.actionUrl) || (backend && safe_https_url(n.actionUrl));
        if (!ok)
            return error_response(400, "BadRequest", backend ? "'action.link' must be app:..., a /path or an https URL."
                                                             : "'action.link' must be an in-app link (app:... or a /path).");
    }
    for (const std::string* text : {&n.title, &n.body, &n.actionLabel})
        if (!chat::valid_utf8(*text)) return error_response(400, "BadRequest", "Notification texts must be valid UTF-8.");
    n.createdBy = creator;
    if (!backend)
        if (const int64_t wait = rate_limited("notify", creator, kNotifyPerMinute, kNotifyBurst))
            return too_many("notifications", wait);
    auto [stored, created] = store_.create_notification(n, notification_group(n.targetKind, n.targetId), unix_now_ms());
    if (!created && stored.createdBy != creator)
        return error_response(409, "Conflict", "A notification with this id exists already; choose another id.");
    if (created && outbox_notify_) outbox_notify_();
    return json_response(created ? 201 : 200, json{{"notification", notification_json(stored)}, {"duplicate", !created}});
}

Response AppApi::list_notifications(const Request& r, const std::string& user) {
    Response err;
    auto cursor = u64_param(r, "cursor", err);
    if (!cursor) return err;
    auto limit = u64_param(r, "limit", err);
    if (!limit) return err;
    const std::size_t lim = *limit == 0 ? 20 : std::min<std::size_t>(static_cast<std::size_t>(*limit), 100);
    auto page = store_.notifications_for(user, *cursor, lim, r.param("archived").value_or("") == "true");
    json items = json::array();
    for (auto& n : page.items) items.push_back(notification_json(n));
    return json_response(200, json{{"items", items},
                                   {"nextCursor", page.nextCursor ? json(std::to_string(*page.nextCursor)) : json(nullptr)},
                                   {"unreadCount", store_.unread_notifications(user)}});
}

Response AppApi::mark_notifications(const Request& r, const std::string& user, NotificationMark mark) {
    Response err;
    auto body = body_object(r, err);
    if (!body) return err;
    std::vector<std::string> ids;
    if (body->contains("all") && !(*body)["all"].is_boolean())
        return error_response(400, "BadRequest", "'all' must be true or false.");
    const bool all = wps::bool_or(*body, "all");
    if (auto jids = body->find("ids"); jids != body->end()) {
        if (!jids->is_array()) return error_response(400, "BadRequest", "'ids' must be an array of strings.");
        for (auto& id : *jids) {
            if (!id.is_string()) return error_response(400, "BadRequest", "'ids' must be an array of strings.");
            ids.push_back(id.get<std::string>());
        }
    }
    if (ids.empty() && !all) return error_response(400, "BadRequest", "Give 'ids' or 'all': true.");
    if (ids.size() > 500) return error_response(400, "BadRequest", "At most 500 ids at once.");
    store_.mark_notifications(user, ids, all, mark, unix_now_ms());
    return json_response(200, json{{"unreadCount", store_.unread_notifications(user)}});
}

std::string AppApi::blob_dir() const { return config_.blob_dir.empty() ? config_.db + ".blobs" : config_.blob_dir; }

std::string AppApi::sign_blob(const std::string& id, int64_t exp) const {
    return wps::base64_encode(hmac_sha256(secret_, "blob:" + id + ":" + std::to_string(exp)), true);
}

namespace {

// The expiry a link of ours names (/blobs/{id}?exp={n}&sig={sig}); nullopt when it has no such part.
std::optional<int64_t> link_exp(const std::string& url) {
    const auto e = url.find("?exp="), s = url.find("&sig=");
    if (e == std::string::npos || s == std::string::npos || s < e) return std::nullopt;
    return static_cast<int64_t>(parse_uint(url.substr(e + 5, s - e - 5), INT64_MAX).value_or(0));
}

} // namespace

// The blob a link of ours names, when this server signed it (expired or not): "" otherwise.
std::string AppApi::issued_blob(const std::optional<chat::Attachment>& a) const {
    const std::string id = blob_id_of(a);
    const auto exp = id.empty() ? std::nullopt : link_exp(a->url);
    if (!exp) return {};
    const std::string sig = a->url.substr(a->url.find("&sig=") + 5);
    return !sig.empty() && equal_secret(sig, sign_blob(id, *exp)) ? id : std::string();
}

// Whether a link of ours (the shape checked) is past its expiry.
bool AppApi::blob_link_expired(const std::string& url) const { return link_exp(url).value_or(0) < unix_now_s(); }

// A message as an answer hands it to a member: an attachment of ours carries a link signed now. A
// stored link's signature lasts blob_url_ttl_s from the upload, and the history outlives that.
// Only a link this server signed is renewed: a made-up one naming another user's file stays dead.
// The expiry is rounded up to a quarter of the lifetime, so a link stays the same for a while
// (browsers cache the file by it) and lasts at least blob_url_ttl_s.
json AppApi::message_out(chat::Message m) const {
    if (const std::string id = issued_blob(m.attachment); !id.empty()) {
        const int64_t step = std::max<int64_t>(1, config_.blob_url_ttl_s / 4);
        const int64_t exp = ((unix_now_s() + config_.blob_url_ttl_s) / step + 1) * step;
        m.attachment->url = "/blobs/" + id + "?exp=" + std::to_string(exp) + "&sig=" + sign_blob(id, exp);
    }
    return chat::to_json(m);
}

// A conversation as the list and the history hand it out: its last message's attachment link
// signed now, as every message answer's is (message_out).
json AppApi::summary_out(const ConversationSummary& c) const {
    json j{{"conversationId", c.id}, {"title", c.title},         {"members", c.members},
           {"lastSeq", c.lastSeq},   {"lastReadSeq", c.lastReadSeq}, {"unread", c.unread},
           {"group", conversation_group(c.id)}};
    json ctx = wps::parse_json_bounded(c.contextJson);
    j["context"] = ctx.is_discarded() ? json::object() : ctx;
    j["lastMessage"] = c.lastMessage ? message_out(*c.lastMessage) : json(nullptr);
    return j;
}

namespace {

// The type an upload is served with: a raster image type when the bytes are that image (browsers
// render those inertly), application/octet-stream for everything else, whatever was declared.
std::string served_type(const std::string& bytes) {
    auto starts = [&](std::string_view magic, std::size_t at = 0) {
        return bytes.size() >= at + magic.size() && bytes.compare(at, magic.size(), magic) == 0;
    };
    if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
    if (starts("\xff\xd8\xff")) return "image/jpeg";
    if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
    if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
    return "application/octet-stream";
}

// A file name safe in a header and on any disk: no control characters, no path separators, no
// quotes; valid UTF-8 (checked by the caller).
bool safe_file_name(const std::string& name) {
    if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
    for (unsigned char ch : name)
        if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\' || ch == '"') return false;
    return true;
}

// Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987).
std::string disposition(const char* kind, const std::string& name) {
    std::string ascii;
    for (unsigned char ch : name) ascii += (ch < 0x80 && ch != ';' && ch != '%') ? static_cast<char>(ch) : '_';
    return std::string(kind) + "; filename=\"" + ascii + "\"; filename*=UTF-8''" + url_encode(name);
}

} // namespace

Response AppApi::upload_blob(const Request& r, const std::string& user) {
    if (r.body.empty()) return error_response(400, "BadRequest", "The upload is empty.");
    if (r.body.size() > config_.max_blob_bytes)
        return error_response(413, "PayloadTooLarge", "The file is " + std::to_string(r.body.size()) + " bytes; the limit is " +
                                                          std::to_string(config_.max_blob_bytes) + ".");
    const std::string name = r.param("name").value_or("file");
    if (!safe_file_name(name) || !chat::valid_utf8(name))
        return error_response(400, "BadRequest",
                              "'name' must be a file name of 1 to 255 bytes of UTF-8 without control characters, quotes, '/' or '\\'.");
    if (const int64_t wait = rate_limited("upload", user, config_.upload_rate_per_min, kUploadBurst))
        return too_many("uploads", wait);
    if (config_.blob_quota_bytes > 0 && store_.blob_bytes_of(user) + r.body.size() > config_.blob_quota_bytes)
        return error_response(413, "PayloadTooLarge", "Your attachment quota of " + std::to_string(config_.blob_quota_bytes) +
                                                          " bytes is used up.");
    BlobMeta meta{new_id("blob_"), name, served_type(r.body), user, r.body.size(), unix_now_ms()};
    const std::string dir = blob_dir();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    {
        std::ofstream f(dir + "/" + meta.id, std::ios::binary);
        f.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
        if (!f) return error_response(500, "InternalServerError", "Could not store the file.");
    }
    store_.put_blob(meta);
    const int64_t exp = unix_now_s() + config_.blob_url_ttl_s;
    const std::string url = "/blobs/" + meta.id + "?exp=" + std::to_string(exp) + "&sig=" + sign_blob(meta.id, exp);
    json answer = chat::attachment_json(chat::Attachment{url, meta.name, meta.contentType, meta.size});
    answer["expiresAt"] = exp;
    return json_response(201, answer);
}

// Attachments are served so that nothing in them runs on this origin: raster images inline with
// their sniffed type, everything else as a download of application/octet-stream, always with
// nosniff and a sandboxing Content-Security-Policy.
Response AppApi::download_blob(const Request& r) {
    const std::string& id = r.segments[1];
    const std::string sig = r.param("sig").value_or("");
    const int64_t exp = static_cast<int64_t>(parse_uint(r.param("exp").value_or(""), INT64_MAX).value_or(0));
    if (sig.empty() || !equal_secret(sig, sign_blob(id, exp))) return error_response(403, "Forbidden", "Invalid attachment link signature.");
    if (exp < unix_now_s()) return error_response(403, "Forbidden", "The attachment link has expired.");
    auto meta = store_.blob(id);
    if (!meta) return error_response(404, "NotFound", "No such attachment.");
    const std::string dir = blob_dir();
    std::ifstream f(dir + "/" + id, std::ios::binary);
    if (!f) return error_response(404, "NotFound", "The attachment's file is missing.");
    std::ostringstream ss;
    ss << f.rdbuf();
    Response res;
    res.body = ss.str();
    // Re-checked on the bytes: rows stored before this rule may carry any declared type.
    res.content_type = served_type(res.body);
    const bool inline_image = res.content_type != "application/octet-stream";
    res.headers.emplace_back("Content-Disposition", disposition(inline_image ? "inline" : "attachment", meta->name));
    res.headers.emplace_back("Content-Security-Policy", "default-src 'none'; img-src 'self'; sandbox");
    res.headers.emplace_back("Cache-Control", "private, max-age=3600");
    return res;
}

} // namespace stub
