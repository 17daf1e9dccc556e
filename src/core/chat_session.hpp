// chat_session.hpp - the chat panel's controller: sign-in, conversations, history, live updates,
// ordered sends, read state and typing indicators.
//
// Platform-free: HTTP through the HttpClient port, the socket through the tab's shared Realtime
// connection. The flow is the product's "no missed messages" path: load history over HTTP, hold
// the connection, subscribe it to the open conversation only (POST /chat/subscribe: the backend
// checks membership and adds this connection to the conversation's groups), then catch up from
// the last contiguous sequence and refresh the list. Switching conversation moves the
// subscription (one request at a time, so the last choice wins) and catches up again; the view
// is "Live" only once the open conversation is subscribed and caught up. Every other
// conversation's activity (badge, preview, order) arrives on the user's own channel as a small
// conversation.activity event, so the number of conversations never limits what is live.
// Live messages are deduplicated by messageId; a sequence gap triggers another incremental fetch.
// Sends are optimistic, go out one at a time per conversation (FIFO) through the HTTP API,
// idempotent on clientMessageId, retried with backoff for a bounded time, then failed with Retry.
#pragma once

#include "api_client.hpp"
#include "chat_model.hpp"
#include "chat_wire.hpp"
#include "ports.hpp"
#include "pubsub_client.hpp"
#include "realtime.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
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
    std::string initial_conversation = "demo";  // opened first when the user is a member
    uint64_t send_retry_window_ms = 30000;      // transient send failures retry this long
};

struct ConversationSummary {
    std::string id, title;
    uint64_t unread = 0, lastSeq = 0, lastReadSeq = 0;
    std::string preview, previewSender;
    uint64_t previewVersion = 0;  // the newest message's version the preview shows (edits, deletes)
    std::vector<std::string> members;  // user ids ("@" completes them in the composer)
    int64_t lastAt = 0;
};

// Someone the user may start a conversation with (GET /chat/contacts: ids and display names).
struct Contact {
    std::string id, name;
};

class ChatSession {
public:
    ChatSession(wps::HttpClient& http, wps::Realtime& realtime, wps::Scheduler& sched, wps::RandomSource random,
                SessionOptions options);
    ~ChatSession();

    void start();               // sign in, load, open the first conversation, connect
    void retry_start();         // after Phase::Failed: signs in again, or reloads if signed in
    // The wall clock (unix ms) for the time a pending message shows; the scheduler's clock until
    // set (in the browser that one counts from page load).
    void set_wall_clock(std::function<int64_t()> clock) { wall_clock_ = std::move(clock); }
    // The page is shown (not a background tab): only then does reading mark messages read (and
    // tell the others "Seen by"); shown again, what arrived meanwhile is marked.
    void set_visible(bool visible);
    void close_panel();         // deliberate: unsubscribes and lets the connection go (never reconnects for chat)
    void open_panel();          // holds the connection again (fresh URL if it had stopped), subscribes, catches up
    bool panel_open() const { return panel_open_; }

    void open_conversation(const std::string& id);
    void load_older();          // beforeSeq paging of the open conversation
    bool loading_older() const { return loading_older_; }
    bool history_complete() const;
    bool history_loaded() const;  // the open conversation's latest page has arrived
    // Why the open conversation's first page could not be loaded ("" when it did or is on its way);
    // open_conversation() with the same id tries again.
    std::string history_error() const;
    // The first message that was unread when the open conversation was opened (its "New
    // messages" divider), 0 when nothing was. Kept until another conversation is opened.
    uint64_t first_unread_seq() const { return first_unread_seq_; }

    // New conversations. load_contacts() asks the backend whom the user may pick (again on every
    // call: the picker opens fresh); create_conversation() creates one with `members` (user ids;
    // the server adds the user) and opens it once the server answers. Other members see it in
    // their list with its first message (the backend publishes activity per stored message).
    void load_contacts();
    const std::vector<Contact>& contacts() const { return contacts_; }
    bool contacts_loading() const { return contacts_loading_; }
    const std::string& contacts_error() const { return contacts_error_; }
    void create_conversation(const std::string& title, const std::vector<std::string>& members);
    bool creating() const { return creating_; }
    const std::string& create_error() const { return create_error_; }
    // Bumped each time a conversation the user created here was opened (the view closes its picker).
    uint64_t created_count() const { return created_count_; }

