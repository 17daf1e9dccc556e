// notification_model.cpp - see notification_model.hpp.
#include "notification_model.hpp"

#include "json_limits.hpp"

namespace notify {

using nlohmann::json;

std::optional<Item> item_from_json(const json& j) {
    if (!j.is_object()) return std::nullopt;
    auto id = j.find("id");
    auto seq = j.find("seq");
    auto title = j.find("title");
    if (id == j.end() || !id->is_string() || seq == j.end() || !seq->is_number_unsigned() || title == j.end() ||
        !title->is_string())
        return std::nullopt;
    Item it;
    it.id = id->get<std::string>();
    it.seq = seq->get<uint64_t>();
    it.title = title->get<std::string>();
    if (auto b = j.find("body"); b != j.end() && b->is_string()) it.body = b->get<std::string>();
    if (auto c = j.find("createdAt"); c != j.end() && c->is_number_integer()) it.createdAt = c->get<int64_t>();
    if (auto a = j.find("action"); a != j.end() && a->is_object()) {
        it.actionLabel = wps::string_or(*a, "label");
        it.actionLink = wps::string_or(*a, "link");
    }
    it.seen = wps::bool_or(j, "seen");
    it.read = wps::bool_or(j, "read");
    it.archived = wps::bool_or(j, "archived");
    return it;
}

void Feed::apply_page(const std::vector<Item>& items, std::optional<std::string> next_cursor, uint64_t unread, bool first) {
    for (const Item& it : items) put(it);  // the API's per-user state wins over local guesses
    // Only the first page knows where older pages start; older pages move the cursor on.
    if (first && !loaded_) next_cursor_ = std::move(next_cursor);
    else if (!first) next_cursor_ = std::move(next_cursor);
    unread_ = unread;
    loaded_ = true;
}

void Feed::put(const Item& it) {
    if (auto known = seq_of_.find(it.id); known != seq_of_.end()) by_seq_.erase(known->second);
    if (auto taken = by_seq_.find(it.seq); taken != by_seq_.end() && taken->second.id != it.id) seq_of_.erase(taken->second.id);
    seq_of_[it.id] = it.seq;
    by_seq_[it.seq] = it;
}

bool Feed::add_live(const Item& item) {
    if (seq_of_.count(item.id)) return false;
    put(item);
    if (!item.read && !item.archived) ++unread_;
    return true;
}

void Feed::mark_read_local(const std::string& id) {
    auto s = seq_of_.find(id);
    if (s == seq_of_.end()) return;
    auto slot = by_seq_.find(s->second);
    if (slot == by_seq_.end()) return;
    Item& it = slot->second;
    if (!it.read && !it.archived && unread_ > 0) --unread_;
    it.read = it.seen = true;
}

void Feed::mark_all_read_local() {
    for (auto& [seq, it] : by_seq_) it.read = it.seen = true;
    unread_ = 0;
}

void Feed::archive_local(const std::string& id) {
    auto s = seq_of_.find(id);
    if (s == seq_of_.end()) return;
    auto slot = by_seq_.find(s->second);
    if (slot == by_seq_.end()) return;
    Item& it = slot->second;
    if (!it.read && !it.archived && unread_ > 0) --unread_;
    it.archived = true;
}

std::vector<const Item*> Feed::ordered() const {
    std::vector<const Item*> out;
    for (auto it = by_seq_.rbegin(); it != by_seq_.rend(); ++it)
        if (!it->second.archived) out.push_back(&it->second);
    return out;
}

const Item* Feed::find(const std::string& id) const {
    auto s = seq_of_.find(id);
    if (s == seq_of_.end()) return nullptr;
    auto slot = by_seq_.find(s->second);
    return slot == by_seq_.end() ? nullptr : &slot->second;
}

} // namespace notify
