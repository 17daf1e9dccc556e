// net.cpp - Boost.Beast adapter: listener -> http_session -> (upgrade) -> websocket_session.
//
//  [X] HTTP/1.1 keep-alive, body limit, read deadline, CORS (preflight + headers), static files
//  [X] WebSocket /client/hubs/{hub} and /client/?hub=: token check before the upgrade (401 with
//      a reason), subprotocol negotiation, recovery (awps_connection_id + awps_reconnection_token
//      take precedence over access_token), 1 MB message limit, write queue bounded in bytes,
//      text and binary frames both ways; only a client close with code 1000 ends a session
//  [X] every request inside one error boundary; a connection limit (503 past it) and an accept
//      loop that backs off when descriptors run out
//  [X] blocking HTTP client for the outbox publisher
#include "net.hpp"

#include "client_endpoint.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "small_queue.hpp"

#include <boost/asio.hpp>
#include <thread>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast.hpp>

#include "core/json_limits.hpp"

#include <sys/resource.h>

#include <array>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace stub {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxWsMessage = 1024 * 1024;   // the service's frame limit
constexpr std::size_t kMaxWriteQueue = 4096;          // slow consumers are disconnected past
constexpr std::size_t kMaxWriteQueueBytes = 16 * 1024 * 1024;  // either bound
// All sockets' queues together: past this budget, any socket holding more than its fair share
// (kFairShareBytes) is torn down on its next message, so many slow readers cannot add up.
constexpr std::size_t kGlobalQueueBudget = 256 * 1024 * 1024;
constexpr std::size_t kFairShareBytes = 1024 * 1024;
constexpr auto kHttpReadTimeout = std::chrono::seconds(30);

void fail(beast::error_code ec, const char* what) {
    if (ec == asio::error::operation_aborted || ec == websocket::error::closed || ec == http::error::end_of_stream ||
        ec == asio::error::eof || ec == beast::error::timeout || ec == asio::error::connection_reset)
        return;
    std::cerr << R"({"level":"debug","msg":"net",")" << what << R"(":")" << ec.message() << "\"}\n";
}

// One unit of the connection limit, held by each HTTP or WebSocket session while it lives (the io
// thread is the only one that touches the count).
class ConnectionSlot {
public:
    explicit ConnectionSlot(std::size_t& count) : count_(count) { ++count_; }
    ~ConnectionSlot() { --count_; }
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;

private:
    std::size_t& count_;
};

std::size_t g_open_connections = 0;
std::size_t g_queued_bytes = 0;  // bytes waiting in every WebSocket write queue
std::thread::id g_io_thread;       // the thread that runs the io loop (run_server)
std::size_t g_http_out_bytes = 0;  // response bodies being written to HTTP clients
// Past this, new responses with a body get a 503: readers that never read cannot pile up files.
constexpr std::size_t kHttpOutBudget = 256 * 1024 * 1024;

// A WebSocket close reason is at most 123 bytes (RFC 6455; Beast throws past that): cut longer
// ones at a UTF-8 character boundary. Reasons can carry text a client sent.
websocket::close_reason close_reason_of(int code, const std::string& reason) {
    std::size_t n = std::min<std::size_t>(reason.size(), 123);
    while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    return websocket::close_reason(static_cast<websocket::close_code>(code), reason.substr(0, n));
}

Request to_request(const http::request<http::string_body>& req) {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (auto const& f : req) {
        std::string name(f.name_string());
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[name] = std::string(f.value());
    }
    r.body = req.body();
    parse_target(r);
    return r;
}

// ---- WebSocket session ----------------------------------------------------------------------
class WsSession : public ConnectionSink, public std::enable_shared_from_this<WsSession> {
public:
    WsSession(tcp::socket&& s, NetHandlers& h) : ws_(std::move(s)), h_(h), slot_(g_open_connections) {}
    ~WsSession() override { g_queued_bytes -= queued_bytes_; }