    // Sends `text` (optimistic). Returns false with `why` when it is refused locally. `replyTo`:
    // a stored message of the open conversation it answers ("" none).
    bool send(const std::string& text, std::string& why, std::optional<Attachment> attachment = std::nullopt,
              const std::string& replyTo = {});
    // Replies (issue 18). The message a reply quotes, as it is now: the open conversation's copy,
    // else one fetched for it (GET /chat/messages/{id}, at most kQuoteFetches at a time, kept
    // current by live edits and deletes). Loading while it is on its way; Unavailable when the
    // server has none for this user.
    enum class QuoteState { Loading, Shown, Unavailable };
    struct Quote {
        QuoteState state = QuoteState::Loading;
        const Message* message = nullptr;  // Shown only
    };
    static constexpr int kQuoteFetches = 4;
    Quote quote_of(const Message& reply) const;
    // What the quote says: "bob: the text", "bob: Message deleted", or that it is loading or not
    // available ("" for a message that is not a reply).
    std::string quote_text(const Message& reply) const;
    uint64_t quotes_version() const { return quotes_version_; }  // moves when a fetched quote arrived or changed
    // Brings a message of the open conversation (at sequence `seq`) into the loaded history:
    // older pages (of the largest size) until it is there or the history is complete.
    // revealing() is its id meanwhile; opening another conversation ends it. Refused (false,
    // `why`) when it lies more than kRevealMaxBack messages before the loaded ones.
    static constexpr uint64_t kRevealMaxBack = 1000;
    bool reveal(const std::string& messageId, uint64_t seq, std::string& why);
    const std::string& revealing() const { return reveal_; }
    // Read receipts: every member's read position in the open conversation (from each history
    // answer's "reads" and the live chat.read events; the largest wins).
    const std::map<std::string, uint64_t>& reads() const;
    // Presence: whether a user is online (from each history answer's "presence" and the live
    // chat.presence events of any conversation; the larger version wins). other_members(): the
    // open conversation's members but the user, in member order; online_members(): those online.
    bool online(const std::string& userId) const;
    std::vector<std::string> other_members() const;
    std::vector<std::string> online_members() const;
    // A file the user picked: uploaded (POST /blobs?name=..., the bytes as they are, with the
    // session's bearer token, which never leaves this object for the page), then sent as a
    // message carrying the returned link. `done` gets "" or why it failed.
    void send_file(const std::string& name, const std::string& content_type, std::string bytes,
                   std::function<void(const std::string& error)> done);
    // Edits and deletes of a stored message (PATCH / DELETE /chat/messages/{id}): the server's
    // answer replaces the message in place (the larger version wins, so the live event arriving
    // first or later changes nothing). Returns false with `why` when refused locally (not the
    // author, a tombstone, empty, too long); `done` gets "" or why the server refused.
    bool can_change(const Message& m) const { return !m.messageId.empty() && !m.deleted && m.senderId == options_.user_id; }
    bool edit_message(const std::string& messageId, const std::string& text, std::string& why,
                      std::function<void(const std::string& error)> done);
    bool delete_message(const std::string& messageId, std::string& why, std::function<void(const std::string& error)> done);
    // Reactions (POST / DELETE /chat/messages/{id}/reactions {emoji}): any stored message that is
    // not deleted, in the open conversation; the answer applies like an edit's.
    bool react(const std::string& messageId, const std::string& emoji, bool add, std::string& why,
               std::function<void(const std::string& error)> done);
    // Attachment links (/blobs/...?exp=...&sig=...) expire: the backend signs one whenever it
    // hands a message out, and a page stays open for longer. The links the panel shows are
    // renewed (GET /chat/messages/{id}) ahead of their expiry: `drawn` is the attachment messages
    // of the open conversation drawn this frame; a timer renews them on an idle page too.
    void keep_links_fresh(const std::vector<std::string>& drawn);
    // A link the user clicked: `open` gets it at once while it is valid, or a renewed one when it
    // has expired (or "" and why not, as `error`).
    void open_link(const std::string& url, std::function<void(const std::string& url, const std::string& error)> open);
    // The stored message of the open conversation whose attachment has exactly this link
    // (nullptr: none).
    const Message* message_with_link(const std::string& url) const;
    void retry(const std::string& clientMessageId);
    void retry_all();
    std::size_t failed_count() const;
    void typing();              // the user typed in the composer (throttled fire-and-forget event)
    std::vector<std::string> typing_users(uint64_t now_ms) const;  // in the open conversation

