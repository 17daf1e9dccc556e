// chat_session.cpp - see chat_session.hpp.
//
// [SECTION] plumbing
// [SECTION] sign-in, conversations, history
// [SECTION] socket: connect, join, live messages, catch-up
// [SECTION] sends: optimistic, FIFO per conversation, bounded retries
// [SECTION] read state, typing, panel open/close
#include "chat_session.hpp"

#include "chat_wire.hpp"
#include "json_limits.hpp"

#include "url.hpp"

#include <algorithm>
#include <cstdio>

namespace chat {

using nlohmann::json;

namespace {
constexpr uint64_t kTypingThrottleMs = 3000;
constexpr uint64_t kTypingTtlMs = 6000;
constexpr std::size_t kRevealPage = 200;  // the server's largest page: paging to a quoted message
constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;

std::string error_text(int status, const json& body, const std::string& transport) {
    return wps::ApiClient::error_text(status, body, transport);
}

ConversationSummary summary_from_json(const json& c) {
    ConversationSummary s;
    s.id = wps::string_or(c, "conversationId");
    s.title = wps::string_or(c, "title", s.id);
    s.unread = wps::u64_or(c, "unread");
    s.lastSeq = wps::u64_or(c, "lastSeq");
    s.lastReadSeq = wps::u64_or(c, "lastReadSeq");
    if (auto last = message_from_json(c.is_object() ? c.value("lastMessage", json()) : json())) {
        s.preview = preview_of(*last);
        s.previewSender = last->senderId;
        s.previewVersion = last->version;
        s.lastAt = last->createdAtMs;
    }
    // Members (user ids): what "@" completes in the composer. Bounded like the server's list.
    if (auto ms = c.is_object() ? c.find("members") : c.end(); c.is_object() && ms != c.end() && ms->is_array())
        for (const auto& m : *ms)
            if (m.is_string() && s.members.size() < 1000) s.members.push_back(m.get<std::string>());
    return s;
}

std::vector<Message> parse_messages(const json& j) {
    std::vector<Message> out;
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) return out;
    for (const auto& m : j["messages"])
        if (auto msg = message_from_json(m)) out.push_back(*msg);
    return out;
}

} // namespace

// ============================================================================================
// [SECTION] plumbing
// ============================================================================================

ChatSession::ChatSession(wps::HttpClient& http, wps::Realtime& realtime, wps::Scheduler& sched, wps::RandomSource random,
                         SessionOptions options)
    : api_(http, options.api_base), realtime_(realtime), sched_(sched), random_(std::move(random)), options_(std::move(options)) {
    wps::ClientEvents ev;
    ev.connected = [this](const std::string&, const std::optional<std::string>&) {
        subscribe_refused_.clear();  // a new connection: try again what was refused on the last one
        subscribe_next();
        changed();
    };
    ev.group_message = [this](const wps::GroupMessage& m) { on_group_message(m); };
    ev.server_message = [this](const wps::ServerMessage& m) {
        if (auto a = activity_from_json(m.data)) on_activity(*a);
        // A conversation the user was just put in: listed at once, before its first message.
        else if (auto c = conversation_created_from_event(m.data); c && !summary(c->conversationId) && phase_ == Phase::Ready)
            load_conversations(false);
    };
    // A recovered session keeps its connection id and groups; a new one starts with none.
    ev.status_changed = [this](const wps::ClientStatus&) {
        subscribe_next();
        changed();
    };
    ev.disconnected = [this](const wps::DisconnectInfo&) { changed(); };
    ev.stopped = [this](const wps::StopInfo&) { changed(); };
    listener_ = realtime_.listen(std::move(ev));
    // An expired token is renewed here, for this session's requests and the access URL's.
    api_.set_renew([this](std::function<void(bool)> done) { renew_session(std::move(done)); });
    realtime_.set_renew([this](std::function<void(bool)> done) { renew_session(std::move(done)); });
}

void ChatSession::renew_session(std::function<void(bool renewed)> done) {
    renew_waiters_.push_back(std::move(done));
    if (renewing_) return;
    renewing_ = true;
    const json body{{"userId", options_.user_id}};
    api_.call_once("POST", "/auth/dev-login", &body, [this](int status, const json& j, const std::string& err) {
        renewing_ = false;
        const bool ok = status == 200 && j.contains("token") && j["token"].is_string();
        // Refused (not a busy or unreachable server, which the next request tries again): this
        // session is over.
        const bool refused = !ok && (status == 400 || status == 401 || status == 403 || status == 404);
        if (ok) {
            token_ = j["token"].get<std::string>();
            api_.set_token(token_);
            realtime_.set_token(token_);
            if (on_token_renewed) on_token_renewed();
        } else if (refused) {
            // No client keeps the dead token (their requests would each ask again).
            token_.clear();
            api_.set_token("");
            realtime_.set_token("");
            if (on_token_renewed) on_token_renewed();
        }
        // The waiting requests first (they get their 401), then the session's end: its message is
        // the one the user reads.
        std::vector<std::function<void(bool)>> waiters;
        waiters.swap(renew_waiters_);
        for (auto& w : waiters) w(ok);
        if (refused) {
            std::string why = error_text(status, j, err);
            if (!why.empty() && why.back() == '.') why.pop_back();
            fail("Your session has expired: " + why + ".");
        }
    });
}

ChatSession::~ChatSession() {
    *alive_ = false;
    if (link_timer_) sched_.cancel(link_timer_);
    realtime_.set_renew(nullptr);
    realtime_.unlisten(listener_);
    realtime_.release("chat");
}

const wps::ClientStatus& ChatSession::connection() const { return realtime_.status(); }

bool ChatSession::subscribed() const {
    return !current_.empty() && subscribed_ == current_ && subscribed_conn_ == realtime_.status().connection_id &&
           realtime_.connected();
}

bool ChatSession::in_sync() const {
    auto it = loaded_.find(current_);
    return panel_open_ && subscribed() && catching_up_ == 0 && it != loaded_.end() && it->second;
}

const Conversation& ChatSession::conversation() const {
    static const Conversation empty;
    auto it = models_.find(current_);
    return it == models_.end() ? empty : it->second;
}

const std::string& ChatSession::title() const {
    static const std::string none;
    for (const auto& c : list_)
        if (c.id == current_) return c.title;
    return none;
}

ConversationSummary* ChatSession::summary(const std::string& id) {
    for (auto& c : list_)
        if (c.id == id) return &c;
    return nullptr;
}

Conversation& ChatSession::model(const std::string& id) {
    auto it = models_.find(id);
    if (it == models_.end()) it = models_.emplace(id, Conversation(id)).first;
    return it->second;
}

