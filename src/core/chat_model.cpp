// chat_model.cpp - see chat_model.hpp.
#include <cstdio>
#include "chat_model.hpp"

#include <cctype>

#include "chat_wire.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace chat {

using nlohmann::json;

json to_json(const Message& m) {
    json j{{"messageId", m.messageId},   {"clientMessageId", m.clientMessageId}, {"conversationId", m.conversationId},
           {"seq", m.seq},               {"senderId", m.senderId},               {"text", m.text},
           {"createdAt", m.createdAtMs}};
    if (m.attachment) j["attachment"] = attachment_json(*m.attachment);
    if (m.version > 0) j["version"] = m.version;
    if (m.editedAtMs > 0) j["editedAt"] = m.editedAtMs;
    if (m.deleted) j["deleted"] = true;
    if (!m.replyToId.empty()) j["replyTo"] = json{{"messageId", m.replyToId}, {"seq", m.replyToSeq}};
    if (!m.reactions.empty()) {
        json rs = json::array();
        for (const Reaction& r : m.reactions) rs.push_back({{"emoji", r.emoji}, {"users", r.users}});
        j["reactions"] = std::move(rs);
    }
    return j;
}

std::optional<Message> message_from_json(const json& j) {
    if (!j.is_object()) return std::nullopt;
    auto str = [&](const char* k, std::string& out, bool required) {
        auto it = j.find(k);
        if (it == j.end() || it->is_null()) return !required;
        if (!it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    Message m;
    if (!str("messageId", m.messageId, true) || !str("conversationId", m.conversationId, true) ||
        !str("senderId", m.senderId, true) || !str("text", m.text, true) ||
        !str("clientMessageId", m.clientMessageId, false))
        return std::nullopt;
    auto seq = j.find("seq");
    if (seq == j.end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0) return std::nullopt;
    m.seq = seq->get<uint64_t>();
    auto at = j.find("createdAt");
    if (at != j.end() && at->is_number_integer()) m.createdAtMs = at->get<int64_t>();
    // A malformed attachment is dropped, the message kept (chat_wire.hpp has the rules).
    if (auto att = j.find("attachment"); att != j.end()) m.attachment = attachment_from_json(*att);
    // Versions order copies of one message: one of the wrong type is no message at all.
    if (auto v = j.find("version"); v != j.end() && !v->is_null()) {
        if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0)) return std::nullopt;
        m.version = v->get<uint64_t>();
    }
    if (auto e = j.find("editedAt"); e != j.end() && e->is_number_integer()) m.editedAtMs = e->get<int64_t>();
    if (auto d = j.find("deleted"); d != j.end() && !d->is_null()) {
        if (!d->is_boolean()) return std::nullopt;
        m.deleted = d->get<bool>();
    }
    // A malformed reply link is dropped (the message shows without its quote).
    if (auto rt = j.find("replyTo"); rt != j.end() && rt->is_object()) {
        auto id = rt->find("messageId");
        auto rseq = rt->find("seq");
        if (id != rt->end() && id->is_string() && !id->get_ref<const std::string&>().empty() &&
            id->get_ref<const std::string&>().size() <= kMaxMessageIdBytes && rseq != rt->end() && rseq->is_number_unsigned()) {
            m.replyToId = id->get<std::string>();
            m.replyToSeq = rseq->get<uint64_t>();
        }
    }
    // Reactions: a malformed entry is dropped, the message kept; bounded like the server's.
    if (auto rs = j.find("reactions"); rs != j.end() && rs->is_array()) {
        for (const auto& r : *rs) {
            if (m.reactions.size() >= kMaxReactionEmoji) break;
            if (!r.is_object() || !r.contains("emoji") || !r["emoji"].is_string() || !r.contains("users") || !r["users"].is_array())
                continue;
            Reaction out{r["emoji"].get<std::string>(), {}};
            for (const auto& u : r["users"])
                if (u.is_string() && out.users.size() < kMaxReactionUsers) out.users.push_back(u.get<std::string>());
            if (!out.emoji.empty() && !out.users.empty()) m.reactions.push_back(std::move(out));
        }
    }
    if (m.deleted) {  // a tombstone carries nothing of what was said
        m.text.clear();
        m.attachment.reset();
        m.reactions.clear();
    }
    return m;
}

