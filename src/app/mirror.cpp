// mirror.cpp - see mirror.hpp.
#include "mirror.hpp"

#include "ui/theme.hpp"

#include <nlohmann/json.hpp>

namespace app {

namespace {
constexpr int64_t kHourMs = 3600000;

std::string status_of(const chat::ChatSession& s) {
    const auto& c = s.connection();
    std::string status = s.phase() == chat::Phase::Failed ? "error: " + s.error()
                         : !s.panel_open()                  ? "closed"
                         : c.offline                        ? "offline"
                                                            : wps::to_string(c.state);
    // "connected" only once the open conversation is subscribed and caught up (live for real).
    if (c.state == wps::ClientState::Connected && !c.offline && s.panel_open() && s.phase() != chat::Phase::Failed)
        status = s.in_sync()                                               ? "connected"
                 : !s.subscribe_error().empty() && !s.subscribed()         ? "not-subscribed"
                 : !s.subscribed()                                          ? "subscribing"
                                                                            : "catching-up";
    return status;
}

// `value` when it differs from what was last sent (and remembers it).
template <typename T>
void changed(std::optional<T>& out, std::string& last, const std::string& key, T value) {
    if (key == last) return;
    last = key;
    out = std::move(value);
}
} // namespace

void MirrorSync::times(web::MirrorSnapshot& out, int64_t wall) {
    auto update = [&](const std::string& id, int64_t at) {
        const std::string when = ui::theme::format_relative(at, wall);
        std::string& shown = time_labels_[id];
        if (shown == when) return;
        shown = when;
        out.times.emplace_back(id, when);
    };
    const int64_t day = ui::theme::local_day(wall);
    if (day != day_) {  // "14:05" becomes "Yesterday", "Yesterday" a weekday, ...
        day_ = day;
        for (const auto& [id, at] : created_) update(id, at);
    }
    for (auto it = recent_.begin(); it != recent_.end();) {
        update(it->second, it->first);
        it = wall - it->first >= kHourMs ? recent_.erase(it) : std::next(it);  // a clock time from now on
    }
}

web::MirrorSnapshot MirrorSync::models(const chat::ChatSession& s, const notify::NotificationCenter* center, uint64_t now_ms,
                                       int64_t wall) {
    web::MirrorSnapshot out;
    if (first_ || conversation_ != s.current_id()) {
        first_ = false;
        conversation_ = s.current_id();
        mirrored_.clear();
        quoted_.clear();
        version_ = last_seq_ = edits_ = quotes_ = 0;
        seen_.clear();
        time_labels_.clear();
        recent_.clear();
        created_.clear();
        out.restart = s.title();
    }
    // Only what changed: messages appended since the last look; a page of older ones or a filled
    // gap walks all (each message is still appended once).
    const chat::Conversation& conv = s.conversation();
    const bool conv_changed = version_ != conv.version() || quotes_ != s.quotes_version();
    if (conv_changed) {
        version_ = conv.version();
        auto fresh = conv.stored_after(last_seq_);
        // A quote fetched or changed: replies' articles may say something else now.
        const bool requote = quotes_ != s.quotes_version();
        quotes_ = s.quotes_version();
        // An edit or delete (or a page of older ones, or a filled gap): walk all; each article is
        // sent again only when its version moved.
        if (mirrored_.size() + fresh.size() != conv.stored_count() || edits_ != conv.edits() || requote) fresh = conv.stored_after(0);
        edits_ = conv.edits();
        for (const chat::Message* m : fresh) {
            // A reply's quote is its parent as it is now: an edit or delete of the parent (or the
            // fetched quote arriving) sends the reply's article again, so no deleted text stays.
            const std::string quote = s.quote_text(*m);
            auto [at, added] = mirrored_.emplace(m->messageId, m->version);
            std::string& shown_quote = quoted_[m->messageId];
            if (!added && at->second == m->version && shown_quote == quote) continue;
            at->second = m->version;
            shown_quote = quote;
            web::MirrorMessage mm;
            mm.id = m->messageId;
            mm.seq = m->seq;
            mm.sender = m->senderId;
            mm.text = m->text;
            mm.at_ms = m->createdAtMs;
            mm.when = ui::theme::format_relative(m->createdAtMs, wall);
            mm.full = ui::theme::format_full(m->createdAtMs);
            if (m->attachment) mm.attachment = m->attachment->name;
            mm.edited = m->editedAtMs > 0;
            mm.deleted = m->deleted;
            mm.own = s.can_change(*m);
            mm.reply_to = m->replyToId;
            mm.quote = quote;
            for (const chat::Reaction& r : m->reactions)
                mm.reactions.push_back({r.emoji, r.users.size(), chat::reacted(*m, r.emoji, s.user_id())});
            time_labels_[mm.id] = mm.when;
            created_[mm.id] = m->createdAtMs;
            if (added && wall - m->createdAtMs < kHourMs) recent_.emplace(m->createdAtMs, mm.id);
            out.appended.push_back(std::move(mm));
        }
        last_seq_ = conv.last_seq();
    }
    times(out, wall);
    const chat::SeenBy seen = chat::seen_by(conv, s.reads(), s.user_id());
    std::string seen_text;
    for (const auto& u : seen.users) seen_text += (seen_text.empty() ? "Seen by " : ", ") + u;
    changed(out.seen, seen_, seen.messageId + '\n' + seen_text, std::make_pair(seen.messageId, seen_text));
    const std::string status = status_of(s);
    changed(out.status, status_, status, status);
    const auto typing = s.typing_users(now_ms);
    std::string typing_text;
    for (const auto& u : typing) typing_text += (typing_text.empty() ? "" : ", ") + u;
    if (!typing_text.empty()) typing_text += typing.size() == 1 ? " is typing" : " are typing";
    changed(out.typing, typing_, typing_text, typing_text);
    const std::string online_text = chat::online_label(s.online_members());
    changed(out.online, online_, online_text, online_text);
    if (conv_changed || out.restart) {
        std::vector<web::MirrorLocal> locals;
        nlohmann::json key = nlohmann::json::array();
        for (const chat::Message* m : conv.locals()) {
            locals.push_back({m->clientMessageId, m->text, m->error, m->state == chat::SendState::Failed});
            key.push_back({m->clientMessageId, m->text, m->error, locals.back().failed});
        }
        changed(out.outbox, outbox_, key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), std::move(locals));
    }
    if (center) {
        web::MirrorFeed feed;
        feed.unread = center->feed().unread();
        nlohmann::json key = nlohmann::json::array({feed.unread});
        for (const notify::Item* it : center->feed().ordered()) {
            web::MirrorNotification n{it->id, it->title, it->body, it->actionLabel, ui::theme::format_relative(it->createdAt, wall),
                                      ui::theme::format_full(it->createdAt), it->createdAt, it->read};
            key.push_back({n.id, n.title, n.body, n.action, n.when, n.read});
            feed.items.push_back(std::move(n));
        }
        changed(out.feed, feed_, key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), std::move(feed));
    }
    return out;
}

