#!/usr/bin/env bash
# Architecture fences (../shared/STYLE.md): emscripten only in the web platform folder, the
# web main and the backend's browser entry (server-stub/browser); Boost.Beast/Asio only in the stub's network adapter and the native ports; SQLite and
# PostgreSQL only in their stores. Prints the offending files and fails when a fence is crossed.
set -uo pipefail
cd "$(dirname "$0")/../.."
fail=0
check() {  # pattern, allowed-path regex, what
  local hits
  hits=$(grep -rlE "$1" src server-stub --include='*.cpp' --include='*.hpp' --include='*.h' | grep -vE "$2" || true)
  if [ -n "$hits" ]; then
    echo "FENCE: $3 outside its place:"; echo "$hits" | sed 's/^/  /'; fail=1
  fi
}
check '__EMSCRIPTEN__|#include <emscripten' '^src/platform/web/|^src/app/main_web\.cpp$|^server-stub/browser/' 'emscripten'
check '#include <boost/(beast|asio)' '^server-stub/src/net\.cpp$|^src/platform/native/' 'Boost.Beast/Asio'
check '#include <sqlite3\.h>' '^server-stub/src/sqlite_store\.cpp$' 'SQLite'
check '#include <(pqxx/|libpq-fe\.h)' '^server-stub/src/pg_store\.cpp$' 'PostgreSQL (libpqxx/libpq)'
check '#include <imgui' '^src/ui/|^src/app/' 'ImGui'
[ $fail -eq 0 ] && echo "fences: ok"
exit $fail