    // Accepts the upgrade, then registers with the hub (new connection or recovery).
    void start(http::request<http::string_body> req, std::string protocol, Hub::Connect connect,
               std::string recover_id, std::string recover_token) {
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(kMaxWsMessage);
        ws_.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
            if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, protocol);
            res.set(http::field::server, "chat-stub");
        }));
        ws_.async_accept(req, [self = shared_from_this(), connect = std::move(connect), recover_id,
                               recover_token](beast::error_code ec) mutable {
            if (ec) return fail(ec, "accept");
            self->on_accepted(std::move(connect), recover_id, recover_token);
        });
    }

    void send(std::shared_ptr<const std::string> text) override { enqueue(std::move(text), false); }
    void send_binary(std::shared_ptr<const std::string> bytes) override { enqueue(std::move(bytes), true); }

    void close(int code, const std::string& reason) override {
        asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason] {
            if (self->closing_) return;
            self->closing_ = true;
            if (code < 0) {  // fault injection: vanish without a close frame, like a dead network
                self->teardown("dropped");
                return;
            }
            self->pending_close_ = close_reason_of(code, reason);
            if (self->queue_.empty()) self->do_close();
        });
    }

private:
    struct Outgoing {
        std::shared_ptr<const std::string> data;
        bool binary = false;  // a binary frame (simple clients' binary data), else a text frame
    };

    void enqueue(std::shared_ptr<const std::string> data, bool binary) {
        // The hub runs on the io thread: a frame from there is queued at once (no handler
        // allocation per delivery); from any other thread it is posted.
        if (std::this_thread::get_id() == g_io_thread) return push(std::move(data), binary);
        asio::post(ws_.get_executor(), [self = shared_from_this(), data = std::move(data), binary]() mutable {
            self->push(std::move(data), binary);
        });
    }

    void push(std::shared_ptr<const std::string> data, bool binary) {
        if (closing_) return;
        const bool over_budget = g_queued_bytes + data->size() > kGlobalQueueBudget && queued_bytes_ > kFairShareBytes;
        if (queue_.size() >= kMaxWriteQueue || queued_bytes_ + data->size() > kMaxWriteQueueBytes || over_budget) {
            // A reader this slow cannot take a close frame either: drop the queue and the
            // socket now, so memory stays bounded (a reliable session stays recoverable).
            teardown("slow consumer");
            return;
        }
        queued_bytes_ += data->size();
        g_queued_bytes += data->size();
        queue_.push_back(Outgoing{std::move(data), binary});
        if (queue_.size() == 1) do_write();
    }

    // Closes the TCP socket without a close handshake; pending reads and writes end with errors.
    void teardown(const char* why) {
        closing_ = true;
        queue_.clear();
        g_queued_bytes -= queued_bytes_;
        queued_bytes_ = 0;
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).socket().close(ignored);
        if (h_.log_requests && std::string(why) != "dropped")
            std::cerr << json{{"level", "warn"}, {"msg", "websocket closed"}, {"connectionId", id_}, {"reason", why}}.dump() << "\n";
    }

    void on_accepted(Hub::Connect connect, const std::string& recover_id, const std::string& recover_token) {
        auto self = shared_from_this();
        if (!recover_id.empty()) {
            std::string error;
            if (!h_.hub->recover(connect.hub, recover_id, recover_token, connect.protocol, self, error)) {
                closing_ = true;
                pending_close_ = close_reason_of(1008, error);
                do_close();
                return;
            }
            id_ = recover_id;
        } else {
            id_ = h_.hub->connect(connect, self);
        }
        do_read();
    }

    void do_read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                if (ec == websocket::error::message_too_big) {
                    self->closing_ = true;
                    self->pending_close_ = websocket::close_reason(websocket::close_code::too_big,
                                                                   "Frame exceeds the 1 MB limit.");
                    self->do_close();
                }
                // Only a close frame with code 1000 is the client's deliberate end of the session;
                // any other code (the client's keep-alive timeout closes with 4000, an empty close
                // frame reads as 1005) or a dropped socket keeps a reliable session recoverable.
                const bool normal_close = ec == websocket::error::closed && self->ws_.reason().code == websocket::close_code::normal;
                self->h_.hub->on_socket_closed(self->id_, self.get(), normal_close);
                return fail(ec, "ws read");
            }
            std::string payload = beast::buffers_to_string(self->buffer_.data());
            self->buffer_.consume(self->buffer_.size());
            try {
                self->h_.hub->on_frame(self->id_, payload, self->ws_.got_binary());
            } catch (const std::exception& e) {
                // The frame's own error boundary: this socket is closed, the server goes on.
                std::cerr << json{{"level", "error"}, {"msg", "frame failed"}, {"error", e.what()}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
                self->close(1011, "The server failed to handle the frame.");
                // Reading on: the close completes the read, which tells the hub the socket is gone.
            }
            self->do_read();
        });
    }

    void do_write() {
        ws_.binary(queue_.front().binary);
        // The handler holds the bytes: a teardown may clear the queue while the write is pending.
        auto data = queue_.front().data;
        ws_.async_write(asio::buffer(*data), [self = shared_from_this(), data](beast::error_code ec, std::size_t) {
            if (ec) return fail(ec, "ws write");
            if (self->queue_.empty()) return;  // torn down meanwhile
            self->queued_bytes_ -= self->queue_.front().data->size();
            g_queued_bytes -= self->queue_.front().data->size();
            self->queue_.pop_front();
            if (!self->queue_.empty()) return self->do_write();
            if (self->closing_ && self->pending_close_) self->do_close();
        });
    }

    void do_close() {
        auto reason = *pending_close_;
        pending_close_.reset();
        ws_.async_close(reason, [self = shared_from_this()](beast::error_code ec) {
            if (ec) fail(ec, "ws close");
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    NetHandlers& h_;
    beast::flat_buffer buffer_;
    SmallQueue<Outgoing> queue_;
    std::size_t queued_bytes_ = 0;
    ConnectionSlot slot_;
    std::string id_;
    bool closing_ = false;
    std::optional<websocket::close_reason> pending_close_;
};

// ---- HTTP session ---------------------------------------------------------------------------
class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket&& s, NetHandlers& h) : stream_(std::move(s)), h_(h), slot_(g_open_connections) {}
    void start() { do_read(); }

private:
    // The header first, then the body with the limit of its route: only an upload may be larger
    // than max_body_bytes, so no one can make the server buffer megabytes on any other path.
    void do_read() {
        parser_.emplace();
        parser_->header_limit(16 * 1024);
        // The header is checked against a Content-Length above the largest limit (Beast's default
        // is 1 MiB); the route's own limit is set once the header says which route it is.
        parser_->body_limit(std::max(h_.max_body_bytes, h_.max_upload_bytes));
        stream_.expires_after(kHttpReadTimeout);
        http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec == http::error::body_limit)
                return self->write(error_response(413, "PayloadTooLarge", "The request body exceeds the server's limit."), false, 11, "");
            if (ec) return fail(ec, "http read");
            const auto& req = self->parser_->get();
            const auto target = req.target();
            const bool upload = req.method() == http::verb::post && target.substr(0, target.find('?')) == "/blobs";
            const std::size_t limit = upload ? std::max(self->h_.max_body_bytes, self->h_.max_upload_bytes) : self->h_.max_body_bytes;
            if (auto length = self->parser_->content_length(); length && *length > limit)
                return self->write(error_response(413, "PayloadTooLarge", "The request body exceeds the server's limit."), false, 11, "");
            self->parser_->body_limit(limit);  // for chunked bodies
            http::async_read(self->stream_, self->buffer_, *self->parser_, [self](beast::error_code ec2, std::size_t) {
                if (ec2 == http::error::body_limit) {
                    Response r = error_response(413, "PayloadTooLarge", "The request body exceeds the server's limit.");
                    return self->write(r, false, 11, "");
                }
                if (ec2) return fail(ec2, "http read");
                self->on_request(self->parser_->release());
            });
        });
    }

    std::string allowed_origin(const std::string& origin) const {
        // Bearer tokens, no cookies: a wildcard is answered with "*", never by echoing the origin.
        if (origin.empty()) return {};
        if (h_.allow_origins.empty()) return h_.dev ? "*" : std::string();
        for (auto& o : h_.allow_origins) {
            if (o == "*") return "*";
            if (o == origin) return origin;
        }
        return {};
    }

    // The error boundary: nothing a request carries may take the process down.
    void on_request(http::request<http::string_body> req) {
        const unsigned version = req.version();
        try {
            handle_request(std::move(req));
        } catch (const std::exception& e) {
            std::cerr << json{{"level", "error"}, {"msg", "request failed"}, {"error", e.what()}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            write(error_response(500, "InternalServerError", "The server failed to handle the request."), false, version, "");
        }
    }

    void handle_request(http::request<http::string_body> req) {
        const std::string origin = allowed_origin(std::string(req[http::field::origin]));
        if (websocket::is_upgrade(req)) return upgrade(std::move(req));
        Request r = to_request(req);
        const auto started = std::chrono::steady_clock::now();
        Response res;
        // OPTIONS is a CORS preflight, unless it is a Web PubSub abuse-protection handshake (for
        // the event handler, POST /eventhandler).
        if (r.method == "OPTIONS" && r.header("webhook-request-origin").empty()) {
            res.status = 204;
            res.content_type.clear();
            res.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
            res.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
            res.headers.emplace_back("Access-Control-Max-Age", "600");
        } else {
            try {
                res = h_.http(r);
            } catch (const std::exception& e) {
                std::cerr << json{{"level", "error"}, {"msg", "handler failed"}, {"error", e.what()}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
                res = error_response(500, "InternalServerError", "The server failed to handle the request.");
            }
        }
        // Structured access log: one JSON line per request (paths only: tokens live in queries).
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
        if (h_.log_requests)
            std::cerr << json{{"level", "info"}, {"msg", "http"}, {"method", r.method}, {"path", r.path},
                              {"status", res.status}, {"us", us}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        write(res, req.keep_alive(), req.version(), origin, req.method() == http::verb::head);
    }

    void write(const Response& r_in, bool keep_alive, unsigned version, const std::string& origin, bool head = false) {
        const Response busy = error_response(503, "ServiceUnavailable", "The server is busy; try again in a moment.");
        const bool over = !head && g_http_out_bytes + r_in.body.size() > kHttpOutBudget;
        const Response& r = over ? busy : r_in;
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
        res->set(http::field::server, "chat-stub");
        res->set("X-Content-Type-Options", "nosniff");
        if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
        for (auto& [k, v] : r.headers) res->set(k, v);
        if (!origin.empty()) {
            res->set(http::field::access_control_allow_origin, origin);
            if (origin != "*") {  // added to what the response varies on already (Accept-Encoding)
                const auto vary = res->find(http::field::vary);
                res->set(http::field::vary, vary == res->end() ? std::string("Origin") : std::string(vary->value()) + ", Origin");
            }
        }
        if (head) {
            res->content_length(r.body.size());
        } else {
            res->body() = r.body;
            res->prepare_payload();
        }
        if (over) res->set(http::field::retry_after, "1");
        res->keep_alive(keep_alive);
        const std::size_t out = res->body().size();
        g_http_out_bytes += out;
        http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive, out](beast::error_code ec, std::size_t) {
            g_http_out_bytes -= out;
            if (ec) return fail(ec, "http write");
            if (!keep_alive) {
                beast::error_code ignored;
                self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                self->linger();
                return;
            }
            self->do_read();
        });
    }

    // A lingering close: after the answer, what the client still sends (the rest of a refused body)
    // is read and dropped, up to 16 MiB or 5 s, so it sees the 413 rather than a reset.
    void linger() {
        stream_.expires_after(std::chrono::seconds(5));
        if (!drain_) drain_ = std::make_unique<std::array<char, 64 * 1024>>();
        stream_.async_read_some(asio::buffer(*drain_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->drained_ += n;
            if (ec || self->drained_ > 16 * 1024 * 1024) {
                beast::error_code ignored;
                self->stream_.socket().close(ignored);
                return;
            }
            self->linger();
        });
    }

    void upgrade(http::request<http::string_body> req) {
        Response refused;
        auto up = client_upgrade(to_request(req), h_.access_key, *h_.hub, unix_now_s(), refused);
        if (!up) return write(refused, false, req.version(), "");
        auto ws = std::make_shared<WsSession>(stream_.release_socket(), h_);
        ws->start(std::move(req), up->subprotocol, std::move(up->connect), up->recover_id, up->recover_token);
    }

    beast::tcp_stream stream_;
    NetHandlers& h_;
    ConnectionSlot slot_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::unique_ptr<std::array<char, 64 * 1024>> drain_;
    std::size_t drained_ = 0;
};

