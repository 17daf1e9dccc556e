// notification_model.hpp - the notification feed as the client sees it.
//
// Hybrid load: pages from the API (newest first, cursor for older ones) and live items from the
// socket merge by id without duplicates. The unread count comes from the API and is adjusted by
// live items and local marks until the next API answer replaces it (recomputed after every
// reconnect, so the badge never drifts).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace notify {

struct Item {
    std::string id, title, body, actionLabel, actionLink;
    int64_t createdAt = 0;
    uint64_t seq = 0;
    bool seen = false, read = false, archived = false;
};

// Accepts an API list item or a live payload's "notification" object.
std::optional<Item> item_from_json(const nlohmann::json& j);

class Feed {
public:
    // A page from GET /notifications. `first` = the newest page (after open or reconnect).
    void apply_page(const std::vector<Item>& items, std::optional<std::string> next_cursor, uint64_t unread, bool first);
    // A live item; returns true when it was new (show a toast for it).
    bool add_live(const Item& item);
    void mark_read_local(const std::string& id);
    void mark_all_read_local();
    void archive_local(const std::string& id);
    void set_unread(uint64_t unread) { unread_ = unread; }

    uint64_t unread() const { return unread_; }
    const std::optional<std::string>& next_cursor() const { return next_cursor_; }
    bool loaded() const { return loaded_; }
    std::vector<const Item*> ordered() const;  // newest first, archived hidden
    const Item* find(const std::string& id) const;

private:
    // Stores `it` by its seq; an id seen before moves, and another id holding that seq (a server
    // that reuses one) is displaced. Keeps seq_of_[id] == s exactly when by_seq_[s].id == id.
    void put(const Item& it);
    std::map<uint64_t, Item> by_seq_;
    std::map<std::string, uint64_t> seq_of_;
    std::optional<std::string> next_cursor_;
    uint64_t unread_ = 0;
    bool loaded_ = false;
};

} // namespace notify
