// stub_process.hpp - starts the stub server binary on a free port for native integration tests.
#pragma once

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

class StubProcess {
public:
    explicit StubProcess(const std::string& extra_args = "") {
        char dir_template[] = "/tmp/chat-native-XXXXXX";
        dir_ = mkdtemp(dir_template);
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], 1);
            close(fds[0]);
            const std::string cmd = std::string("exec '") + STUB_BIN + "' --port 0 --enable-stub-api --db '" + dir_ +
                                    "/chat.db' " + extra_args + " 2>/dev/null";
            execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        out_ = fdopen(fds[0], "r");
        char line[512];
        while (fgets(line, sizeof line, out_)) {
            const std::string l(line);
            const auto p = l.find("\"msg\":\"ready\",\"port\":");
            if (p != std::string::npos) {
                port_ = std::atoi(l.c_str() + p + 21);
                break;
            }
        }
        if (port_ == 0) throw std::runtime_error("stub did not start");
    }
    ~StubProcess() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        if (out_) fclose(out_);
        std::system(("rm -rf '" + dir_ + "'").c_str());
    }
    int port() const { return port_; }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    pid_t pid_ = 0;
    int port_ = 0;
    FILE* out_ = nullptr;
    std::string dir_;
};