// Past the connection limit: a short 503 and the socket is closed (no session, no slot).
void refuse_busy(tcp::socket s) {
    static const std::string kBody = R"({"error":{"code":"ServiceUnavailable","message":"Too many connections; try again in a moment."}})";
    static const std::string kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
        "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    auto sock = std::make_shared<tcp::socket>(std::move(s));
    asio::async_write(*sock, asio::buffer(kBusy), [sock](beast::error_code, std::size_t) {
        beast::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_both, ignored);
        sock->close(ignored);
    });
}

class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(asio::io_context& ioc, tcp::endpoint ep, NetHandlers& h) : ioc_(ioc), acceptor_(ioc), backoff_(ioc), h_(h) {
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }
    int port() const { return acceptor_.local_endpoint().port(); }
    void run() { do_accept(); }

private:
    void do_accept() {
        acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (ec) {
                if (ec == asio::error::operation_aborted) return;
                // Out of descriptors (EMFILE/ENFILE) or similar: retrying at once would spin.
                self->delay_ms_ = std::min<int>(self->delay_ms_ ? self->delay_ms_ * 2 : 20, 1000);
                self->backoff_.expires_after(std::chrono::milliseconds(self->delay_ms_));
                self->backoff_.async_wait([self](beast::error_code) { self->do_accept(); });
                return;
            }
            self->delay_ms_ = 0;
            if (g_open_connections >= self->h_.max_connections) refuse_busy(std::move(s));
            else std::make_shared<HttpSession>(std::move(s), self->h_)->start();
            self->do_accept();
        });
    }
    asio::io_context& ioc_;
    tcp::acceptor acceptor_;
    asio::steady_timer backoff_;
    int delay_ms_ = 0;
    NetHandlers& h_;
};

} // namespace

