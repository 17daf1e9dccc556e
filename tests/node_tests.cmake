# Node-side suites (node's test runner), registered with CTest in the native build:
#   integration/  the stub over HTTP and WebSocket, and the official Azure SDKs against it
#   security/     hostile input: every attack in docs/SECURITY.md replayed against the stub
#   browser/      the stub serving the wasm site, driven in each engine (tests/lib/browser.mjs):
#                 chromium (playwright-core), firefox (puppeteer-core over WebDriver BiDi) and
#                 webkit (WebKitWebDriver + selenium-webdriver); Firefox and WebKit run on a
#                 private Xvfb display that each suite starts and stops itself.
# They need the wasm site (build/wasm/site), so scripts/test builds both presets first.
# Browser suites are registered once per engine as <engine>:browser/<suite>; one suite per
# engine at a time (RESOURCE_LOCK), so ctest -j2 runs at most two browsers on the two cores.
set(BROWSER_ENGINES chromium firefox webkit CACHE STRING "engines the browser suites run in")
set(WASM_BUILD_DIR "${CMAKE_SOURCE_DIR}/build/wasm" CACHE PATH "the wasm preset's build folder")
find_program(NODE_EXE node REQUIRED)
set(NODE_TEST_ENV
  "STUB_BIN=$<TARGET_FILE:chat-stub>"
  "SITE_DIR=${WASM_BUILD_DIR}/site"
  "DEMO_BACKEND=${WASM_BUILD_DIR}/demo-backend/demo_backend.js"
)
file(GLOB NODE_SUITES CONFIGURE_DEPENDS
  "${CMAKE_CURRENT_SOURCE_DIR}/integration/*.test.mjs"
  "${CMAKE_CURRENT_SOURCE_DIR}/security/*.test.mjs"
  "${CMAKE_CURRENT_SOURCE_DIR}/browser/*.test.mjs")
# Suites that need a PostgreSQL server (issue 16: several backends on one database).
set(NODE_POSTGRES_SUITES integration/multi_instance)
foreach(suite ${NODE_SUITES})
  file(RELATIVE_PATH name "${CMAKE_CURRENT_SOURCE_DIR}" "${suite}")
  string(REPLACE ".test.mjs" "" name "${name}")
  if(name MATCHES "^browser/")
    foreach(engine ${BROWSER_ENGINES})
      add_test(NAME "${engine}:${name}" COMMAND ${NODE_EXE} --test --test-force-exit --test-reporter=spec "${suite}"
               WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
      set_tests_properties("${engine}:${name}" PROPERTIES ENVIRONMENT "${NODE_TEST_ENV};ENGINE=${engine}"
                           TIMEOUT 900 RESOURCE_LOCK "browser-${engine}" LABELS "browser;${engine}")
    endforeach()
  elseif(name IN_LIST NODE_POSTGRES_SUITES)
    # Inside a throwaway PostgreSQL cluster (tests/stub/with_postgres.sh sets CHAT_TEST_PG_URL and
    # removes the cluster after); without PostgreSQL 15 the test fails and says so.
    add_test(NAME "node:${name}" COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/stub/with_postgres.sh"
             ${NODE_EXE} --test --test-force-exit --test-reporter=spec "${suite}"
             WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
    set_tests_properties("node:${name}" PROPERTIES ENVIRONMENT "${NODE_TEST_ENV}" TIMEOUT 600 LABELS "postgresql")
  else()
    add_test(NAME "node:${name}" COMMAND ${NODE_EXE} --test --test-force-exit --test-reporter=spec "${suite}"
             WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
    set_tests_properties("node:${name}" PROPERTIES ENVIRONMENT "${NODE_TEST_ENV}" TIMEOUT 300)
  endif()
endforeach()

# The wasm and sanitizer builds' tests join this ctest run, so one `ctest` reports every suite.
set(ASAN_BUILD_DIR "${CMAKE_SOURCE_DIR}/build/asan" CACHE PATH "the native-asan preset's build folder")
set(FUZZ_BUILD_DIR "${CMAKE_SOURCE_DIR}/build/fuzz" CACHE PATH "the fuzz preset's build folder (clang + libFuzzer)")
set(_extra "")
foreach(dir "${WASM_BUILD_DIR}" "${ASAN_BUILD_DIR}" "${FUZZ_BUILD_DIR}")
  if(EXISTS "${dir}/CTestTestfile.cmake")
    string(APPEND _extra "subdirs(\"${dir}\")\n")
  endif()
endforeach()
file(WRITE "${CMAKE_BINARY_DIR}/wasm_tests.cmake" "${_extra}")
set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY TEST_INCLUDE_FILES "${CMAKE_BINARY_DIR}/wasm_tests.cmake")