bool ChatSession::history_complete() const {
    const Conversation& c = conversation();
    return c.size() == 0 || c.first_seq() <= 1;
}

void ChatSession::changed() {
    if (on_changed) on_changed();
}

std::string ChatSession::history_error() const {
    auto it = load_errors_.find(current_);
    return it != load_errors_.end() ? it->second : std::string();
}

bool ChatSession::history_loaded() const {
    auto it = loaded_.find(current_);
    return it != loaded_.end() && it->second;
}

void ChatSession::retry_start() {
    if (phase_ != Phase::Failed) return;
    error_.clear();
    if (token_.empty()) return start();
    phase_ = Phase::Loading;  // signed in already (the feed started then): load again
    changed();
    load_conversations(true);
}

void ChatSession::fail(const std::string& why) {
    phase_ = Phase::Failed;
    error_ = why;
    prefetch_.clear();  // Try again asks afresh
    changed();
}

void ChatSession::request(const std::string& method, const std::string& path, const json* body, wps::ApiClient::Done done) {
    api_.call(method, path, body, std::move(done));
}

// ============================================================================================
// [SECTION] sign-in, conversations, history
// ============================================================================================

void ChatSession::start() {
    phase_ = Phase::SigningIn;
    panel_open_ = true;
    changed();
    const json body{{"userId", options_.user_id}};
    request("POST", "/auth/dev-login", &body, [this](int status, const json& j, const std::string& err) {
        if (status != 200 || !j.contains("token") || !j["token"].is_string()) return fail("Sign-in failed: " + error_text(status, j, err));
        token_ = j["token"].get<std::string>();
        api_.set_token(token_);
        realtime_.set_token(token_);
        display_name_ = wps::string_or(j, "displayName", options_.user_id);
        teams_.clear();
        if (j.contains("teams") && j["teams"].is_array())
            for (const auto& t : j["teams"])
                if (t.is_string()) teams_.push_back(t.get<std::string>());
        if (on_signed_in) on_signed_in();
        // Three requests at once: the server's limits (until they come, the defaults apply), the
        // list, and the initial conversation's latest page (used if it is in the list).
        const int64_t asked_at = wall_ms();
        request("GET", "/config", nullptr, [this, asked_at](int st, const json& cfg, const std::string&) {
            // The server's clock, which attachment links expire by: this clock's offset from it
            // (taken halfway through the request).
            // A slow answer (over 5 s) says too little; an offset over a day is no clock.
            const int64_t answered_at = wall_ms();
            if (st == 200 && cfg.contains("serverTime") && cfg["serverTime"].is_number_integer() && answered_at - asked_at <= 5000) {
                const json& t = cfg["serverTime"];
                const int64_t server = t.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(t.get<uint64_t>(), INT64_MAX / 2))
                                                              : std::max<int64_t>(t.get<int64_t>(), 0);
                const int64_t offset = server - (asked_at + answered_at) / 2;
                if (offset > -kDayMs && offset < kDayMs) {
                    server_offset_ms_ = offset;
                    keep_links_fresh(link_watch_);  // a renewal timer set before this runs by the server's clock now
                }
            }
            if (st == 200 && cfg.contains("maxMessageBytes") && cfg["maxMessageBytes"].is_number_unsigned())
                max_message_bytes_ = cfg["maxMessageBytes"].get<std::size_t>();
            if (st == 200 && cfg.contains("maxAttachmentBytes") && cfg["maxAttachmentBytes"].is_number_unsigned())
                max_attachment_bytes_ = cfg["maxAttachmentBytes"].get<uint64_t>();
        });
        phase_ = Phase::Loading;
        changed();
        if (!options_.initial_conversation.empty() && !loaded_[options_.initial_conversation]) prefetch_latest(options_.initial_conversation);
        load_conversations(true);
    });
}

std::string ChatSession::latest_path(const std::string& id) const {
    return "/conversation/detail?conversationId=" + wps::url_encode(id) + "&limit=" + std::to_string(options_.history_page);
}

void ChatSession::prefetch_latest(const std::string& id) {
    auto p = std::make_shared<Prefetch>();
    prefetch_[id] = p;
    std::weak_ptr<Prefetch> weak = p;
    request("GET", latest_path(id),
            nullptr, [weak](int status, const json& j, const std::string& err) {
                auto pre = weak.lock();
                if (!pre) return;  // not wanted any more (another conversation opened first, or signed in again)
                if (pre->waiter) return pre->waiter(status, j, err);
                pre->answered = true;
                pre->status = status;
                pre->body = j;
                pre->error = err;
            });
}

void ChatSession::load_conversations(bool then_open) {
    // A refresh while one is on its way: one more after it answers (a burst of new conversations,
    // or of activity in unknown ones, costs two list requests, not one each).
    if (list_loading_ && !then_open) {
        list_again_ = true;
        return;
    }
    list_loading_ = true;
    request("GET", "/chat/conversations", nullptr, [this, then_open](int status, const json& j, const std::string& err) {
        list_loading_ = false;
        if (list_again_) {
            list_again_ = false;
            load_conversations(false);
        }
        if (status != 200) {
            if (then_open) fail("Could not load conversations: " + error_text(status, j, err));
            return;
        }
        std::vector<ConversationSummary> list;
        const json none = json::array();
        const json& convs = j.contains("conversations") && j["conversations"].is_array() ? j["conversations"] : none;
        for (const auto& c : convs) {
            ConversationSummary s = summary_from_json(c);
            if (!s.id.empty()) list.push_back(std::move(s));
        }
        // The open conversation is read as it is shown; live activity that arrived while this
        // list was on its way is not undone by it.
        bool kept_new = false;
        for (auto& s : list) {
            if (s.id == current_ && panel_open_) s.unread = 0;
            if (const ConversationSummary* old = summary(s.id);
                old && (old->lastSeq > s.lastSeq || (old->lastSeq == s.lastSeq && old->previewVersion > s.previewVersion))) {
                s.lastSeq = old->lastSeq;
                s.preview = old->preview;
                s.previewSender = old->previewSender;
                s.previewVersion = old->previewVersion;
                s.lastAt = old->lastAt;
                s.unread = std::max(s.unread, old->unread);
                kept_new = true;  // newer than the server's order says: sorted below (on_activity keeps a sorted list sorted)
            }
            // One created here and still empty keeps its place at the top (the server sorts
            // conversations without messages last).
            if (const ConversationSummary* old = summary(s.id); old && s.lastSeq == 0 && old->lastAt > s.lastAt) {
                s.lastAt = old->lastAt;
                kept_new = true;
            }
        }
        list_ = std::move(list);
        if (kept_new) sort_list();
        if (then_open) {
            if (list_.empty()) return fail("You are not in any conversation yet.");
            std::string pick = list_[0].id;
            for (const auto& c : list_)
                if (c.id == options_.initial_conversation) pick = c.id;
            open_conversation(pick);
        }
        changed();
    });
}

