// SmallQueue (server-stub/src/small_queue.hpp): a FIFO that allocates nothing while empty, keeps
// order through its compactions, and lets go of what it held at once.
#include "small_queue.hpp"  // first: the header is self-contained

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using stub::SmallQueue;

TEST_CASE("SmallQueue: first in, first out, through compactions and drains", "[stub][small_queue]") {
    SmallQueue<int> q;
    CHECK(q.empty());
    CHECK(q.size() == 0);
    int next_in = 0, next_out = 0;
    // Uneven pushes and pops: the live items move down many times, the queue drains now and then.
    for (int round = 0; round < 200; ++round) {
        for (int k = 0; k < round % 7 + 1; ++k) q.push_back(next_in++);
        for (int k = 0; k < round % 5 + 1 && !q.empty(); ++k) {
            REQUIRE(q.front() == next_out++);
            q.pop_front();
        }
        REQUIRE(q.size() == static_cast<std::size_t>(next_in - next_out));
        std::vector<int> seen(q.begin(), q.end());
        for (std::size_t i = 0; i < seen.size(); ++i) REQUIRE(seen[i] == next_out + static_cast<int>(i));
    }
    while (!q.empty()) {
        CHECK(q.front() == next_out++);
        q.pop_front();
    }
    CHECK(next_out == next_in);
    q.emplace_back(7);
    CHECK(q.front() == 7);
    q.clear();
    CHECK(q.empty());
}

TEST_CASE("SmallQueue: a popped item is released at once, not when its slot is reused", "[stub][small_queue]") {
    SmallQueue<std::shared_ptr<const std::string>> q;
    auto a = std::make_shared<const std::string>("a");
    auto b = std::make_shared<const std::string>("b");
    q.push_back(a);
    q.push_back(b);
    CHECK(a.use_count() == 2);
    q.pop_front();
    CHECK(a.use_count() == 1);  // the queue holds b only
    CHECK(*q.front() == "b");
    q.pop_front();
    CHECK(b.use_count() == 1);
    CHECK(q.empty());
}