std::string reactions_summary(const Message& m) {
    std::string out;
    for (const Reaction& r : m.reactions) out += (out.empty() ? "" : ",") + r.emoji + ":" + std::to_string(r.users.size());
    return out;
}

bool reacted(const Message& m, const std::string& emoji, const std::string& user) {
    for (const Reaction& r : m.reactions)
        if (r.emoji == emoji) return std::find(r.users.begin(), r.users.end(), user) != r.users.end();
    return false;
}

std::string format_size(uint64_t bytes) {
    char out[32];
    // The unit follows the rounded value: 1,048,575 bytes is "1.0 MB", not "1024.0 KB".
    if (bytes < 1024) std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
    else if (static_cast<double>(bytes) / 1024.0 < 1023.95) std::snprintf(out, sizeof out, "%.1f KB", static_cast<double>(bytes) / 1024.0);
    else std::snprintf(out, sizeof out, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return out;
}

std::string preview_of(const Message& m, std::size_t max_bytes) {
    if (m.deleted) return "Message deleted";
    std::string text = m.text.empty() && m.attachment ? "[" + m.attachment->name + "]" : m.text;
    if (text.size() <= max_bytes) return text;
    std::size_t cut = max_bytes > 3 ? max_bytes - 3 : 0;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    return text.substr(0, cut) + "...";
}

json activity_json(const Message& m) {
    return json{{"type", "conversation.activity"}, {"eventId", "act:" + m.messageId}, {"conversationId", m.conversationId},
                {"messageId", m.messageId}, {"seq", m.seq}, {"senderId", m.senderId}, {"createdAt", m.createdAtMs},
                {"preview", preview_of(m)}, {"version", m.version}};
}

std::optional<Activity> activity_from_json(const json& j) {
    if (!j.is_object() || j.value("type", json()) != "conversation.activity") return std::nullopt;
    Activity a;
    for (auto [key, out] : {std::pair{"conversationId", &a.conversationId}, std::pair{"messageId", &a.messageId},
                            std::pair{"senderId", &a.senderId}, std::pair{"preview", &a.preview}}) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string()) return std::nullopt;
        *out = it->get<std::string>();
    }
    auto seq = j.find("seq");
    if (seq == j.end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0 || a.conversationId.empty()) return std::nullopt;
    a.seq = seq->get<uint64_t>();
    auto at = j.find("createdAt");
    if (at != j.end() && at->is_number_integer()) a.createdAtMs = at->get<int64_t>();
    if (auto v = j.find("version"); v != j.end() && v->is_number_unsigned()) a.version = v->get<uint64_t>();
    return a;
}

std::size_t Conversation::failed_count() const {
    std::size_t n = 0;
    for (const Message& m : local_) n += m.state == SendState::Failed;
    return n;
}

void Conversation::insert_stored(const Message& m) {
    ++version_;
    // A local pending copy of this message is replaced by the stored one.
    if (!m.clientMessageId.empty()) {
        local_.erase(std::remove_if(local_.begin(), local_.end(),
                                    [&](const Message& l) { return l.clientMessageId == m.clientMessageId; }),
                     local_.end());
    }
    Message copy = m;
    copy.state = SendState::Sent;
    seq_by_id_[m.messageId] = m.seq;
    stored_[m.seq] = std::move(copy);
}

int64_t link_expiry(const std::string& url) {
    const auto q = url.find("exp=");
    if (q == std::string::npos || (q > 0 && url[q - 1] != '?' && url[q - 1] != '&')) return 0;
    int64_t v = 0;
    for (std::size_t i = q + 4; i < url.size() && url[i] >= '0' && url[i] <= '9' && v < INT64_MAX / 10 - 10; ++i) v = v * 10 + (url[i] - '0');
    return v;
}

namespace {
std::string_view link_path(const std::string& url) { return std::string_view(url).substr(0, url.find('?')); }
} // namespace

