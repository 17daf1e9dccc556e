// stub_api.hpp - /_stub/: fault injection and inspection for testers (--enable-stub-api).
//
//   GET  /_stub/state                 connections (id, user, hub, groups, attached) and the outbox
//                                     (pending, processed, dead and its rows, paused)
//   POST /_stub/drop?userId=          drop sockets without a close (sessions stay recoverable)
//   POST /_stub/close?userId=&reason= a service-side close (1008 + disconnected): not recoverable
//   POST /_stub/outbox?pause=&failNext=&delayNext=&delayMs=
//   POST /_stub/notifications         the backend's own notifications (AppApi)
//
// Each call needs the REST data plane's token (signed with the access key, audience = the URL):
// the tester acts as the backend. Disabled, every /_stub/ path answers 404 saying how to enable it.
#pragma once

#include "http_types.hpp"

#include <optional>

namespace stub {

struct Config;
class AppApi;
class Hub;
class OutboxWorker;
class Store;

class StubApi {
public:
    StubApi(const Config& config, Hub& hub, Store& store, OutboxWorker& outbox, AppApi& app)
        : config_(config), hub_(hub), store_(store), outbox_(outbox), app_(app) {}
    // The answer for a /_stub/ path; nullopt for any other path. Called on the io thread.
    std::optional<Response> handle(const Request& r);

private:
    Response outbox_control(const Request& r);
    const Config& config_;
    Hub& hub_;
    Store& store_;
    OutboxWorker& outbox_;
    AppApi& app_;
};

} // namespace stub
