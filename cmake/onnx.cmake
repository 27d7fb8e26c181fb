# ONNX export (module export, src/export/): the ONNX schema that Debian's python3-onnx installs (onnx/onnx.proto) is
# compiled at build time by protoc-c (protobuf-c-compiler) into the build tree, and the model is written with
# libprotobuf-c (libprotobuf-c-dev). The schema is never copied into the repository. Without any of the three, doodle
# builds without the export (`doodle export --onnx` then says so). Included from the top-level CMakeLists.txt before
# the modules: sets DOODLE_ONNX_FOUND and DOODLE_ONNX_LIBS; doodle_onnx_attach() then gives module export the code.
option(DOODLE_ONNX "Build ONNX export (doodle export --onnx) when protobuf-c and the ONNX schema are installed" ON)
set(DOODLE_ONNX_FOUND OFF)
set(DOODLE_ONNX_LIBS "")
if(DOODLE_ONNX)
  pkg_check_modules(PROTOBUF_C QUIET IMPORTED_TARGET libprotobuf-c)
  find_program(DOODLE_PROTOC_C protoc-c)
  # where python3's onnx package lies, without importing it (an import takes a second); Debian's path as a fallback
  set(onnx_dirs "")
  find_program(DOODLE_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(DOODLE_PYTHON3)
    execute_process(
      COMMAND "${DOODLE_PYTHON3}" -c
              "import importlib.util as u; s = u.find_spec('onnx'); print(s.submodule_search_locations[0] if s else '')"
      OUTPUT_VARIABLE onnx_dirs OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  find_file(DOODLE_ONNX_PROTO onnx.proto PATHS ${onnx_dirs} /usr/lib/python3/dist-packages/onnx NO_DEFAULT_PATH
            DOC "onnx.proto of the onnx Python package (Debian: python3-onnx)")
  if(PROTOBUF_C_FOUND AND DOODLE_PROTOC_C AND DOODLE_ONNX_PROTO)
    set(DOODLE_ONNX_FOUND ON)
    set(DOODLE_ONNX_LIBS PkgConfig::PROTOBUF_C)
    message(STATUS "doodle: ONNX export on (${DOODLE_ONNX_PROTO}, protobuf-c ${PROTOBUF_C_VERSION})")
  else()
    message(STATUS "doodle: no ONNX export (needs libprotobuf-c-dev, protobuf-c-compiler and python3-onnx)")
  endif()
else()
  message(STATUS "doodle: ONNX export off (DOODLE_ONNX=OFF)")
endif()

# After doodle_module(export …): the schema's C code, generated into the build tree, compiled into the module.
function(doodle_onnx_attach)
  if(NOT DOODLE_ONNX_FOUND)
    return()
  endif()
  set(out "${PROJECT_BINARY_DIR}/onnx_proto")
  get_filename_component(proto_dir "${DOODLE_ONNX_PROTO}" DIRECTORY)
  add_custom_command(
    OUTPUT "${out}/onnx.pb-c.c" "${out}/onnx.pb-c.h"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${out}"
    COMMAND "${DOODLE_PROTOC_C}" "--proto_path=${proto_dir}" "--c_out=${out}" "${DOODLE_ONNX_PROTO}"
    DEPENDS "${DOODLE_ONNX_PROTO}"
    COMMENT "protoc-c: ${DOODLE_ONNX_PROTO} -> onnx.pb-c.c"
    VERBATIM)
  target_sources(doodle_export PRIVATE "${out}/onnx.pb-c.c")
  target_include_directories(doodle_export PRIVATE "${out}")
  target_compile_definitions(doodle_export PRIVATE DOODLE_ONNX DOODLE_VERSION="${PROJECT_VERSION}")
endfunction()