void ChatSession::load_contacts() {
    if (contacts_loading_ || token_.empty()) return;
    contacts_loading_ = true;
    contacts_error_.clear();
    changed();
    request("GET", "/chat/contacts", nullptr, [this](int status, const json& j, const std::string& err) {
        contacts_loading_ = false;
        if (status != 200) {
            contacts_error_ = "Could not load people: " + error_text(status, j, err);
            return changed();
        }
        contacts_.clear();
        const json none = json::array();
        const json& users = j.is_object() && j.contains("users") && j["users"].is_array() ? j["users"] : none;
        for (const auto& u : users) {
            Contact c{wps::string_or(u, "userId"), wps::string_or(u, "displayName")};
            if (c.id.empty() || c.id == options_.user_id) continue;
            if (c.name.empty()) c.name = c.id;
            contacts_.push_back(std::move(c));
        }
        changed();
    });
}

void ChatSession::create_conversation(const std::string& title, const std::vector<std::string>& members) {
    if (creating_ || token_.empty()) return;
    if (members.empty()) {
        create_error_ = "Pick at least one person.";
        return changed();
    }
    creating_ = true;
    create_error_.clear();
    changed();
    const json body{{"title", title}, {"members", members}};
    request("POST", "/chat/conversations", &body, [this](int status, const json& j, const std::string& err) {
        creating_ = false;
        const json c = j.is_object() && j.contains("conversation") ? j["conversation"] : json();
        ConversationSummary s = summary_from_json(c);
        if ((status != 201 && status != 200) || s.id.empty()) {
            create_error_ = "Could not create the conversation: " + error_text(status, j, err);
            return changed();
        }
        // At the top of the list until something newer happens elsewhere.
        s.lastAt = wall_clock_ ? wall_clock_() : static_cast<int64_t>(sched_.now_ms());
        if (!summary(s.id)) list_.push_back(s);
        sort_list();
        ++created_count_;
        open_conversation(s.id);
    });
}

void ChatSession::open_conversation(const std::string& id) {
    const ConversationSummary* sum = summary(id);
    if (!sum) return;
    // A page sign-in asked for another conversation is not wanted any more (kept, it could be
    // applied much later, when that conversation is opened: stale).
    for (auto it = prefetch_.begin(); it != prefetch_.end();) it = it->first == id ? std::next(it) : prefetch_.erase(it);
    if (id != current_) {
        first_unread_seq_ = sum->unread > 0 ? sum->lastReadSeq + 1 : 0;
        reveal_.clear();  // paging to a quoted message ends with its conversation
    }
    current_ = id;
    if (!loaded_[id]) {
        load_errors_.erase(id);  // trying (again)
        load_latest(id);
    } else {
        if (phase_ != Phase::Ready) {
            // Signed in again (Try again after the session ended) with this one loaded: ready at
            // once; the subscription's catch-up fetches what was stored meanwhile.
            phase_ = Phase::Ready;
            connect();
        }
        mark_read_soon();
        if (subscribed()) catch_up();
    }
    subscribe_next();  // moves the subscription here (or catches up once it is)
    changed();
}

void ChatSession::load_latest(const std::string& id) {
    // The page sign-in asked for, if it was this conversation (any other is not wanted any more).
    std::shared_ptr<Prefetch> pre;
    if (auto it = prefetch_.find(id); it != prefetch_.end()) pre = it->second;
    prefetch_.clear();
    if (pre && pre->answered) return on_latest(id, pre->status, pre->body, pre->error);
    std::weak_ptr<bool> alive = alive_;
    auto handle = [this, alive, id](int status, const json& j, const std::string& err) {
        if (!alive.expired()) on_latest(id, status, j, err);
    };
    if (pre) {
        pre->waiter = std::move(handle);
        prefetch_[id] = std::move(pre);  // kept alive until it answers
        return;
    }
    request("GET", latest_path(id),
            nullptr, std::move(handle));
}

void ChatSession::on_latest(const std::string& id, int status, const json& j, const std::string& err) {
    prefetch_.erase(id);
    if (status != 200) {
        if (phase_ != Phase::Ready) return fail("Could not load messages: " + error_text(status, j, err));
        load_errors_[id] = "Could not load messages: " + error_text(status, j, err);
        changed();
        return;
    }
    load_errors_.erase(id);
    auto page = parse_messages(j);
    Conversation& c = model(id);
    if (!page.empty() && !wps::bool_or(j, "hasMore")) c.set_history_start(1);
    else if (!page.empty()) c.set_history_start(page.front().seq);
    else c.set_history_start(1);
    c.merge(page);
    merge_member_state(id, j);
    need_quotes(id, page);
    // Every edit and delete up to `rev` is in this page (the server reads the counter
    // first); later ones arrive live or through catch_up_changes().
    c.set_changes_seen(wps::u64_or(j, "rev"));
    loaded_[id] = true;
    last_synced_ms_ = static_cast<int64_t>(sched_.now_ms());
    const bool first = phase_ != Phase::Ready;
    phase_ = Phase::Ready;
    if (id == current_) mark_read_soon();
    // Subscribed before this page was read? Then messages stored in between are
    // fetched now (otherwise the subscription's own catch-up follows the page).
    if (id == current_ && subscribed()) catch_up();
    changed();
    if (first) connect();
}

void ChatSession::load_older() { load_older_page(options_.history_page); }

void ChatSession::load_older_page(std::size_t limit) {
    const Conversation& c = conversation();
    if (loading_older_ || c.size() == 0 || c.first_seq() <= 1) return;
    loading_older_ = true;
    const std::string id = current_;
    request("GET", "/conversation/detail?conversationId=" + wps::url_encode(id) + "&beforeSeq=" + std::to_string(c.first_seq()) +
                       "&limit=" + std::to_string(limit),
            nullptr, [this, id](int status, const json& j, const std::string&) {
                loading_older_ = false;
                if (status == 200) {
                    auto page = parse_messages(j);
                    Conversation& m = model(id);
                    if (!page.empty()) m.set_history_start(wps::bool_or(j, "hasMore") ? page.front().seq : 1);
                    else m.set_history_start(1);
                    m.merge(page);
                    merge_member_state(id, j);
                    need_quotes(id, page);
                }
                // Paging to a message a reply quotes: on until it is loaded (or there is no more).
                if (!reveal_.empty() && id == reveal_conv_) {
                    if (status == 200 && !model(id).find(reveal_) && !history_complete()) load_older_page(kRevealPage);
                    else reveal_.clear();  // there (the view jumps), not there at all, or not loadable now
                }
                changed();
            });
}