bool Conversation::renew_link(const std::string& messageId, const std::string& url) {
    auto at = seq_by_id_.find(messageId);
    if (at == seq_by_id_.end()) return false;
    Message& have = stored_.at(at->second);
    if (!have.attachment || link_path(have.attachment->url) != link_path(url) || link_expiry(url) <= link_expiry(have.attachment->url))
        return false;
    have.attachment->url = url;
    ++version_;
    return true;
}

bool Conversation::update_stored(const Message& m) {
    auto at = seq_by_id_.find(m.messageId);
    if (at == seq_by_id_.end()) return false;
    Message& have = stored_.at(at->second);
    if (m.version <= have.version || m.seq != have.seq) return false;  // older, the same, or not this message
    have.text = m.text;
    // The same file under a link signed at another time (the backend signs a link when it hands
    // the message out; an edit's event carries the one from the upload): the longer-lasting stays.
    const std::string old_link = have.attachment ? have.attachment->url : std::string();
    have.attachment = m.attachment;
    if (have.attachment && !old_link.empty() && link_path(old_link) == link_path(m.attachment->url) &&
        link_expiry(old_link) > link_expiry(m.attachment->url))
        have.attachment->url = old_link;
    have.version = m.version;
    have.editedAtMs = m.editedAtMs;
    have.deleted = m.deleted;
    have.reactions = m.reactions;
    ++version_;
    ++edits_;
    return true;
}

const Message* Conversation::find(const std::string& messageId) const {
    auto at = seq_by_id_.find(messageId);
    return at == seq_by_id_.end() ? nullptr : &stored_.at(at->second);
}

const Message* Conversation::at_or_before(uint64_t seq) const {
    auto it = stored_.upper_bound(seq);
    if (it == stored_.begin()) return nullptr;
    return &std::prev(it)->second;
}

std::vector<std::string> mentions(const std::string& text) {
    std::vector<std::string> out;
    auto id_char = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; };
    for (std::size_t i = 0; i < text.size() && out.size() < kMaxMentions; ++i) {
        if (text[i] != '@') continue;
        if (i > 0) {
            const auto before = static_cast<unsigned char>(text[i - 1]);
            if (std::isalnum(before) || before == '_' || before >= 0x80) continue;  // a@b: an address, not a mention
        }
        std::size_t j = i + 1;
        while (j < text.size() && id_char(static_cast<unsigned char>(text[j]))) ++j;
        std::string id = text.substr(i + 1, j - i - 1);
        while (!id.empty() && (id.back() == '.' || id.back() == '-')) id.pop_back();
        if (!id.empty() && id.size() <= 64 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
        i = j > i ? j - 1 : i;
    }
    return out;
}

std::string message_link(const std::string& conversationId, const std::string& messageId, uint64_t seq) {
    return "app:message/" + std::to_string(seq) + "/" + messageId + "/" + conversationId;
}

