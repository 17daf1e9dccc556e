# Toolchain wrapper for the wasm preset: Debian's emscripten (emcc 3.1.6) plus what it needs here.
include(/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake)

# emcc's JS optimizer needs acorn from Debian's node-acorn, which the machine's node does not look
# for by default: every emcc call (compile and link) runs with NODE_PATH set.
set(CMAKE_C_COMPILER_LAUNCHER env NODE_PATH=/usr/share/nodejs)
set(CMAKE_CXX_COMPILER_LAUNCHER env NODE_PATH=/usr/share/nodejs)
set(CMAKE_C_LINKER_LAUNCHER env NODE_PATH=/usr/share/nodejs)
set(CMAKE_CXX_LINKER_LAUNCHER env NODE_PATH=/usr/share/nodejs)

# Tests compiled to wasm run under node. emcc 3.1.6 loads the .wasm with fetch() unless node's
# experimental fetch is off, and fetch() cannot read a file path.
set(CMAKE_CROSSCOMPILING_EMULATOR "node;--no-experimental-fetch" CACHE STRING "" FORCE)