web::MirrorSnapshot MirrorSync::view(const chat::ChatSession& s, const ui::ChatViewState& v) {
    web::MirrorSnapshot out;
    std::vector<web::MirrorConversation> convs;
    nlohmann::json key = nlohmann::json::array();
    for (const chat::ConversationSummary* c : ui::filtered_conversations(s, v)) {
        convs.push_back({c->id, c->title, c->unread, c->id == s.current_id()});
        key.push_back({c->id, c->title, c->unread, convs.back().current});
    }
    changed(out.conversations, conversations_, key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), std::move(convs));
    std::string dialog;
    if (const chat::Message* m = v.confirm_delete.empty() ? nullptr : s.conversation().find(v.confirm_delete))
        dialog = m->text.empty() ? (m->attachment ? m->attachment->name : std::string("(no text)")) : chat::preview_of(*m, 200);
    changed(out.dialog, dialog_, dialog, dialog);
    changed(out.reaction_picker, reaction_picker_, v.react_picker, v.react_picker);
    const std::vector<std::string> members = s.other_members();  // one does not mention oneself
    changed(out.members, members_, nlohmann::json(members).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), members);
    web::MirrorPicker picker;
    picker.open = v.picker.open;
    if (picker.open) {
        for (const auto& c : s.contacts()) picker.people.push_back({c.id, c.name, v.picker.picked.count(c.id) > 0});
        picker.status = s.contacts_loading()         ? "Loading people..."
                        : !s.contacts_error().empty() ? s.contacts_error()
                        : !s.create_error().empty()   ? s.create_error()
                        : s.creating()                ? "Creating..."
                                                      : std::to_string(v.picker.picked.size()) + " picked";
        picker.can_create = !v.picker.picked.empty() && !s.creating();
    }
    nlohmann::json pkey{picker.open, picker.status, picker.can_create};
    for (const auto& p : picker.people) pkey.push_back({p.id, p.name, p.picked});
    changed(out.picker, picker_, pkey.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), std::move(picker));
    // The composer line's error (a refused send, a file too large, a failed upload), announced.
    changed(out.error, error_, v.last_error + '\n' + std::to_string(v.error_seq), v.last_error);
    return out;
}

} // namespace app
