// publishers.hpp - the backend's two ways to reach the Web PubSub service: the outbox's publishes
// and POST /chat/subscribe's group changes.
//
//   HubPublisher   the embedded emulator, in process: no HTTP, no JWT
//   RestPublisher  an external service (--pubsub-connection-string) through its REST data
//                  plane, as a real backend does with the server SDK
//
// conversation.activity goes to the members' connections outside the conversation's group. The
// REST publisher sends it to all with the filter `userId in (...) and not('conversation:{id}' in
// groups)` (activity_filter), in slices: a filter's `in` list is bounded, a conversation is not.
// The in-process one reaches the same connections through the members' own (Hub::send_to_users).
#pragma once

#include "app_api.hpp"
#include "outbox.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stub {

class Hub;
class IoPoster;
struct Payload;

class ServicePublisher : public Publisher {
public:
    // One connection's group change (GroupControl, app_api.hpp): 0 when done; otherwise the HTTP
    // status to answer with `error` set. Called on the io thread.
    virtual int change_groups(const GroupChange& c, std::string& error) = 0;
    // Ends `owner`'s connection (POST /realtime/leave; LeaveControl's answer convention). Called on
    // the io thread.
    virtual int close_connection(const std::string& owner, const std::string& connectionId, std::string& error) = 0;
};

// The filter of a conversation.activity send: users[begin, end)'s connections, except those in
// `except_group` (empty: none excepted; they get the message itself).
std::string activity_filter(const std::vector<std::string>& users, std::size_t begin, std::size_t end,
                            const std::string& except_group);

// The filter of a group change: only `c.connectionId`, and only if it is `c.owner`'s (another
// user's connection id changes nothing).
std::string owned_connection_filter(const GroupChange& c);

// Publishes to the embedded emulator: the payload is parsed on the outbox worker's thread, then
// the hub (owned by the io thread) delivers it there; a publish returns once the frames are
// queued on the connections (what a REST 202 would have meant), or fails after 5 s.
class HubPublisher final : public ServicePublisher {
public:
    HubPublisher(Hub& hub, std::string hub_name, std::shared_ptr<IoPoster> poster);
    std::string publish_to_group(const std::string& group, const std::string& body) override;
    std::string publish_to_users(const std::vector<std::string>& users, const std::string& body,
                                 const std::string& except_group) override;
    // In process, on the io thread (which owns the hub): 404 when the connection is not the owner's.
    int change_groups(const GroupChange& c, std::string& error) override;
    int close_connection(const std::string& owner, const std::string& connectionId, std::string& error) override;

private:
    std::string run(const std::string& body, std::function<void(const Payload&)> send);
    Hub& hub_;
    std::string name_;
    std::shared_ptr<IoPoster> poster_;
};

// Talks to an external service through the REST data plane (api-version 2024-12-01), each call
// with a fresh 5-minute token signed with its access key; https verified against the system's
// CAs or `ca_file`.
class RestPublisher final : public ServicePublisher {
public:
    RestPublisher(std::string endpoint, std::string key, std::string hub, std::string ca_file);
    std::string publish_to_group(const std::string& group, const std::string& body) override;
    // One request per 100 users.
    std::string publish_to_users(const std::vector<std::string>& users, const std::string& body,
                                 const std::string& except_group) override;
    // The service cannot say whether the filter matched a connection: 0, or 502 when a call failed.
    int change_groups(const GroupChange& c, std::string& error) override;
    // DELETE /connections/{id}: the service cannot check the owner (main.cpp checks it against the
    // store's presence connections first). Blocks the io thread for the call, as change_groups does.
    int close_connection(const std::string& owner, const std::string& connectionId, std::string& error) override;

private:
    std::string call(const char* method, const std::string& path, const std::string& query, const std::string& body, int expect,
                     const char* what);
    std::string endpoint_, key_, hub_, ca_file_;
};

} // namespace stub