// ============================================================================================
// [SECTION] socket: connect, join, live messages, catch-up
// ============================================================================================

void ChatSession::connect() {
    if (panel_open_) realtime_.hold("chat");
    subscribe_next();
}

void ChatSession::on_group_message(const wps::GroupMessage& m) {
    const auto parsed = parse_conversation_group(m.group);
    if (!m.data.is_object() || !parsed) return;
    const std::string& conv = parsed->conversationId;
    const std::string type = wps::string_or(m.data, "type");
    if (parsed->typing) {
        // The service stamps fromUserId with the sender's authenticated id.
        if (type == "typing" && m.fromUserId && *m.fromUserId != options_.user_id) {
            typing_[conv][*m.fromUserId] = sched_.now_ms() + kTypingTtlMs;
            changed();
        }
        return;
    }
    // Stored messages come from the backend (no fromUserId); a frame some client sent is
    // never taken for one, whatever it claims.
    if (m.fromUserId) return;
    if (type == kChatPresenceEvent) {
        // A user's state is the same in every conversation: any of their groups may tell it.
        if (auto p = chat_presence_from_event(m.data); p && apply_presence(*p)) changed();
        return;
    }
    if (type == kChatReadEvent) {
        if (auto r = chat_read_from_event(m.data); r && r->conversationId == conv) {
            uint64_t& at = reads_[conv][r->userId];
            if (r->lastReadSeq > at) {
                at = r->lastReadSeq;
                changed();
            }
        }
        return;
    }
    auto msg = chat_message_from_event(m.data);
    if (!msg || msg->conversationId != conv) return;
    if (type == kChatMessageUpdatedEvent) {
        // An edit or delete: the message changes in place; the list's preview follows when it is
        // the newest one. Never counted as activity.
        set_preview(*msg);
        update_quote(*msg);
        // A message this client holds changes in place; one newer than all it holds is new to it
        // (its own event may be late); an older one not loaded yet comes with its page.
        if (loaded_[conv]) {
            Conversation& c = model(conv);
            if (c.find(msg->messageId)) c.add_live(*msg);
            else if (msg->seq > c.last_seq() && c.add_live(*msg) && conv == current_) catch_up();
        }
        changed();
        return;
    }
    typing_[conv].erase(msg->senderId);  // a message ends that user's typing indicator
    Activity a;
    a.conversationId = conv;
    a.messageId = msg->messageId;
    a.senderId = msg->senderId;
    a.seq = msg->seq;
    a.createdAtMs = msg->createdAtMs;
    a.preview = preview_of(*msg);
    on_activity(a);
    if (loaded_[conv]) {
        const bool gap = model(conv).add_live(*msg);
        if (!msg->replyToId.empty()) need_quotes(conv, {*msg});  // a reply: its quoted parent (no copy of every message)
        if (conv == current_) {
            if (gap) catch_up();
            mark_read_soon();
        }
    }
    changed();
}

// A message stored in one of the user's conversations: list order, preview, badge. Counted once
// per sequence number, whether it came as activity, as the message itself, or both.
void ChatSession::on_activity(const Activity& a) {
    ConversationSummary* s = summary(a.conversationId);
    if (!s) {
        // A conversation this list does not know yet (the user was just added to it).
        if (phase_ == Phase::Ready) load_conversations(false);
        return;
    }
    if (a.seq == s->lastSeq && a.version > s->previewVersion) {
        // The newest message was edited or deleted: the preview follows, nothing is unread.
        s->preview = a.preview;
        s->previewVersion = a.version;
        changed();
        return;
    }
    if (a.seq <= s->lastSeq) return;
    s->lastSeq = a.seq;
    s->preview = a.preview;
    s->previewSender = a.senderId;
    s->previewVersion = a.version;
    s->lastAt = a.createdAtMs;
    if (a.senderId != options_.user_id && !(a.conversationId == current_ && panel_open_)) ++s->unread;
    // Only this one moved: it is rotated into place (where sort_list's stable sort would put it),
    // not the whole list sorted per message (hundreds of conversations, bursts of messages).
    const auto later = [](const ConversationSummary& x, const ConversationSummary& y) { return x.lastAt > y.lastAt; };
    const auto at = list_.begin() + (s - list_.data());
    if (at != list_.begin() && later(*at, *(at - 1)))
        std::rotate(std::upper_bound(list_.begin(), at, *at, later), at, at + 1);
    else if (at + 1 != list_.end() && later(*(at + 1), *at))
        std::rotate(at, at + 1, std::lower_bound(at + 1, list_.end(), *at, later));
    changed();
}

void ChatSession::set_preview(const Message& m) {
    ConversationSummary* s = summary(m.conversationId);
    if (!s || s->lastSeq != m.seq || m.version <= s->previewVersion) return;
    s->preview = preview_of(m);
    s->previewVersion = m.version;
}

void ChatSession::sort_list() {
    std::stable_sort(list_.begin(), list_.end(),
                     [](const ConversationSummary& a, const ConversationSummary& b) { return a.lastAt > b.lastAt; });
}

// Brings the connection's subscription to what the view needs (the open conversation while the
// panel is open, none otherwise). One request at a time: when it answers, the next one (if the
// user switched meanwhile) goes out, so the last choice always wins.
void ChatSession::subscribe_next() {
    if (subscribe_in_flight_ || subscribe_retry_armed_) return;
    const wps::ClientStatus& st = realtime_.status();
    if (st.state != wps::ClientState::Connected || st.connection_id.empty()) return;
    if (subscribed_conn_ != st.connection_id) {  // a new connection is in no conversation group
        subscribed_.clear();
        subscribed_conn_ = st.connection_id;
    }
    const std::string want = panel_open_ && phase_ == Phase::Ready ? current_ : std::string();
    if (want == subscribed_ || (!want.empty() && want == subscribe_refused_)) return;
    subscribe_in_flight_ = true;
    const std::string conn = st.connection_id, previous = subscribed_;
    const json body{{"connectionId", conn}, {"conversationId", want.empty() ? json() : json(want)},
                    {"previousConversationId", previous.empty() ? json() : json(previous)}};
    request("POST", "/chat/subscribe", &body, [this, want, conn](int status, const json& j, const std::string& err) {
        subscribe_in_flight_ = false;
        if (conn != realtime_.status().connection_id) return subscribe_next();  // that connection is gone
        if (status == 200) {
            subscribed_ = want;
            subscribe_error_.clear();
            subscribe_attempts_ = 0;
            if (!want.empty() && want == current_) {
                // Everything stored before the subscription took effect: fetch it, and the badges.
                if (loaded_[want]) catch_up();
                load_conversations(false);
            }
        } else if (status == 0 || status >= 500 || status == 429) {
            subscribe_error_ = "Could not subscribe to live messages: " + error_text(status, j, err) + " (retrying)";
            wps::RetryOptions ro;
            ro.retry_delay_ms = 500;
            ro.max_retry_delay_ms = 15000;
            const uint64_t delay = wps::retry_delay_ms(ro, ++subscribe_attempts_, random_ ? random_() : 0.5);
            subscribe_retry_armed_ = true;
            std::weak_ptr<bool> alive = alive_;
            sched_.after(delay, [this, alive] {
                if (alive.expired()) return;
                subscribe_retry_armed_ = false;
                subscribe_next();
            });
            changed();
            return;
        } else {
            // Refused (not a member any more, or not this user's connection): say so, and do not
            // ask again for this conversation on this connection.
            subscribe_refused_ = want;
            subscribe_error_ = "Not receiving live messages: " + error_text(status, j, err);
        }
        subscribe_next();
        changed();
    });
}

