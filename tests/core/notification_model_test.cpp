#include "core/notification_model.hpp"

#include <catch2/catch.hpp>

using notify::Feed;
using notify::Item;

namespace {
Item item(const std::string& id, uint64_t seq, bool read = false) {
    Item it;
    it.id = id;
    it.seq = seq;
    it.title = "t" + id;
    it.read = read;
    return it;
}
std::vector<std::string> ids(const Feed& f) {
    std::vector<std::string> out;
    for (auto* it : f.ordered()) out.push_back(it->id);
    return out;
}
} // namespace

TEST_CASE("hybrid load: API page first, live items after, deduplicated by id", "[notify]") {
    Feed f;
    f.apply_page({item("b", 2), item("a", 1, true)}, std::string("1"), 1, true);
    CHECK(ids(f) == std::vector<std::string>{"b", "a"});
    CHECK(f.unread() == 1);
    CHECK(f.add_live(item("c", 3)));
    CHECK_FALSE(f.add_live(item("c", 3)));  // the same notification from a second group or a retry
    CHECK_FALSE(f.add_live(item("b", 2)));  // already loaded from the API
    CHECK(f.unread() == 2);
    CHECK(ids(f) == std::vector<std::string>{"c", "b", "a"});
}

TEST_CASE("a server that gives two notifications one seq: the newer holds it, nothing dangles", "[notify][security]") {
    Feed f;
    f.apply_page({item("a", 5), item("b", 5)}, std::nullopt, 2, true);  // one page, one seq twice
    CHECK(ids(f) == std::vector<std::string>{"b"});
    CHECK(f.find("a") == nullptr);  // displaced: not a dangling slot (this threw out_of_range before)
    REQUIRE(f.find("b") != nullptr);
    CHECK(f.find("b")->seq == 5);
    CHECK(f.add_live(item("c", 5)));  // live, reusing it again
    CHECK(f.find("b") == nullptr);
    CHECK(ids(f) == std::vector<std::string>{"c"});
    f.mark_read_local("a");  // an id whose slot is gone: nothing happens, nothing is created
    f.archive_local("b");
    CHECK(ids(f) == std::vector<std::string>{"c"});
    // An id that moves to another seq leaves no copy behind.
    f.apply_page({item("c", 9)}, std::nullopt, 1, false);
    CHECK(ids(f) == std::vector<std::string>{"c"});
    CHECK(f.find("c")->seq == 9);
}

TEST_CASE("older pages extend the feed and move the cursor, a reconnect reload recomputes the badge", "[notify]") {
    Feed f;
    f.apply_page({item("d", 4), item("c", 3)}, std::string("3"), 2, true);
    f.apply_page({item("b", 2), item("a", 1)}, std::nullopt, 2, false);
    CHECK(ids(f) == std::vector<std::string>{"d", "c", "b", "a"});
    CHECK_FALSE(f.next_cursor().has_value());
    f.add_live(item("e", 5));
    CHECK(f.unread() == 3);
    // After a reconnect the first page comes again with the server's count: it replaces ours.
    f.apply_page({item("f", 6), item("e", 5, true), item("d", 4)}, std::string("4"), 1, true);
    CHECK(f.unread() == 1);
    CHECK(f.find("e")->read);
    CHECK(ids(f).size() == 6);
    CHECK_FALSE(f.next_cursor().has_value());  // the older pages were already loaded
}

TEST_CASE("mark read, mark all read and archive adjust the unread count once", "[notify]") {
    Feed f;
    f.apply_page({item("c", 3), item("b", 2), item("a", 1)}, std::nullopt, 3, true);
    f.mark_read_local("b");
    f.mark_read_local("b");
    CHECK(f.unread() == 2);
    f.archive_local("c");
    CHECK(f.unread() == 1);
    CHECK(ids(f) == std::vector<std::string>{"b", "a"});
    f.mark_all_read_local();
    CHECK(f.unread() == 0);
    CHECK(f.find("a")->read);
}

TEST_CASE("items parse from the API and live payload shapes, junk is refused", "[notify]") {
    auto api = notify::item_from_json(nlohmann::json::parse(
        R"({"id":"n1","seq":5,"title":"T","body":"B","createdAt":7,"read":true,"action":{"label":"Open","link":"x"}})"));
    REQUIRE(api);
    CHECK(api->read);
    CHECK(api->actionLabel == "Open");
    auto live = notify::item_from_json(nlohmann::json::parse(R"({"id":"n2","seq":6,"title":"T","target":{"kind":"global"}})"));
    REQUIRE(live);
    CHECK_FALSE(live->read);
    CHECK_FALSE(notify::item_from_json(nlohmann::json::parse(R"({"id":"n3","title":"no seq"})")));
    CHECK_FALSE(notify::item_from_json(nlohmann::json::parse(R"([1])")));
}
