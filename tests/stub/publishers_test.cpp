// The backend's ways to the service (server-stub/src/publishers.hpp), in process: the activity
// filter, group changes only for the owner's connection, and publishes through the io thread.
#include "publishers.hpp"  // first: the header is self-contained

#include "hub.hpp"
#include "net.hpp"
#include "odata_filter.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace stub;
using nlohmann::json;

namespace {

struct Sink final : ConnectionSink {
    std::vector<std::string> frames;
    void send(std::shared_ptr<const std::string> text) override { frames.push_back(*text); }
    void close(int, const std::string&) override {}
};

std::string connect(Hub& hub, const std::string& user, const std::shared_ptr<Sink>& sink,
                    ClientProtocol protocol = ClientProtocol::Json) {
    Hub::Connect c;
    c.hub = "chat";
    c.userId = user;
    c.protocol = protocol;
    const std::string id = hub.connect(c, sink);
    sink->frames.clear();  // the connected frame
    return id;
}

} // namespace

TEST_CASE("activity_filter: quoted users, the subscribed group excepted", "[stub][publishers]") {
    const std::vector<std::string> users{"alice", "o'brien", "carol"};
    CHECK(activity_filter(users, 0, 3, "conversation:demo") ==
          "userId in ('alice','o''brien','carol') and not('conversation:demo' in groups)");
    CHECK(activity_filter(users, 1, 2, "") == "userId in ('o''brien')");
    CHECK(ODataFilter::parse(activity_filter(users, 0, 3, "conversation:it's")));
}

TEST_CASE("HubPublisher: a group change applies only to a connection of its owner", "[stub][publishers][security]") {
    Hub hub([] { return int64_t(1000); });
    HubPublisher service(hub, "chat", std::make_shared<IoPoster>());
    auto sink = std::make_shared<Sink>();
    const std::string id = connect(hub, "alice", sink);
    GroupChange c{"bob", id, {}, {"conversation:demo", "conversation:demo:typing"}, {}, {"conversation:demo:typing"}};
    std::string error;
    CHECK(service.change_groups(c, error) == 404);
    CHECK(error == "Connection '" + id + "' is not one of your connections.");
    c.owner = "alice";
    error.clear();
    CHECK(service.change_groups(c, error) == 0);
    CHECK(error.empty());
    const auto conns = hub.connections();
    REQUIRE(conns.size() == 1);
    CHECK(conns[0].groups == std::vector<std::string>{"conversation:demo", "conversation:demo:typing"});
}

TEST_CASE("HubPublisher: publishes run on the io thread, and fail once it has stopped", "[stub][publishers]") {
    Hub hub([] { return int64_t(1000); });
    auto poster = std::make_shared<IoPoster>();
    HubPublisher service(hub, "chat", poster);
    auto alice = std::make_shared<Sink>(), bob = std::make_shared<Sink>();
    const std::string a = connect(hub, "alice", alice);
    connect(hub, "bob", bob);
    REQUIRE(hub.add_connection_to_group("chat", "conversation:demo", a));
    const std::string body = R"({"type":"chat.message","eventId":"m1"})";
    // No io thread bound: the server is stopping.
    CHECK(service.publish_to_group("conversation:demo", body) == "publish failed: the server is stopping");
    CHECK(service.publish_to_users({}, body, "conversation:demo").empty());  // nobody to tell: nothing to do
    poster->bind([](std::function<void()> work) { work(); });  // this thread plays the io thread
    CHECK(service.publish_to_group("conversation:demo", body).empty());
    REQUIRE(alice->frames.size() == 1);
    CHECK(json::parse(alice->frames[0])["data"]["eventId"] == "m1");
    CHECK(bob->frames.empty());
    // Activity: to both users' connections except those in the group.
    CHECK(service.publish_to_users({"alice", "bob"}, R"({"type":"conversation.activity"})", "conversation:demo").empty());
    CHECK(alice->frames.size() == 1);
    REQUIRE(bob->frames.size() == 1);
    CHECK(json::parse(bob->frames[0])["data"]["type"] == "conversation.activity");
    CHECK(service.publish_to_group("conversation:demo", "not json") == "publish failed: the outbox row is not JSON");
    poster->unbind();
}

TEST_CASE("Hub::send_to_users reaches what the activity filter reaches: each listed user's connections outside the group, once", "[stub][publishers]") {
    // The same hub state twice: one sent through send_to_all with activity_filter (what the REST
    // publisher asks of a real service), one through send_to_users (in process).
    struct Side {
        Hub hub{[] { return int64_t(1000); }};
        std::vector<std::pair<std::string, std::shared_ptr<Sink>>> sinks;  // user, sink
    };
    Side by_filter, by_users;
    // alice: two tabs, one viewing the conversation; bob: one tab viewing; carol: two tabs, none
    // viewing; dave: not a member (never reached); erin: a member with no connection.
    // carol's second tab speaks the simple protocol (it gets the data itself).
    const std::vector<std::pair<std::string, bool>> conns = {
        {"alice", true}, {"alice", false}, {"bob", true}, {"carol", false}, {"carol", false}, {"dave", false}};
    for (Side* side : {&by_filter, &by_users})
        for (std::size_t i = 0; i < conns.size(); ++i) {
            const auto& [user, viewing] = conns[i];
            auto sink = std::make_shared<Sink>();
            const std::string id = connect(side->hub, user, sink, i == 4 ? ClientProtocol::Simple : ClientProtocol::Json);
            if (viewing) REQUIRE(side->hub.add_connection_to_group("chat", "conversation:demo", id));
            side->sinks.emplace_back(user, sink);
        }
    const std::vector<std::string> members = {"alice", "bob", "carol", "erin", "carol"};  // carol named twice
    const Payload p{wps::DataType::Json, json{{"type", "conversation.activity"}, {"conversationId", "demo"}}};

    SECTION("outside the group") {
        auto f = ODataFilter::parse(activity_filter(members, 0, members.size(), "conversation:demo"));
        REQUIRE(f);
        by_filter.hub.send_to_all("chat", p, {}, &*f);
        by_users.hub.send_to_users("chat", members, p, "conversation:demo");
    }
    SECTION("no group left out") {
        auto f = ODataFilter::parse(activity_filter(members, 0, members.size(), ""));
        REQUIRE(f);
        by_filter.hub.send_to_all("chat", p, {}, &*f);
        by_users.hub.send_to_users("chat", members, p, "");
    }
    std::size_t reached = 0;
    for (std::size_t i = 0; i < conns.size(); ++i) {
        INFO("connection " << i << " of " << conns[i].first);
        CHECK(by_users.sinks[i].second->frames == by_filter.sinks[i].second->frames);
        CHECK(by_users.sinks[i].second->frames.size() <= 1);
        reached += by_users.sinks[i].second->frames.size();
        if (conns[i].first == "dave") CHECK(by_users.sinks[i].second->frames.empty());
    }
    CHECK(reached >= 3);  // alice's other tab and carol's two at least
    for (std::size_t i = 0; i < conns.size(); ++i)
        for (const auto& f : by_users.sinks[i].second->frames)
            CHECK((i == 4 ? json::parse(f) : json::parse(f)["data"])["type"] == "conversation.activity");
    // An unknown hub reaches nobody.
    std::size_t before = 0, after = 0;
    for (const auto& [user, sink] : by_users.sinks) before += sink->frames.size();
    by_users.hub.send_to_users("other", members, p, "");
    for (const auto& [user, sink] : by_users.sinks) after += sink->frames.size();
    CHECK(after == before);
}