void run_server(const std::string& bind, int port, NetHandlers handlers) {
    // Leave descriptors for the database, attachments and the outbox's HTTP client.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        const std::size_t usable = lim.rlim_cur > 48 ? static_cast<std::size_t>(lim.rlim_cur) - 32 : 16;
        handlers.max_connections = std::min(handlers.max_connections, usable);
    }
    asio::io_context ioc{1};
    std::shared_ptr<Listener> listener;
    try {
        listener = std::make_shared<Listener>(ioc, tcp::endpoint{asio::ip::make_address(bind), static_cast<unsigned short>(port)}, handlers);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot listen on " + bind + ":" + std::to_string(port) + ": " + e.what());
    }
    listener->run();
    asio::steady_timer timer(ioc);
    std::function<void()> tick = [&] {
        timer.expires_after(std::chrono::seconds(1));
        timer.async_wait([&](beast::error_code ec) {
            if (ec) return;
            if (handlers.tick) handlers.tick();
            tick();
        });
    };
    tick();
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
    g_io_thread = std::this_thread::get_id();  // ioc.run() below runs on this thread only
    if (handlers.poster) handlers.poster->bind([&ioc](std::function<void()> work) { asio::post(ioc, std::move(work)); });
    struct Unbind {
        std::shared_ptr<IoPoster> p;
        ~Unbind() { if (p) p->unbind(); }
    } unbind{handlers.poster};
    if (handlers.ready) handlers.ready(listener->port());
    // The last error boundary: a handler that throws is logged and the loop goes on.
    for (;;) {
        try {
            ioc.run();
            break;
        } catch (const std::exception& e) {
            std::cerr << json{{"level", "error"}, {"msg", "io handler failed"}, {"error", e.what()}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        }
    }
    // Stopped. Nothing posts to the loop any more, and what holds its sockets (the hub's
    // connections) lets go while the loop's services exist; the loop's own pending handlers, and
    // the sessions only they hold, go with it.
    if (handlers.poster) handlers.poster->unbind();
    if (handlers.stopped) handlers.stopped();
}