std::optional<MessageLink> message_link_parse(const std::string& link) {
    static const std::string kPrefix = "app:message/";
    if (link.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
    const std::size_t a = kPrefix.size(), b = link.find('/', a), c = b == std::string::npos ? b : link.find('/', b + 1);
    if (c == std::string::npos || b == a || c == b + 1 || c + 1 >= link.size() || b - a > 19) return std::nullopt;
    MessageLink out;
    for (std::size_t i = a; i < b; ++i) {
        if (link[i] < '0' || link[i] > '9') return std::nullopt;
        out.seq = out.seq * 10 + static_cast<uint64_t>(link[i] - '0');
    }
    out.messageId = link.substr(b + 1, c - b - 1);
    out.conversationId = link.substr(c + 1);
    return out;
}

SeenBy seen_by(const Conversation& c, const std::map<std::string, uint64_t>& reads, const std::string& me) {
    uint64_t furthest = 0;
    for (const auto& [user, seq] : reads)
        if (user != me) furthest = std::max(furthest, seq);
    SeenBy out;
    const Message* m = furthest > 0 ? c.at_or_before(furthest) : nullptr;
    if (!m) return out;
    out.seq = m->seq;
    out.messageId = m->messageId;
    for (const auto& [user, seq] : reads)  // a std::map: sorted by id
        if (user != me && seq >= m->seq) out.users.push_back(user);
    return out;
}

std::size_t Conversation::apply_changes(const std::vector<Message>& changed) {
    std::size_t n = 0;
    for (const Message& m : changed) n += update_stored(m);
    return n;
}

void Conversation::advance_contiguous() {
    if (contiguous_ + 1 < history_start_) contiguous_ = history_start_ - 1;
    auto it = stored_.upper_bound(contiguous_);
    while (it != stored_.end() && it->first == contiguous_ + 1) {
        contiguous_ = it->first;
        ++it;
    }
}

std::size_t Conversation::merge(const std::vector<Message>& stored) {
    std::size_t added = 0;
    for (const Message& m : stored) {
        if (m.seq == 0) continue;
        if (seq_by_id_.count(m.messageId)) {
            update_stored(m);
            continue;
        }
        if (stored_.count(m.seq)) continue;
        insert_stored(m);
        ++added;
    }
    advance_contiguous();
    return added;
}

bool Conversation::add_live(const Message& m) {
    if (m.seq == 0) return false;
    if (seq_by_id_.count(m.messageId)) update_stored(m);
    else if (!stored_.count(m.seq)) insert_stored(m);
    advance_contiguous();
    return has_gap();
}

void Conversation::set_history_start(uint64_t firstSeq) {
    history_start_ = std::max<uint64_t>(firstSeq, 1);
    advance_contiguous();
}

void Conversation::add_pending(const std::string& clientMessageId, const std::string& senderId,
                               const std::string& text, int64_t nowMs, std::optional<Attachment> attachment,
                               const std::string& replyTo) {
    if (find_local(clientMessageId)) return;
    for (const auto& [seq, m] : stored_)
        if (m.clientMessageId == clientMessageId) return;  // already stored
    Message m;
    m.clientMessageId = clientMessageId;
    m.conversationId = id_;
    m.senderId = senderId;
    m.text = text;
    m.createdAtMs = nowMs;
    m.attachment = std::move(attachment);
    m.replyToId = replyTo;
    m.state = SendState::Pending;
    local_.push_back(std::move(m));
    ++version_;
}

void Conversation::mark_failed(const std::string& clientMessageId, const std::string& error) {
    for (Message& m : local_)
        if (m.clientMessageId == clientMessageId) {
            m.state = SendState::Failed;
            m.error = error;
            ++version_;
        }
}

void Conversation::mark_pending(const std::string& clientMessageId) {
    for (Message& m : local_)
        if (m.clientMessageId == clientMessageId) {
            m.state = SendState::Pending;
            m.error.clear();
            ++version_;
        }
}

const Message* Conversation::find_local(const std::string& clientMessageId) const {
    for (const Message& m : local_)
        if (m.clientMessageId == clientMessageId) return &m;
    return nullptr;
}

std::size_t Conversation::unread(uint64_t lastReadSeq, const std::string& me) const {
    std::size_t n = 0;
    for (auto it = stored_.upper_bound(lastReadSeq); it != stored_.end(); ++it)
        if (it->second.senderId != me) ++n;
    return n;
}

std::vector<const Message*> Conversation::stored_after(uint64_t seq) const {
    std::vector<const Message*> out;
    for (auto it = stored_.upper_bound(seq); it != stored_.end(); ++it) out.push_back(&it->second);
    return out;
}

std::vector<const Message*> Conversation::locals() const {
    std::vector<const Message*> out;
    out.reserve(local_.size());
    for (const Message& m : local_) out.push_back(&m);
    return out;
}

std::vector<const Message*> Conversation::ordered() const {
    std::vector<const Message*> out;
    out.reserve(size());
    for (const auto& [seq, m] : stored_) out.push_back(&m);
    for (const Message& m : local_) out.push_back(&m);
    return out;
}

std::string online_label(const std::vector<std::string>& users) {
    if (users.empty()) return {};
    constexpr std::size_t kNamed = 3;
    std::string out;
    for (std::size_t i = 0; i < users.size() && i < kNamed; ++i) out += (i ? ", " : "") + users[i];
    if (users.size() > kNamed) out += " and " + std::to_string(users.size() - kNamed) + " more";
    return out + " online";
}

} // namespace chat
