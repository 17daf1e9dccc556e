# Header-only dependencies from Debian (nlohmann/json, Catch2 v2).
#
# A wasm build must not see /usr/include (glibc headers would shadow emscripten's libc), so the
# two header folders are linked into a build-tree include folder that only holds them.
set(SYSDEPS_INCLUDE "${CMAKE_BINARY_DIR}/sysdeps/include")
file(MAKE_DIRECTORY "${SYSDEPS_INCLUDE}")
foreach(dep nlohmann catch2)
  if(NOT EXISTS "/usr/include/${dep}")
    message(FATAL_ERROR "/usr/include/${dep} is missing: run scripts/setup")
  endif()
  if(NOT EXISTS "${SYSDEPS_INCLUDE}/${dep}")
    file(CREATE_LINK "/usr/include/${dep}" "${SYSDEPS_INCLUDE}/${dep}" SYMBOLIC)
  endif()
endforeach()
add_library(sysdeps INTERFACE)
target_include_directories(sysdeps SYSTEM INTERFACE "${SYSDEPS_INCLUDE}")

# Catch2's CTest integration (catch_discover_tests), found by path: the emscripten toolchain
# restricts find_package to its sysroot.
find_file(CATCH_CMAKE Catch.cmake PATHS /usr/lib/cmake/Catch2 NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
include("${CATCH_CMAKE}")