namespace {

// One request on an already connected stream (plain or TLS), asynchronously so the stream's
// deadline applies to every step (blocking Beast calls ignore expires_after).
template <class Stream>
void exchange(Stream& stream, http::request<http::string_body>& req, http::response<http::string_body>& res,
              beast::flat_buffer& buf, beast::error_code& out) {
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec) { out = ec; return; }
        http::async_read(stream, buf, res, [&](beast::error_code ec2, std::size_t) { out = ec2; });
    });
}

} // namespace

int http_request(const std::string& method, const std::string& url, const std::map<std::string, std::string>& headers,
                 const std::string& body, std::string& response_body, std::string& error, int timeout_ms,
                 const std::string& ca_file, std::map<std::string, std::string>* response_headers) {
    wps::Url u;
    if (!wps::parse_url(url, u) || (u.scheme != "http" && u.scheme != "https")) {
        error = "unsupported URL " + url;
        return 0;
    }
    const bool tls = u.secure();
    const std::string& host = u.host;
    const std::string& port = u.port;
    const std::string& target = u.target;
    const std::string hostport = host + ":" + port;
    try {
        asio::io_context ioc;
        http::request<http::string_body> req{http::string_to_verb(method), target, 11};
        req.set(http::field::host, hostport);
        for (auto& [k, v] : headers) req.set(k, v);
        req.body() = body;
        req.prepare_payload();
        http::response<http::string_body> res;
        beast::flat_buffer buf;
        beast::error_code ec = asio::error::would_block;
        tcp::resolver resolver(ioc);
        const auto endpoints = resolver.resolve(host, port);
        const auto deadline = std::chrono::milliseconds(timeout_ms);
        if (tls) {
            asio::ssl::context ctx(asio::ssl::context::tls_client);
            if (ca_file.empty()) ctx.set_default_verify_paths();
            else ctx.load_verify_file(ca_file);
            ctx.set_verify_mode(asio::ssl::verify_peer);
            beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
            if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
                throw std::runtime_error("cannot set the TLS server name");
            stream.set_verify_callback(asio::ssl::host_name_verification(host));
            beast::get_lowest_layer(stream).expires_after(deadline);
            beast::get_lowest_layer(stream).async_connect(endpoints, [&](beast::error_code c, const tcp::endpoint&) {
                if (c) { ec = c; return; }
                stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code h) {
                    if (h) { ec = h; return; }
                    exchange(stream, req, res, buf, ec);
                });
            });
            ioc.run();
        } else {
            beast::tcp_stream stream(ioc);
            stream.expires_after(deadline);
            stream.async_connect(endpoints, [&](beast::error_code c, const tcp::endpoint&) {
                if (c) { ec = c; return; }
                exchange(stream, req, res, buf, ec);
            });
            ioc.run();
        }
        if (ec) {
            error = ec == beast::error::timeout ? "timed out after " + std::to_string(timeout_ms) + " ms" : ec.message();
            return 0;
        }
        response_body = res.body();
        if (response_headers)
            for (const auto& f : res) {
                std::string name(f.name_string());
                std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                std::string& value = (*response_headers)[name];  // a repeated header: its values comma-joined
                value += (value.empty() ? "" : ",") + std::string(f.value());
            }
        return static_cast<int>(res.result_int());
    } catch (const std::exception& e) {
        error = e.what();
        return 0;
    }
}

} // namespace stub
