// config.hpp - the stub server's settings (command-line flags, see main.cpp --help).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stub {

struct Config {
    std::string bind = "127.0.0.1";
    int port = 8080;
    std::string public_url;                   // how clients reach the embedded emulator; default http://{bind}:{port}
    std::string db = "chat.db";
    std::string static_dir;                   // the web client's site folder; empty = no static files
    std::string hub = "chat";
    std::string access_key;                   // embedded emulator key (generated when empty)
    std::string pubsub_connection_string;     // external Web PubSub; empty = embedded emulator
    std::string pubsub_ca_file;               // trust this CA for the external endpoint (else the system's)
    std::string event_handler = "self";       // where the embedded emulator posts connected/disconnected
                                              // events: "self" (this server's /eventhandler), "none", or a URL
    int presence_sweep_s = 30;                // with "self": stored live connections the hub no longer has end (0 = off)
    std::string app_secret;                   // signs dev-login tokens (derived from access_key when empty)
    int64_t token_ttl_s = 600;                // client access URLs: minutes, not hours
    int64_t session_ttl_s = 12 * 3600;        // dev-login bearer tokens
    std::size_t max_message_bytes = 4000;     // chat message body limit (UTF-8 bytes)
    std::size_t max_body_bytes = 1024 * 1024; // any HTTP request body
    int send_rate_per_min = 60;               // per-user chat sends; burst = send_burst
    int send_burst = 20;
    int create_rate_per_min = 10;             // per-user conversation creations (burst 10; 0 = no limit)
    int upload_rate_per_min = 30;             // per-user uploads (burst 10; 0 = no limit)
    uint64_t blob_quota_bytes = 100ull * 1024 * 1024;  // per-user attachment bytes (0 = no limit)
    std::size_t max_connections = 2048;       // HTTP + WebSocket connections at once
    std::string blob_dir;                     // attachments on disk; default: <db>.blobs
    std::size_t max_blob_bytes = 5 * 1024 * 1024;
    int64_t blob_url_ttl_s = 3600;            // signed attachment URLs
    bool seed = true;
    int demo_users = 0;                       // extra seeded users user-1..user-N (load tests, demos)
    bool dev = true;                          // dev-login enabled, CORS any origin unless --allow-origin
    bool quiet = false;                       // no per-request log lines
    bool stub_api = false;                    // /_stub/ fault injection and inspection
    bool outbox_paused = false;
    int outbox_max_attempts = 8;              // then the row is parked as dead
    int64_t outbox_retry_ms = 500;            // first retry delay; doubles, capped at 60 s
    std::vector<std::string> allow_origins;
};

} // namespace stub
