// main.cpp - the stub server: Web PubSub emulator + app backend + static web client.
//
// Composes the parts and serves until SIGINT/SIGTERM:
//   cli          flags -> Config (checked)            sqlite_store  messages, notifications, outbox rows
//                                                     pg_store      the same on PostgreSQL (--db postgresql://...)
//   hub/rest_api the embedded emulator                publishers    the way to the service (in process or REST)
//   app_api      the backend's routes                 outbox        publishes committed rows
//   stub_api     /_stub/ for testers                  static_site   the web client's files
//   net          Boost.Beast: sockets, sessions, the io thread
#include "app_api.hpp"
#include "cli.hpp"
#include "cloud_events.hpp"
#include "event_upstream.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "net.hpp"
#include "outbox.hpp"
#include "pg_store.hpp"
#include "publishers.hpp"
#include "rest_api.hpp"
#include "sqlite_store.hpp"
#include "static_site.hpp"
#include "stub_api.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

using namespace stub;
using nlohmann::json;

namespace {

OutboxOptions outbox_options(const Config& cfg) {
    OutboxOptions oo;
    oo.max_attempts = std::max(1, cfg.outbox_max_attempts);
    oo.base_retry_ms = std::max<int64_t>(1, cfg.outbox_retry_ms);
    return oo;
}

// The embedded emulator is reached on the bound address (loopback for a wildcard bind).
std::string local_base_url(const std::string& bind, int port) {
    const std::string host = bind == "0.0.0.0" ? "127.0.0.1" : bind == "::" ? "[::1]" : bind.find(':') != std::string::npos ? "[" + bind + "]" : bind;
    return "http://" + host + ":" + std::to_string(port);
}

// What the server prints once it listens: where to open the demo, the emulator's connection
// string (the key only in dev mode: it is a secret), then the line tests wait for.
std::string ready_text(const Config& cfg, const ServiceEndpoint& external, const std::string& local_base,
                       const std::string& public_base, int port) {
    std::ostringstream out;
    out << "chat-stub listening on " << local_base << (public_base != local_base ? " (public URL " + public_base + ")" : "") << "\n";
    if (cfg.seed)
        for (const char* u : {"alice", "bob", "carol"}) out << "  open " << public_base << "/?user=" << u << "\n";
    out << "Web PubSub emulator connection string:\n  Endpoint=" << public_base << ";AccessKey="
        << (cfg.dev ? cfg.access_key : std::string("<the --access-key value; not printed with --no-dev>")) << ";Version=1.0;\n";
    if (!external.endpoint.empty()) out << "publishing through external Web PubSub at " << external.endpoint << "\n";
    if (is_postgres_url(cfg.db)) out << "storage: PostgreSQL at " << redacted_postgres_url(cfg.db) << "\n";
    out << R"({"level":"info","msg":"ready","port":)" << port << "}\n";
    return out.str();
}

} // namespace