    Phase phase() const { return phase_; }
    const std::string& error() const { return error_; }
    const std::string& user_id() const { return options_.user_id; }
    const std::string& display_name() const { return display_name_; }
    const std::string& token() const { return token_; }
    const std::vector<std::string>& teams() const { return teams_; }
    const std::string& api_base() const { return options_.api_base; }
    const std::string& title() const;
    const std::string& current_id() const { return current_; }
    const Conversation& conversation() const;
    const std::vector<ConversationSummary>& conversations() const { return list_; }
    const wps::ClientStatus& connection() const;
    bool catching_up() const { return catching_up_ > 0; }
    // The open conversation is subscribed on the current connection (its messages arrive live).
    bool subscribed() const;
    // Why the open conversation could not be subscribed ("" when nothing was refused).
    const std::string& subscribe_error() const { return subscribe_error_; }
    // Subscribed, loaded and caught up: what the view may call "Live".
    bool in_sync() const;
    int64_t last_synced_ms() const { return last_synced_ms_; }   // scheduler time of the last full catch-up
    std::size_t max_message_bytes() const { return max_message_bytes_; }
    // The largest attachment the client sends: the backend's limit (GET /config
    // maxAttachmentBytes; 5 MiB until it is known), never more than the client's own cap (a file
    // is held whole in the page and the wasm heap while it uploads).
    static constexpr uint64_t kClientAttachmentCap = 64ull * 1024 * 1024;
    uint64_t max_attachment_bytes() const { return std::min(max_attachment_bytes_, kClientAttachmentCap); }
    // Whether a file of `size` bytes may be sent; false with `why` (its name, its size, the
    // limit) when it is too large. The page compares a picked file's size with the same limit
    // (Module.chat.maxFileBytes) before it reads it into memory.
    bool attachment_fits(const std::string& name, uint64_t size, std::string& why) const;
    wps::PubSubClient* client() { return &realtime_.client(); }
    void reconnect_now();  // "Reconnect now": the next attempt at once

    std::function<void()> on_changed;     // after every change the UI should show
    std::function<void()> on_signed_in;   // after each sign-in (start, Try again), when the token is known
    std::function<void()> on_token_renewed;  // the session was renewed: token() is the new one
    // Signs in again after the bearer token expired (a request answered 401): one sign-in for any
    // number of waiting requests; `done` gets true once token() is fresh. A refusal (400, 401,
    // 403, 404) ends the session with "Your session has expired" and Try again, and no client
    // keeps the dead token; a busy or unreachable server (408, 429, 5xx, network) leaves it to
    // the next request.
    void renew_session(std::function<void(bool renewed)> done);

private:
    struct Outgoing {
        std::string cmid, text;
        std::optional<Attachment> attachment;
        std::string replyTo;
        uint64_t first_try_ms = 0;
        uint32_t attempts = 0;
    };
    void request(const std::string& method, const std::string& path, const nlohmann::json* body, wps::ApiClient::Done done);
    void load_conversations(bool then_open);
    void load_latest(const std::string& id);
    void on_latest(const std::string& id, int status, const nlohmann::json& j, const std::string& err);
    // Sign-in asks for the initial conversation's latest page together with the list (not after
    // it: one round trip less before the panel shows it); load_latest() takes the answer.
    struct Prefetch {
        bool answered = false;
        int status = 0;
        nlohmann::json body;
        std::string error;
        std::function<void(int, const nlohmann::json&, const std::string&)> waiter;  // load_latest() came first
    };
    void prefetch_latest(const std::string& id);
    std::string latest_path(const std::string& id) const;  // GET of a conversation's latest page
    void load_older_page(std::size_t limit);
    void need_quotes(const std::string& conv, const std::vector<Message>& ms);  // fetches parents not held
    void fetch_quotes();
    void update_quote(const Message& m);  // a newer copy of a fetched parent (an edit, a delete)
    // A history answer's member state: "reads" (of `conv`) and "presence".
    void merge_member_state(const std::string& conv, const nlohmann::json& answer);
    bool apply_presence(const PresenceState& p);  // true when it was newer
    void connect();
    void subscribe_next();
    void on_activity(const Activity& a);
    void set_preview(const Message& m);  // the list's preview, when `m` is its conversation's newest and newer
    void on_group_message(const wps::GroupMessage& m);
    void sort_list();
    void catch_up();
    void catch_up_changes();  // edits and deletes since the open conversation's changes_seen()
    void change_message(const std::string& method, const std::string& path, const nlohmann::json* body, const char* what,
                        std::function<void(const std::string& error)> done);
    void pump(const std::string& conversationId);
    void mark_read_soon();
    void changed();
    void fail(const std::string& why);
    ConversationSummary* summary(const std::string& id);
    Conversation& model(const std::string& id);

