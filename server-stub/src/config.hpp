// config.hpp - the stub server's settings (command-line flags, see main.cpp --help).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stub {

struct Config {
    std::string bind = "127.0.0.1";
    int port = 8080;
    std::string db = "chat.db";
    std::string static_dir;                   // the web client's site folder; empty = no static files
    std::string hub = "chat";
    std::string access_key;                   // embedded emulator key (generated when empty)
    std::string pubsub_connection_string;     // external Web PubSub; empty = embedded emulator
    std::string app_secret;                   // signs dev-login tokens (derived from access_key when empty)
    int64_t token_ttl_s = 600;                // client access URLs: minutes, not hours
    int64_t session_ttl_s = 12 * 3600;        // dev-login bearer tokens
    std::size_t max_message_bytes = 4000;     // chat message body limit (UTF-8 bytes)
    std::size_t max_body_bytes = 1024 * 1024; // any HTTP request body
    bool seed = true;
    bool dev = true;                          // dev-login enabled, CORS any origin unless --allow-origin
    bool stub_api = false;                    // /_stub/ fault injection and inspection
    bool outbox_paused = false;               // start with the outbox worker paused (tests)
    std::vector<std::string> allow_origins;
};

} // namespace stub