int main(int argc, char** argv) {
    const CommandLine cl = parse_command_line(argc, argv, std::getenv("CHAT_STUB_ACCESS_KEY"), std::cout, std::cerr);
    if (cl.exit_code >= 0) return cl.exit_code;
    const Config& cfg = cl.config;
    const ServiceEndpoint& external = cl.external;
    const bool embedded = external.endpoint.empty();

    // The store: PostgreSQL for a postgresql:// URL (several instances may share it), else SQLite.
    std::unique_ptr<Store> store;
    try {
        if (is_postgres_url(cfg.db)) store = std::make_unique<PgStore>(cfg.db);
        else store = std::make_unique<SqliteStore>(cfg.db);
    } catch (const std::exception& e) {  // the message names the database, never its password
        std::cerr << "chat-stub: " << e.what() << "\n";
        return 1;
    }

    // The embedded emulator. Token audiences and access URLs come from configuration (set once
    // the port is known), never from a request's Host header.
    Hub hub([] { return unix_now_ms(); });
    RestApi rest(hub, cfg.access_key);
    // The backend's way to the service: the emulator in process, or an external one's REST API.
    auto poster = std::make_shared<IoPoster>();
    std::unique_ptr<ServicePublisher> service;
    if (embedded) service = std::make_unique<HubPublisher>(hub, cfg.hub, poster);
    else service = std::make_unique<RestPublisher>(external.endpoint, external.key, cfg.hub, cfg.pubsub_ca_file);
    OutboxWorker outbox(*store, *service, outbox_options(cfg));  // started once the server listens
    // The backend: its commits wake the outbox; POST /chat/subscribe changes groups through the service.
    AppApi app(cfg, *store, [&] { outbox.notify(); }, PubSubTarget{external.endpoint, embedded ? cfg.access_key : external.key, cfg.hub});
    app.set_group_control([&](const GroupChange& c, std::string& error) { return service->change_groups(c, error); });
    // POST /realtime/leave: the embedded emulator knows each connection's user and checks it
    // itself; an external service cannot say, so there the store's presence row (from the
    // service's connected event) must name the caller.
    app.set_leave_control([&](const std::string& owner, const std::string& id, std::string& error) {
        if (!embedded && store->presence_owner(id) != owner) {
            error = "Connection '" + id + "' is not one of your live connections.";
            return 404;
        }
        return service->close_connection(owner, id, error);
    });
    if (cfg.seed) app.seed();
    StubApi stub_api(cfg, hub, *store, outbox, app);
    // Presence: the embedded emulator posts its connected/disconnected events to an event handler
    // (by default this server's own /eventhandler, over HTTP like the service). It starts with no
    // connection, so nobody is online until they connect again.
    std::unique_ptr<EventUpstream> upstream;
    if (embedded) {
        try {
            store->presence_reset(unix_now_ms());
        } catch (const std::exception& e) {
            std::cerr << "chat-stub: " << e.what() << "\n";
            return 1;
        }
    }
    StaticSite site(cfg.static_dir);

    std::thread settle;  // prints "ready" once the start-up outbox rows are handled
    std::atomic<bool> stopping{false};
    NetHandlers h;
    h.hub = &hub;
    h.access_key = cfg.access_key;
    h.allow_origins = cfg.allow_origins;
    h.dev = cfg.dev;
    h.log_requests = !cfg.quiet;
    h.max_body_bytes = cfg.max_body_bytes;
    h.max_upload_bytes = cfg.max_blob_bytes;
    h.max_connections = cfg.max_connections;
    h.poster = poster;
    h.stopped = [&] { hub.release_sinks(); };  // the sockets go before the io loop they belong to
    int sweep_ticks = 0;
    h.tick = [&] {
        hub.tick();
        // Presence: a connection stored as live that the emulator no longer has (its disconnected
        // event was lost: the handler was down, the queue full) ends, so nobody stays online.
        if (!upstream || cfg.event_handler != "self" || cfg.presence_sweep_s <= 0 || ++sweep_ticks < cfg.presence_sweep_s) return;
        sweep_ticks = 0;
        try {
            bool changed = false;
            for (const auto& id : store->presence_connections())
                if (!hub.connection_exists(cfg.hub, id)) changed = store->presence_disconnected(id, unix_now_ms()) || changed;
            if (changed) outbox.notify();
        } catch (const std::exception& e) {
            std::cerr << json{{"level", "error"}, {"msg", "presence sweep failed"}, {"error", e.what()}}.dump() << "\n";
        }
    };
    h.http = [&](const Request& r) -> Response {
        if (r.path == "/healthz") {
            const bool ok = outbox.running();
            return json_response(ok ? 200 : 503, json{{"status", ok ? "ready" : "starting"}, {"database", "open"},
                                                      {"outboxWorker", ok ? (outbox.paused() ? "paused" : "running") : "stopped"}});
        }
        if (auto res = stub_api.handle(r)) return *res;
        if (auto res = rest.handle(r)) return *res;
        if (auto res = app.handle(r)) return *res;
        return site.serve(r);
    };
    h.ready = [&](int port) {
        const std::string local_base = local_base_url(cfg.bind, port);
        const std::string public_base = cfg.public_url.empty() ? local_base : cfg.public_url;
        rest.set_public_endpoint(public_base);
        if (embedded) app.set_public_endpoint(public_base);
        if (embedded && cfg.event_handler != "none") {
            UpstreamOptions uo;
            uo.url = cfg.event_handler == "self" ? local_base + "/eventhandler" : cfg.event_handler;
            uo.origin = service_origin(public_base);
            uo.key = cfg.access_key;
            upstream = std::make_unique<EventUpstream>(uo);
            upstream->start();
            hub.on_system_event = [&, hub_name = cfg.hub](const ConnectionInfo& c, const std::string& event, const std::string& reason) {
                if (c.hub != hub_name) return;  // the event handler is configured for the app's hub only
                const char* proto = c.protocol == ClientProtocol::ReliableJson ? "json.reliable.webpubsub.azure.v1"
                                    : c.protocol == ClientProtocol::Json     ? "json.webpubsub.azure.v1"
                                                                             : "";
                upstream->post(SystemEvent{event, c.hub, c.id, c.userId, proto, reason});
            };
        }
        outbox.set_paused(cfg.outbox_paused);
        outbox.start();
        // A known state at "ready": rows committed before start-up (the demo seed's welcome message
        // and notification, or rows left by a killed run) have had their first publish attempt, so
        // nothing the seed wrote reaches a client that joins, or a test that pauses the outbox,
        // after "ready". The worker publishes through the io thread (in process, or its REST plane), which runs
        // only once run_server's loop runs: hence the wait happens beside it. With the outbox paused
        // (--outbox-paused) the rows stay pending and "ready" comes at once.
        settle = std::thread([&, text = ready_text(cfg, external, local_base, public_base, port)] {
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (!stopping && !cfg.outbox_paused && std::chrono::steady_clock::now() < give_up) {
                bool settled = true;
                try { settled = outbox.paused() || store->due_outbox(unix_now_ms(), 1).empty(); } catch (...) {}
                if (settled) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!stopping) std::cout << text << std::flush;
        });
    };
    int code = 0;
    try {
        run_server(cfg.bind, cfg.port, h);
    } catch (const std::exception& e) {
        std::cerr << "chat-stub: " << e.what() << "\n";
        code = 1;
    }
    stopping = true;
    if (settle.joinable()) settle.join();
    hub.on_system_event = nullptr;
    if (upstream) upstream->stop();
    outbox.stop();
    return code;
}