    wps::ApiClient api_;
    wps::Realtime& realtime_;
    int listener_ = 0;
    wps::Scheduler& sched_;
    wps::RandomSource random_;
    SessionOptions options_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    Phase phase_ = Phase::SigningIn;
    std::string error_, token_, display_name_, current_;
    uint64_t first_unread_seq_ = 0;
    std::function<int64_t()> wall_clock_;
    std::map<std::string, std::string> load_errors_;  // conversation -> why its first page failed
    std::vector<std::string> teams_;
    std::vector<ConversationSummary> list_;
    std::map<std::string, Conversation> models_;
    std::map<std::string, bool> loaded_;                 // latest page loaded per conversation
    std::map<std::string, std::shared_ptr<Prefetch>> prefetch_;  // at most the initial conversation's
    std::map<std::string, std::deque<Outgoing>> outbox_; // FIFO per conversation
    std::map<std::string, bool> in_flight_;
    std::map<std::string, std::map<std::string, uint64_t>> typing_;  // conv -> user -> expiry
    std::size_t max_message_bytes_ = 4000;
    uint64_t max_attachment_bytes_ = 5 * 1024 * 1024;
    // Subscription of the shared connection: which conversation it is in (on which connection),
    // one request at a time, retried with backoff after transient failures.
    std::string subscribed_, subscribed_conn_, subscribe_error_, subscribe_refused_;
    bool subscribe_in_flight_ = false, subscribe_retry_armed_ = false;
    uint32_t subscribe_attempts_ = 0;
    int catching_up_ = 0;
    bool catch_up_again_ = false;
    bool changes_in_flight_ = false, changes_again_ = false;
    bool panel_open_ = false;
    bool loading_older_ = false;
    bool read_pending_ = false;
    uint64_t last_typing_sent_ = 0;
    int64_t last_synced_ms_ = 0;
    uint64_t cmid_counter_ = 0;
    std::map<std::string, std::optional<Message>> quotes_;  // fetched parents (nullopt: unavailable)
    std::deque<std::string> quote_queue_;
    int quote_fetches_ = 0;
    uint64_t quotes_version_ = 0;
    std::string reveal_, reveal_conv_;                     // reveal(): the message being paged to, and where
    bool visible_ = true;
    std::map<std::string, int> quote_failures_;            // transient failures per quote (retried)
    std::map<std::string, std::map<std::string, uint64_t>> reads_;  // conv -> user -> lastReadSeq
    std::map<std::string, std::pair<bool, uint64_t>> presence_;    // user -> online, version
    std::vector<Contact> contacts_;
    bool contacts_loading_ = false, creating_ = false;
    bool list_loading_ = false, list_again_ = false;  // GET /chat/conversations on its way; another asked meanwhile
    bool renewing_ = false;                           // POST /auth/dev-login (renew_session) on its way
    std::vector<std::function<void(bool)>> renew_waiters_;
    std::string contacts_error_, create_error_;
    uint64_t created_count_ = 0;
    // Attachment links: the ids drawn last, renewals on their way (with who waits for each),
    // when each was last tried (a failed one waits kLinkRetryMs), the timer for the next.
    void renew_link(const std::string& messageId, std::function<void(const std::string& url, const std::string& error)> then);
    int64_t wall_ms() const;
    int64_t link_expires_ms(const std::string& url) const;
    int64_t server_offset_ms_ = 0;  // the server's clock minus this one (GET /config serverTime)
    std::vector<std::string> link_watch_;
    std::map<std::string, std::vector<std::function<void(const std::string&, const std::string&)>>> link_renewals_;
    std::map<std::string, int64_t> link_tried_ms_;
    wps::TimerId link_timer_ = 0;
    int64_t link_timer_at_ = 0;
};

} // namespace chat