void ChatSession::catch_up() {
    if (catching_up_ > 0) {
        catch_up_again_ = true;
        return;
    }
    ++catching_up_;
    changed();
    const std::string id = current_;
    const uint64_t after = model(id).contiguous_seq();
    request("GET", "/conversation/detail?conversationId=" + wps::url_encode(id) + "&afterSeq=" + std::to_string(after) +
                       "&limit=200",
            nullptr, [this, id](int status, const json& j, const std::string&) {
                --catching_up_;
                bool again = catch_up_again_;
                catch_up_again_ = false;
                if (status == 200) {
                    const auto page = parse_messages(j);
                    model(id).merge(page);
                    merge_member_state(id, j);
                    need_quotes(id, page);
                    again = again || wps::bool_or(j, "hasMore") || model(id).has_gap();
                    if (!again) last_synced_ms_ = static_cast<int64_t>(sched_.now_ms());
                    if (id == current_) mark_read_soon();
                } else {
                    again = false;  // the next reconnect or live message retries
                }
                if (again) catch_up();
                else if (status == 200) catch_up_changes();
                changed();
            });
}

// After the new messages: the edits and deletes made while this client was away (a live event
// it missed, a reconnect), from the conversation's counter as last known. Applied in place;
// messages not loaded yet bring their current state when they are.
void ChatSession::catch_up_changes() {
    if (current_.empty() || !loaded_[current_]) return;
    if (changes_in_flight_) {
        changes_again_ = true;
        return;
    }
    changes_in_flight_ = true;
    const std::string id = current_;
    const uint64_t after = model(id).changes_seen();
    request("GET", "/conversation/detail?conversationId=" + wps::url_encode(id) + "&changedAfter=" + std::to_string(after) +
                       "&limit=200",
            nullptr, [this, id](int status, const json& j, const std::string&) {
                changes_in_flight_ = false;
                bool again = changes_again_;
                changes_again_ = false;
                if (status == 200) {
                    Conversation& c = model(id);
                    const auto changed = parse_messages(j);
                    c.apply_changes(changed);
                    for (const Message& m : changed) update_quote(m);
                    // A change to a message not held although it lies inside the loaded range (a
                    // gap being filled) is fetched again: the counter stops short of it.
                    uint64_t seen = wps::u64_or(j, "rev");
                    for (const Message& m : changed)
                        if (!c.find(m.messageId) && m.seq >= c.first_seq() && m.seq <= c.last_seq() && m.version > 0)
                            seen = std::min(seen, m.version - 1);
                    c.set_changes_seen(seen);
                    again = again || wps::bool_or(j, "hasMore");
                } else {
                    again = false;  // the next catch-up tries again
                }
                if (again) catch_up_changes();
                changed();
            });
}

// ============================================================================================
// [SECTION] sends: optimistic, FIFO per conversation, bounded retries
// ============================================================================================

bool ChatSession::send(const std::string& text, std::string& why, std::optional<Attachment> attachment, const std::string& replyTo) {
    if (phase_ != Phase::Ready || current_.empty()) {
        why = "Not ready yet.";
        return false;
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos && !attachment) {
        why = "The message is empty.";
        return false;
    }
    if (text.size() > max_message_bytes_) {
        why = "The message is too long (" + std::to_string(text.size()) + " of " + std::to_string(max_message_bytes_) + " bytes).";
        return false;
    }
    if (!replyTo.empty()) {
        const Message* parent = conversation().find(replyTo);
        if (!parent || parent->deleted) {
            why = "The message you reply to was deleted.";
            return false;
        }
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>((random_ ? random_() : 0.5) * 4294967295.0));
    const std::string cmid = options_.user_id + "-" + buf + "-" + std::to_string(++cmid_counter_);
    model(current_).add_pending(cmid, options_.user_id, text,
                                wall_clock_ ? wall_clock_() : static_cast<int64_t>(sched_.now_ms()), attachment, replyTo);
    outbox_[current_].push_back(Outgoing{cmid, text, attachment, replyTo, sched_.now_ms(), 0});
    last_typing_sent_ = 0;
    changed();
    pump(current_);
    return true;
}

void ChatSession::pump(const std::string& conv) {
    auto& q = outbox_[conv];
    if (q.empty() || in_flight_[conv]) return;
    in_flight_[conv] = true;
    Outgoing& head = q.front();
    ++head.attempts;
    json body{{"conversationId", conv}, {"message", head.text}, {"clientMessageId", head.cmid}};
    if (head.attachment) body["attachment"] = attachment_json(*head.attachment);
    if (!head.replyTo.empty()) body["replyTo"] = head.replyTo;
    const std::string cmid = head.cmid;
    request("POST", "/chat/reply", &body, [this, conv, cmid](int status, const json& j, const std::string& err) {
        in_flight_[conv] = false;
        auto& queue = outbox_[conv];
        if (queue.empty() || queue.front().cmid != cmid) return;  // cancelled meanwhile
        Conversation& c = model(conv);
        if ((status == 200 || status == 201) && j.contains("message")) {
            queue.pop_front();
            if (auto m = message_from_json(j["message"])) {
                c.merge({*m});
                if (conv == current_ && c.has_gap()) catch_up();
            }
            pump(conv);
        } else if (status == 0 || status >= 500 || status == 429) {
            // Transient: keep the order, retry with backoff and jitter for a bounded time.
            Outgoing& first = queue.front();
            // While the browser says it is offline the send waits (the window starts again when
            // the network is back): it is not "failed", it has not been tried.
            if (connection().offline) first.first_try_ms = sched_.now_ms();
            if (sched_.now_ms() - first.first_try_ms < options_.send_retry_window_ms) {
                wps::RetryOptions ro;
                ro.retry_delay_ms = 500;
                ro.max_retry_delay_ms = 8000;
                uint64_t delay = wps::retry_delay_ms(ro, first.attempts, random_ ? random_() : 0.5);
                if (status == 429 && j.is_object()) delay = std::max<uint64_t>(delay, 1000);
                std::weak_ptr<bool> alive = alive_;
                sched_.after(delay, [this, alive, conv] {
                    if (!alive.expired()) pump(conv);
                });
            } else {
                // Give up on the head and everything queued behind it (order is kept for Retry all).
                const std::string why = error_text(status, j, err);
                for (const Outgoing& o : queue) c.mark_failed(o.cmid, why);
                queue.clear();
            }
        } else {
            c.mark_failed(cmid, error_text(status, j, err));
            queue.pop_front();
            pump(conv);
        }
        changed();
    });
}

