// net.hpp - the Boost.Beast network adapter (the only place that includes Beast).
#pragma once

#include "http_types.hpp"
#include "io_poster.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace stub {

class Hub;

struct NetHandlers {
    // Every plain HTTP request (routes + static files). Called on the io thread.
    std::function<Response(const Request&)> http;
    Hub* hub = nullptr;
    std::string access_key;             // verifies client access tokens on /client/hubs/{hub}
    std::vector<std::string> allow_origins;  // CORS; "*" or empty + dev = any origin ("*", never echoed)
    bool dev = true;
    std::size_t max_body_bytes = 1024 * 1024;  // any request body, checked before it is read...
    std::size_t max_upload_bytes = 0;           // ...except POST /blobs (attachments), when larger
    std::size_t max_connections = 2048;     // HTTP + WebSocket at once; capped by the fd limit
    bool log_requests = true;           // one JSON line per request on stderr
    std::function<void()> tick;         // once a second on the io thread (session expiry)
    std::function<void(int port)> ready; // after bind, with the actual port (0 = ephemeral)
    std::shared_ptr<IoPoster> poster;    // bound to the io thread while the server runs (run_server)
    // Once the loop stopped, before it is destroyed: whatever holds the loop's sockets lets go.
    std::function<void()> stopped;
};

// Serves until SIGINT/SIGTERM. Throws std::runtime_error when the address cannot be bound.
void run_server(const std::string& bind, int port, NetHandlers handlers);

// A small blocking HTTP client (for the outbox's REST publisher). Returns the status, or 0 with
// `error` set when no HTTP answer came. `response_headers` (optional) gets the answer's headers,
// names in lower case.
// https:// verifies the server's certificate against the system's CAs, or `ca_file` when given.
int http_request(const std::string& method, const std::string& url, const std::map<std::string, std::string>& headers,
                 const std::string& body, std::string& response_body, std::string& error, int timeout_ms = 5000,
                 const std::string& ca_file = "", std::map<std::string, std::string>* response_headers = nullptr);

} // namespace stub
