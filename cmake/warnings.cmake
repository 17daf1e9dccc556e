# project_warnings: first-party targets link this PRIVATE. Third-party headers come in as SYSTEM.
add_library(project_warnings INTERFACE)
target_compile_options(project_warnings INTERFACE
  -Wall -Wextra          # the usual suspects
  -Wshadow               # a local hiding a member has bitten every callback-heavy codebase
  -Wnon-virtual-dtor     # ports are used through base pointers
  -Wno-unused-parameter  # interface implementations often ignore arguments
)
if(DEFINED ENV{CI})
  target_compile_options(project_warnings INTERFACE -Werror)
endif()
