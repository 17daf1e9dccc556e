// asio_platform.hpp - native implementations of the core's ports on Boost.Asio/Beast.
//
// Used by native integration tests, the chaos test and benchmarks to run the same client core
// the browser runs, over real sockets. Everything runs on the io_context's thread.
//  [X] Scheduler on steady_timer
//  [X] Socket: ws:// client with subprotocol, text frames, close code + reason
//  [X] HttpClient: http:// requests, one connection each, timeout
//  [ ] TLS (wss://, https://)
#pragma once

#include "core/ports.hpp"

#include <map>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace native {

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

wps::SocketFactory asio_socket_factory(boost::asio::io_context& ioc);

class AsioHttpClient final : public wps::HttpClient {
public:
    explicit AsioHttpClient(boost::asio::io_context& ioc) : ioc_(ioc) {}
    void send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) override;

private:
    boost::asio::io_context& ioc_;
};

} // namespace native