bool ChatSession::attachment_fits(const std::string& name, uint64_t size, std::string& why) const {
    if (size <= max_attachment_bytes()) return true;
    std::string is = chat::format_size(size), limit = chat::format_size(max_attachment_bytes());
    if (is == limit) {  // just over: rounded alike, so say it in bytes
        is = std::to_string(size) + " bytes";
        limit = std::to_string(max_attachment_bytes()) + " bytes";
    }
    why = "\u201c" + name + "\u201d is " + is + "; an attachment can be at most " + limit + ".";
    return false;
}

void ChatSession::send_file(const std::string& name, const std::string& content_type, std::string bytes,
                            std::function<void(const std::string& error)> done) {
    if (token_.empty()) return done("Sign in first.");
    if (std::string too_large; !attachment_fits(name, bytes.size(), too_large)) return done(too_large);
    api_.upload("/blobs?name=" + wps::url_encode(name), content_type, std::move(bytes),
                [this, done = std::move(done)](int status, const json& j, const std::string& err) {
                    if (status < 200 || status >= 300) {
                        const std::string why = status == 0 ? std::string("network error") : error_text(status, j, err);
                        return done("upload failed: " + why);
                    }
                    Attachment att{wps::string_or(j, "url"), wps::string_or(j, "name", "file"), wps::string_or(j, "contentType"),
                                   wps::u64_or(j, "size")};
                    std::string why;
                    done(send("", why, att) ? std::string() : why);
                });
}

bool ChatSession::edit_message(const std::string& messageId, const std::string& text, std::string& why,
                               std::function<void(const std::string& error)> done) {
    const Message* m = phase_ == Phase::Ready ? conversation().find(messageId) : nullptr;
    if (!m || !can_change(*m)) {
        why = m && m->deleted ? "The message was deleted." : "Only your own messages can be edited.";
        return false;
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        why = "The message is empty; delete it instead.";
        return false;
    }
    if (text.size() > max_message_bytes_) {
        why = "The message is too long (" + std::to_string(text.size()) + " of " + std::to_string(max_message_bytes_) + " bytes).";
        return false;
    }
    if (text == m->text) {  // nothing to change
        done("");
        return true;
    }
    const json body{{"text", text}};
    change_message("PATCH", "/chat/messages/" + wps::url_encode(messageId), &body, "Could not save the edit: ", std::move(done));
    return true;
}

bool ChatSession::delete_message(const std::string& messageId, std::string& why, std::function<void(const std::string& error)> done) {
    const Message* m = phase_ == Phase::Ready ? conversation().find(messageId) : nullptr;
    if (!m || !can_change(*m)) {
        why = m && m->deleted ? "The message was deleted." : "Only your own messages can be deleted.";
        return false;
    }
    change_message("DELETE", "/chat/messages/" + wps::url_encode(messageId), nullptr, "Could not delete the message: ", std::move(done));
    return true;
}

bool ChatSession::react(const std::string& messageId, const std::string& emoji, bool add, std::string& why,
                        std::function<void(const std::string& error)> done) {
    const Message* m = phase_ == Phase::Ready ? conversation().find(messageId) : nullptr;
    if (!m || m->deleted) {
        why = m ? "The message was deleted." : "That message is not here any more.";
        return false;
    }
    if (!valid_reaction_emoji(emoji)) {
        why = "That is not a reaction.";
        return false;
    }
    const json body{{"emoji", emoji}};
    change_message(add ? "POST" : "DELETE", "/chat/messages/" + wps::url_encode(messageId) + "/reactions", &body,
                   "Could not react: ", std::move(done));
    return true;
}

void ChatSession::change_message(const std::string& method, const std::string& path, const json* body, const char* what,
                                 std::function<void(const std::string& error)> done) {
    request(method, path, body, [this, what, done = std::move(done)](int status, const json& j, const std::string& err) {
                if (status == 200 && j.is_object() && j.contains("message")) {
                    if (auto m = message_from_json(j["message"])) {
                        // In place (the larger version wins); only a message this client holds.
                        if (Conversation& c = model(m->conversationId); c.find(m->messageId)) c.add_live(*m);
                        set_preview(*m);
                        update_quote(*m);
                    }
                    changed();
                    return done("");
                }
                done(what + (status == 0 ? std::string("network error") : error_text(status, j, err)));
            });
}

void ChatSession::retry(const std::string& clientMessageId) {
    for (auto& [conv, model_] : models_) {
        const Message* m = model_.find_local(clientMessageId);
        if (!m || m->state != SendState::Failed) continue;
        Outgoing o{clientMessageId, m->text, m->attachment, m->replyToId, sched_.now_ms(), 0};
        model_.mark_pending(clientMessageId);
        outbox_[conv].push_back(std::move(o));
        pump(conv);
        changed();
        return;
    }
}

void ChatSession::reconnect_now() { realtime_.client().reconnect_now(); }

void ChatSession::retry_all() {
    for (auto& [conv, model_] : models_) {
        std::vector<std::string> failed;
        for (const Message* m : model_.ordered())
            if (m->state == SendState::Failed) failed.push_back(m->clientMessageId);
        for (const auto& id : failed) retry(id);
    }
}

std::size_t ChatSession::failed_count() const { return conversation().failed_count(); }

// ============================================================================================
// [SECTION] replies: quotes and paging to a parent; read receipts
// ============================================================================================

