# What `cmake --install` puts under the prefix: the doodle binary, libdoodle.a, the public headers and doodle.pc,
# so that a program links the library as docs/embedding.md says. Included from the top-level CMakeLists.txt.
install(TARGETS doodle RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS doodle_lib ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/doodle DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# doodle.pc finds its prefix from where it lies (${pcfiledir}), so that any --prefix given at install time works.
file(RELATIVE_PATH DOODLE_PC_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" DOODLE_PC_PREFIX "${DOODLE_PC_PREFIX}")
# libdoodle.a is static: what its objects need beyond the Requires goes on Libs (MPI of doodle train's data-parallel
# training; the sanitizer runtimes of a sanitizer build).
set(DOODLE_PC_EXTRA_LIBS "")
if(MPI_C_FOUND)
  foreach(lib IN LISTS MPI_C_LIBRARIES)
    string(APPEND DOODLE_PC_EXTRA_LIBS " ${lib}")
  endforeach()
endif()
if(DOODLE_ONNX_FOUND)
  string(APPEND DOODLE_PC_EXTRA_LIBS " -lprotobuf-c") # the ONNX export (cmake/onnx.cmake)
endif()
if(DOODLE_SANITIZE)
  string(APPEND DOODLE_PC_EXTRA_LIBS " -fsanitize=address,undefined")
elseif(DOODLE_TSAN)
  string(APPEND DOODLE_PC_EXTRA_LIBS " -fsanitize=thread")
endif()
string(STRIP "${DOODLE_PC_EXTRA_LIBS}" DOODLE_PC_EXTRA_LIBS)
configure_file(cmake/doodle.pc.in "${PROJECT_BINARY_DIR}/doodle.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/doodle.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
