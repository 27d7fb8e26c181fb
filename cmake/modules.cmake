# The library's modules, one CMake target each, so that the build rejects an include that goes against the layers
# (docs/architecture.md#modules-and-their-dependencies). Included from the top-level CMakeLists.txt.
#
# A module sees only what it is given, through directories staged in the build tree:
# - the public headers (include/doodle/*.h) of itself and the modules it USES, each header owned by one module;
# - its own private headers (src/<module>/, included as "<module>/x.h"), and those of the modules it names in SEES
#   (today: util's small helpers, viz's PNG and HTML pieces).
# Module targets are OBJECT libraries: libdoodle.a (target doodle_lib) is made of all their objects, and the CLI,
# the tests, the benchmarks and the examples link it and see include/ only (the CLI also its own src/cli/; a test of
# one module's internals names the private headers it needs with doodle_sees()).

set(DOODLE_MODULE_DIR "${PROJECT_BINARY_DIR}/modules")
set(DOODLE_MODULES "")

# doodle_private_headers(NAME): the INTERFACE target doodle_NAME_private, whose include folder holds src/NAME alone
# (a link), so that "NAME/x.h" is found and no other module's private header is.
function(doodle_private_headers name)
  set(private "${DOODLE_MODULE_DIR}/${name}/private")
  file(REMOVE_RECURSE "${private}")
  file(MAKE_DIRECTORY "${private}")
  file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${name}" "${private}/${name}" SYMBOLIC)
  add_library(doodle_${name}_private INTERFACE)
  target_include_directories(doodle_${name}_private INTERFACE "${private}")
endfunction()

# doodle_module(NAME HEADERS h.h… [USES module…] [SEES module…] [LIBS target…])
function(doodle_module name)
  cmake_parse_arguments(M "" "" "HEADERS;USES;SEES;LIBS" ${ARGN})
  set(target doodle_${name})
  file(GLOB sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${name}/*.c")
  add_library(${target} OBJECT ${sources})

  # public headers: a folder holding links to this module's headers only
  set(public "${DOODLE_MODULE_DIR}/${name}/public")
  file(REMOVE_RECURSE "${public}")
  file(MAKE_DIRECTORY "${public}/doodle")
  foreach(h IN LISTS M_HEADERS)
    if(NOT EXISTS "${PROJECT_SOURCE_DIR}/include/doodle/${h}")
      message(FATAL_ERROR "module ${name}: include/doodle/${h} does not exist")
    endif()
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/include/doodle/${h}" "${public}/doodle/${h}" SYMBOLIC)
    set_property(GLOBAL APPEND PROPERTY DOODLE_OWNED_HEADERS "${h}")
  endforeach()
  target_include_directories(${target} PUBLIC "${public}")

  # private headers: for this module and for those that name it in SEES
  doodle_private_headers(${name})
  target_link_libraries(${target} PRIVATE ${target}_private)

  foreach(dep IN LISTS M_USES)
    if(NOT TARGET doodle_${dep})
      message(FATAL_ERROR "module ${name} uses ${dep}, which is not defined before it")
    endif()
    target_link_libraries(${target} PUBLIC doodle_${dep})
  endforeach()
  foreach(dep IN LISTS M_SEES)
    if(NOT dep IN_LIST M_USES)
      message(FATAL_ERROR "module ${name} sees the private headers of ${dep} but does not use it")
    endif()
    # through its private target, so that whoever sees this module's private headers sees what they include
    target_link_libraries(${target}_private INTERFACE doodle_${dep}_private)
  endforeach()
  target_link_libraries(${target} PRIVATE ${M_LIBS})
  set_property(GLOBAL APPEND PROPERTY DOODLE_MODULE_LIBS ${M_LIBS})
  set(DOODLE_MODULES ${DOODLE_MODULES} ${name} PARENT_SCOPE)
endfunction()

# doodle_sees(TARGET|SOURCE thing module…): a test or benchmark that needs private headers of a module, named
# explicitly (a source file's include path is set in this directory, where the targets are made).
function(doodle_sees kind thing)
  foreach(m IN LISTS ARGN)
    if(kind STREQUAL "TARGET")
      target_link_libraries(${thing} PRIVATE doodle_${m}_private)
    else()
      set_property(SOURCE ${thing} APPEND PROPERTY INCLUDE_DIRECTORIES "${DOODLE_MODULE_DIR}/${m}/private")
    endif()
  endforeach()
endfunction()

# Every public header belongs to exactly one module, and doodle.h (which belongs to none) includes it.
function(doodle_check_header_owners)
  get_property(owned GLOBAL PROPERTY DOODLE_OWNED_HEADERS)
  file(GLOB headers RELATIVE "${PROJECT_SOURCE_DIR}/include/doodle" "${PROJECT_SOURCE_DIR}/include/doodle/*.h")
  file(READ "${PROJECT_SOURCE_DIR}/include/doodle/doodle.h" umbrella)
  foreach(h IN LISTS headers)
    string(FIND "${umbrella}" "#include \"doodle/${h}\"" included)
    if(included EQUAL -1 AND NOT h STREQUAL "doodle.h")
      message(FATAL_ERROR "include/doodle/doodle.h does not include doodle/${h}: every public header belongs in it")
    endif()
    list(FIND owned "${h}" at)
    if(h STREQUAL "doodle.h")
      continue()
    elseif(at EQUAL -1)
      message(FATAL_ERROR "include/doodle/${h} belongs to no module: add it to a module's HEADERS in CMakeLists.txt")
    endif()
    list(REMOVE_AT owned ${at})
    if("${h}" IN_LIST owned)
      message(FATAL_ERROR "include/doodle/${h} is given to two modules")
    endif()
  endforeach()
endfunction()

# For tests/cli/layers.sh: the include folders each module compiles with, one a line, in modules/<name>/include_dirs.
function(doodle_write_module_include_dirs)
  foreach(m IN LISTS DOODLE_MODULES)
    file(GENERATE OUTPUT "${DOODLE_MODULE_DIR}/${m}/include_dirs"
         CONTENT "$<JOIN:$<TARGET_PROPERTY:doodle_${m},INCLUDE_DIRECTORIES>,\n>\n")
  endforeach()
endfunction()