ChatSession::Quote ChatSession::quote_of(const Message& reply) const {
    if (reply.replyToId.empty()) return {QuoteState::Unavailable, nullptr};
    if (const Message* m = conversation().find(reply.replyToId)) return {QuoteState::Shown, m};
    auto it = quotes_.find(reply.replyToId);
    if (it == quotes_.end()) return {QuoteState::Loading, nullptr};
    if (!it->second) return {QuoteState::Unavailable, nullptr};
    return {QuoteState::Shown, &*it->second};
}

std::string ChatSession::quote_text(const Message& reply) const {
    if (reply.replyToId.empty() || reply.deleted) return {};
    const Quote q = quote_of(reply);
    if (q.state == QuoteState::Loading) return "Loading the message replied to...";
    if (q.state == QuoteState::Unavailable) return "The message replied to is not available";
    return q.message->senderId + ": " + (q.message->deleted ? std::string("Message deleted") : preview_of(*q.message, 200));
}

void ChatSession::need_quotes(const std::string& conv, const std::vector<Message>& ms) {
    Conversation& c = model(conv);
    for (const Message& m : ms) {
        if (m.replyToId.empty() || c.find(m.replyToId) || quotes_.count(m.replyToId)) continue;
        // Older than the loaded pages (or in a gap): fetched once; the page may bring it later.
        if (std::find(quote_queue_.begin(), quote_queue_.end(), m.replyToId) == quote_queue_.end()) quote_queue_.push_back(m.replyToId);
    }
    fetch_quotes();
}

void ChatSession::fetch_quotes() {
    while (quote_fetches_ < kQuoteFetches && !quote_queue_.empty()) {
        const std::string id = quote_queue_.front();
        quote_queue_.pop_front();
        if (quotes_.count(id)) continue;
        ++quote_fetches_;
        request("GET", "/chat/messages/" + wps::url_encode(id), nullptr, [this, id](int status, const json& j, const std::string&) {
            --quote_fetches_;
            if (status == 200 && j.is_object() && j.contains("message")) {
                auto m = message_from_json(j["message"]);
                if (m && m->messageId == id) quotes_[id] = std::move(*m);
                else quotes_[id] = std::nullopt;
            } else if (status == 403 || status == 404 || ++quote_failures_[id] >= 3) {
                quotes_[id] = std::nullopt;  // gone, or not this user's to read: said so, not asked again
            } else {
                // Offline or busy: asked again a little later (three tries in all).
                std::weak_ptr<bool> alive = alive_;
                sched_.after(3000u * static_cast<unsigned>(quote_failures_[id]), [this, alive, id] {
                    if (alive.expired() || quotes_.count(id)) return;
                    quote_queue_.push_back(id);
                    fetch_quotes();
                });
                fetch_quotes();
                return;
            }
            ++quotes_version_;
            fetch_quotes();
            changed();
        });
    }
}

void ChatSession::update_quote(const Message& m) {
    auto it = quotes_.find(m.messageId);
    if (it != quotes_.end() && it->second && m.version > it->second->version) {
        it->second = m;
        ++quotes_version_;
    }
}

// ============================================================================================
// [SECTION] attachment links: renewed before they expire
// ============================================================================================

namespace {
constexpr int64_t kLinkAheadMs = 5 * 60 * 1000;  // a shown link is renewed this long before its expiry
constexpr int64_t kLinkRetryMs = 60 * 1000;      // a failed renewal is tried again after this
constexpr int64_t kLinkOpenMarginMs = 10 * 1000; // a clicked link closer than this to its expiry is renewed first
constexpr int64_t kMaxLinkExpiryS = 100'000'000'000;  // beyond any real expiry (and * 1000 fits)
} // namespace

int64_t ChatSession::wall_ms() const { return wall_clock_ ? wall_clock_() : static_cast<int64_t>(sched_.now_ms()); }

// When a link of ours (/blobs/...?exp=) expires, in this clock's ms; 0 for any other link (an
// https link is as the sender gave it: nothing to renew).
int64_t ChatSession::link_expires_ms(const std::string& url) const {
    const int64_t exp = url.rfind("/blobs/", 0) == 0 ? link_expiry(url) : 0;
    if (exp <= 0 || exp > kMaxLinkExpiryS) return 0;
    return exp * 1000 - server_offset_ms_;
}

void ChatSession::keep_links_fresh(const std::vector<std::string>& drawn) {
    if (&drawn != &link_watch_) link_watch_ = drawn;
    if (phase_ == Phase::Failed || token_.empty()) return;  // signed out: nothing to ask
    const int64_t now = wall_ms();
    // Tries older than the retry wait decide nothing any more.
    for (auto it = link_tried_ms_.begin(); it != link_tried_ms_.end();) it = now - it->second >= kLinkRetryMs ? link_tried_ms_.erase(it) : std::next(it);
    int64_t next = INT64_MAX;
    for (const std::string& id : link_watch_) {
        const Message* m = conversation().find(id);
        if (!m || !m->attachment || m->deleted) continue;
        const int64_t exp = link_expires_ms(m->attachment->url);
        if (exp == 0) continue;  // not a link of ours
        int64_t due = exp - kLinkAheadMs;
        if (auto t = link_tried_ms_.find(id); t != link_tried_ms_.end()) due = std::max(due, t->second + kLinkRetryMs);
        if (due <= now) {
            if (!link_renewals_.count(id)) renew_link(id, nullptr);
        } else {
            next = std::min(next, due);
        }
    }
    // An idle page draws no frames: the timer renews what it shows last.
    if (next != INT64_MAX && (link_timer_ == 0 || next < link_timer_at_)) {
        if (link_timer_) sched_.cancel(link_timer_);
        link_timer_at_ = next;
        std::weak_ptr<bool> alive = alive_;
        link_timer_ = sched_.after(static_cast<uint64_t>(next - now), [this, alive] {
            if (alive.expired()) return;
            link_timer_ = 0;
            keep_links_fresh(link_watch_);
        });
    }
}

void ChatSession::open_link(const std::string& url, std::function<void(const std::string&, const std::string&)> open) {
    const int64_t exp = link_expires_ms(url);
    if (exp == 0 || exp > wall_ms() + kLinkOpenMarginMs) return open(url, "");
    if (const Message* m = message_with_link(url)) return renew_link(m->messageId, std::move(open));
    open(url, "");  // not a message of the open conversation: the server says what is wrong
}

const Message* ChatSession::message_with_link(const std::string& url) const {
    for (const Message* m : conversation().ordered())
        if (m->attachment && m->attachment->url == url && !m->messageId.empty()) return m;
    return nullptr;
}

