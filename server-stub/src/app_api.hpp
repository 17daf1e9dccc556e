// app_api.hpp - the app backend: dev identity, client access URLs, chat API.
//
// Real deployments put their identity provider where /auth/dev-login is: every other endpoint
// only needs a bearer token whose `sub` is the user id.
#pragma once

#include "config.hpp"
#include "http_types.hpp"
#include "store.hpp"

#include "core/chat_wire.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace stub {

// Where clients connect: the embedded emulator (http_endpoint empty until set_public_endpoint:
// from configuration, never from a request) or an external Azure Web PubSub endpoint from a
// connection string.
struct PubSubTarget {
    std::string http_endpoint;  // e.g. https://contoso.webpubsub.azure.com
    std::string access_key;
    std::string hub;
};

// One connection's conversation groups, changed by POST /chat/subscribe. Only a connection of
// `owner` (the signed-in user) may be changed: the service is asked with the filter
// `connectionId eq '…' and userId eq '…'`, so another user's connection id changes nothing.
struct GroupChange {
    std::string owner, connectionId;
    std::vector<std::string> leave, join;               // groups
    std::vector<std::string> revoke_send, grant_send;   // sendToGroup permissions
};
// 0 when done; otherwise the HTTP status to answer (404: not the user's connection, 502/503: the
// service failed) with `error` set.
using GroupControl = std::function<int(const GroupChange&, std::string& error)>;
// POST /realtime/leave: ends `owner`'s connection `connectionId` (its page is going away), with the
// same answer convention as GroupControl.
using LeaveControl = std::function<int(const std::string& owner, const std::string& connectionId, std::string& error)>;

class AppApi {
public:
    AppApi(const Config& config, Store& store, std::function<void()> outbox_notify, PubSubTarget target);
    std::optional<Response> handle(const Request& r);
    // The embedded emulator's public base URL (--public-url, or the bound address).
    void set_public_endpoint(std::string endpoint) { target_.http_endpoint = std::move(endpoint); }
    void set_group_control(GroupControl control) { groups_ = std::move(control); }
    void set_leave_control(LeaveControl control) { leave_ = std::move(control); }
    // POST /_stub/notifications: the backend's own notifications (any target, https links).
    Response create_notification_as_backend(const Request& r);
    // Demo users, teams and a demo conversation they all belong to (idempotent).
    void seed();

private:
    std::optional<std::string> authenticate(const Request& r, Response& error);
    Response dev_login(const Request& r);
    Response client_access_url(const Request& r, const std::string& user);
    Response list_conversations(const std::string& user);
    Response create_conversation(const Request& r, const std::string& user);
    Response reply(const Request& r, const std::string& user);
    Response subscribe(const Request& r, const std::string& user);
    Response leave(const Request& r, const std::string& user);
    Response detail(const Request& r, const std::string& user);
    Response change_message(const Request& r, const std::string& user, const std::string& messageId);  // PATCH / DELETE
    Response get_message(const std::string& user, const std::string& messageId);
    Response react(const Request& r, const std::string& user, const std::string& messageId);           // POST / DELETE
    Response mark_read(const Request& r, const std::string& user);
    Response event_handler(const Request& r);  // OPTIONS / POST /eventhandler (presence)
    Response create_notification(const Request& r, const std::string& creator, bool backend);
    Response list_notifications(const Request& r, const std::string& user);
    Response mark_notifications(const Request& r, const std::string& user, NotificationMark mark);
    Response upload_blob(const Request& r, const std::string& user);
    Response download_blob(const Request& r);
    std::string sign_blob(const std::string& id, int64_t exp) const;
    nlohmann::json message_out(chat::Message m) const;  // with its attachment's link signed now
    nlohmann::json summary_out(const ConversationSummary& c) const;  // its last message as message_out
    std::string issued_blob(const std::optional<chat::Attachment>& a) const;
    bool blob_link_expired(const std::string& url) const;
    std::string blob_dir() const;  // where uploads' bytes live (--blob-dir, or next to the database)
    // Token bucket per user and kind, kept in the store (Store::take_token) so that the limit holds
    // across every instance on the database; returns seconds to wait (0 = allowed; per_min <= 0 =
    // no limit).
    int64_t rate_limited(const char* kind, const std::string& user, int per_min, int burst);
    // Roles for one group, or an error reason when the user may not use it.
    std::optional<std::string> roles_for(const std::string& user, const std::string& group, std::vector<std::string>& roles);

    const Config& config_;
    Store& store_;
    std::function<void()> outbox_notify_;
    PubSubTarget target_;
    GroupControl groups_;
    LeaveControl leave_;
    std::string secret_;
    // Session tokens already verified: the token's exact text -> its user and expiry. A request
    // with one of them skips the signature check and the user lookup until the expiry, which is
    // checked on every use. This backend never deletes a user; a user row an operator deletes by
    // hand stays signed in until the token's exp (12 h by default; restart the backend to end it
    // sooner). Only verified tokens go in (garbage cannot fill it), at most kMaxCachedSessions
    // (then it starts again empty): tokens are at most 8 KiB (jwt_verify), so at most 32 MiB in the
    // worst case, about 1 MiB with dev-login's tokens. A lookup compares a token's text only with
    // entries whose full hash equals its own, which an attacker cannot aim at a valid token
    // without holding it.
    struct VerifiedSession {
        std::string user;
        double exp = 0;  // the token's exp claim: valid while exp > now (jwt_verify's rule)
    };
    static constexpr std::size_t kMaxCachedSessions = 4096;
    std::unordered_map<std::string, VerifiedSession> sessions_;
    std::mutex sessions_mu_;
};

using chat::conversation_group;  // core/chat_wire.hpp

} // namespace stub
