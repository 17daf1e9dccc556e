// asio_platform.hpp - native implementations of the core's ports on Boost.Asio/Beast.
//
// Used by native integration tests, the chaos test and benchmarks to run the same client core
// the browser runs, over real sockets. Everything runs on the io_context's thread.
//  [X] Scheduler on steady_timer
//  [X] Socket: ws:// and wss:// client with subprotocol, text frames, close code + reason,
//      frames from the service up to wps::kMaxServiceFrameBytes
//  [X] HttpClient: http:// and https:// requests, one connection each, timeout
//  [X] TLS (wss://, https://): OpenSSL through Beast, TLS 1.2 or later, SNI, the peer's chain
//      verified against the system's CAs (or TlsOptions::ca_file) and its name against the host
#pragma once

#include "core/ports.hpp"

#include <map>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace native {

// How wss:// and https:// connections decide whom to trust. Verification is always on: a chain
// that does not end at a trusted CA, or a certificate for another host name, fails the
// connection (Socket: on_close 1006 with the reason; HttpClient: status 0 with the error).
struct TlsOptions {
    std::string ca_file;  // PEM file of the CAs to trust; empty = the system's (set_default_verify_paths)
};

class AsioScheduler final : public wps::Scheduler {
public:
    explicit AsioScheduler(boost::asio::io_context& ioc);
    ~AsioScheduler() override;
    uint64_t now_ms() override;
    wps::TimerId after(uint64_t delay_ms, std::function<void()> fn) override;
    void cancel(wps::TimerId id) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

wps::SocketFactory asio_socket_factory(boost::asio::io_context& ioc, TlsOptions tls = {});

class AsioHttpClient final : public wps::HttpClient {
public:
    explicit AsioHttpClient(boost::asio::io_context& ioc, TlsOptions tls = {});
    ~AsioHttpClient() override;
    void send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) override;

private:
    struct Tls;
    boost::asio::io_context& ioc_;
    std::shared_ptr<Tls> tls_;
};

} // namespace native