void ChatSession::renew_link(const std::string& messageId, std::function<void(const std::string&, const std::string&)> then) {
    const bool in_flight = link_renewals_.count(messageId) > 0;  // one request per message; the rest wait for it
    auto& waiting = link_renewals_[messageId];
    if (then) waiting.push_back(std::move(then));
    if (in_flight) return;
    link_tried_ms_[messageId] = wall_ms();
    const std::string conv = current_;
    request("GET", "/chat/messages/" + wps::url_encode(messageId), nullptr, [this, conv, messageId](int status, const json& j, const std::string& err) {
        auto waiters = std::move(link_renewals_[messageId]);
        link_renewals_.erase(messageId);
        std::optional<Message> m;
        if (status == 200 && j.is_object() && j.contains("message")) m = message_from_json(j["message"]);
        std::string url, why;
        if (m && m->messageId == messageId && m->deleted) {
            // Deleted meanwhile: the tombstone applies (its file is gone with it), to the list's
            // preview and to replies' quotes as a live delete does.
            model(conv).add_live(*m);
            set_preview(*m);
            update_quote(*m);
            changed();
            why = "The message was deleted.";
        } else if (m && m->messageId == messageId && m->attachment) {
            url = m->attachment->url;
            // Tried stays set: a link that lives less than kLinkAheadMs (a short --blob-url-ttl)
            // is renewed once a minute, not on every frame.
            if (model(conv).renew_link(messageId, url)) changed();
            if (const Message* held = model(conv).find(messageId); held && held->attachment) url = held->attachment->url;
        } else {
            why = "The attachment's link could not be renewed: " + error_text(status, j, err);
        }
        for (auto& w : waiters)
            if (w) w(url, why);
        if (conv == current_) keep_links_fresh(link_watch_);  // the next one's timer
    });
}

bool ChatSession::reveal(const std::string& messageId, uint64_t seq, std::string& why) {
    if (current_.empty() || conversation().find(messageId)) return true;
    if (history_complete() || seq == 0 || seq >= conversation().first_seq()) {
        why = "The message replied to is not in this conversation's history any more.";
        return false;
    }
    if (conversation().first_seq() - seq > kRevealMaxBack) {
        why = "The message replied to is more than " + std::to_string(kRevealMaxBack) + " messages back; its quote is all there is here.";
        return false;
    }
    reveal_ = messageId;
    reveal_conv_ = current_;
    load_older_page(kRevealPage);
    changed();
    return true;
}

void ChatSession::set_visible(bool visible) {
    if (visible == visible_) return;
    visible_ = visible;
    if (visible_) mark_read_soon();
}

const std::map<std::string, uint64_t>& ChatSession::reads() const {
    static const std::map<std::string, uint64_t> kNone;
    auto it = reads_.find(current_);
    return it == reads_.end() ? kNone : it->second;
}

void ChatSession::merge_member_state(const std::string& conv, const json& answer) {
    if (auto r = answer.find("reads"); r != answer.end() && r->is_object()) {
        auto& mine = reads_[conv];
        for (auto it = r->begin(); it != r->end(); ++it)
            if (it.value().is_number_unsigned()) mine[it.key()] = std::max(mine[it.key()], it.value().get<uint64_t>());
    }
    if (auto p = answer.find("presence"); p != answer.end() && p->is_object())
        for (auto it = p->begin(); it != p->end(); ++it)
            if (auto state = presence_from_json(it.key(), it.value())) apply_presence(*state);
}

bool ChatSession::apply_presence(const PresenceState& p) {
    auto [it, added] = presence_.try_emplace(p.userId, p.online, p.version);
    if (!added) {
        if (p.version <= it->second.second) return false;
        it->second = {p.online, p.version};
    }
    return true;
}

bool ChatSession::online(const std::string& userId) const {
    auto it = presence_.find(userId);
    return it != presence_.end() && it->second.first;
}

std::vector<std::string> ChatSession::other_members() const {
    std::vector<std::string> out;
    for (const auto& s : list_)
        if (s.id == current_)
            for (const auto& m : s.members)
                if (m != options_.user_id) out.push_back(m);
    return out;
}

std::vector<std::string> ChatSession::online_members() const {
    std::vector<std::string> out = other_members();
    out.erase(std::remove_if(out.begin(), out.end(), [this](const std::string& m) { return !online(m); }), out.end());
    return out;
}

// ============================================================================================
// [SECTION] read state, typing, panel open/close
// ============================================================================================

void ChatSession::mark_read_soon() {
    if (!panel_open_ || !visible_ || current_.empty() || read_pending_) return;
    read_pending_ = true;
    std::weak_ptr<bool> alive = alive_;
    sched_.after(300, [this, alive] {
        if (alive.expired()) return;
        read_pending_ = false;
        if (!visible_ || !panel_open_) return;  // hidden (or closed) meanwhile: marked once shown
        ConversationSummary* s = summary(current_);
        const uint64_t seq = model(current_).last_seq();
        if (!s || seq == 0 || seq <= s->lastReadSeq) {
            if (s) s->unread = 0;
            return;
        }
        s->lastReadSeq = seq;
        s->unread = 0;
        reads_[current_][options_.user_id] = std::max(reads_[current_][options_.user_id], seq);
        const json body{{"conversationId", current_}, {"seq", seq}};
        request("POST", "/chat/read", &body, [](int, const json&, const std::string&) {});
        changed();
    });
}

void ChatSession::typing() {
    if (!subscribed()) return;  // the subscription grants sending typing signals to this conversation
    const uint64_t now = sched_.now_ms();
    if (last_typing_sent_ && now - last_typing_sent_ < kTypingThrottleMs) return;
    last_typing_sent_ = now;
    wps::SendOptions opt;
    opt.fireAndForget = true;
    opt.noEcho = true;
    realtime_.client().send_to_group(typing_group(current_), json{{"type", "typing"}, {"userId", options_.user_id}}, wps::DataType::Json, opt);
}

std::vector<std::string> ChatSession::typing_users(uint64_t now_ms) const {
    std::vector<std::string> out;
    auto it = typing_.find(current_);
    if (it == typing_.end()) return out;
    for (const auto& [user, until] : it->second)
        if (until > now_ms) out.push_back(user);
    return out;
}

void ChatSession::close_panel() {
    panel_open_ = false;
    subscribe_next();  // leaves the conversation's groups if the connection stays (notifications)
    realtime_.release("chat");
    changed();
}

void ChatSession::open_panel() {
    if (panel_open_) return;
    panel_open_ = true;
    // What arrived while the panel was closed gets its "New messages" divider.
    if (const ConversationSummary* sum = summary(current_)) first_unread_seq_ = sum->unread > 0 ? sum->lastReadSeq + 1 : 0;
    if (phase_ == Phase::Ready) connect();
    mark_read_soon();
    changed();
}

} // namespace chat
